"""Colour spaces: sRGB <-> CIE Lab (D65) and BT.601 luma, for NumPy arrays and torch tensors.

One implementation (in torch, so it also runs on a GPU and inside training code); the NumPy
functions are thin wrappers. Lab is float32 with L in [0, 100] and a, b roughly in [-128, 127].
"""
from __future__ import annotations

import numpy as np
import torch

_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754], dtype=torch.float64)
_DELTA = 6.0 / 29.0

BT601 = (0.299, 0.587, 0.114)


def rgb_to_lab_t(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], channel-last (..., 3) -> Lab (..., 3)."""
    rgb = rgb.clamp(0.0, 1.0)
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = (_RGB_TO_XYZ / _WHITE[:, None]).to(rgb)
    xyz = lin @ m.T
    f = torch.where(xyz > _DELTA ** 3, xyz.clamp_min(1e-12) ** (1.0 / 3.0),
                    xyz / (3 * _DELTA ** 2) + 4.0 / 29.0)
    fx, fy, fz = f.unbind(-1)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-1)


def lab_to_rgb_t(lab: torch.Tensor) -> torch.Tensor:
    """Lab (..., 3) -> sRGB in [0, 1] (clipped to the gamut), channel-last."""
    L, a, b = lab.unbind(-1)
    fy = (L + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=-1)
    xyz = torch.where(f > _DELTA, f ** 3, 3 * _DELTA ** 2 * (f - 4.0 / 29.0))
    m = (_XYZ_TO_RGB * _WHITE[None, :]).to(lab)
    lin = (xyz @ m.T).clamp(0.0, 1.0)
    rgb = torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp_min(1e-12) ** (1 / 2.4) - 0.055)
    return rgb.clamp(0.0, 1.0)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 (or float in [0, 1]) RGB array (H, W, 3) -> float32 Lab (H, W, 3)."""
    t = torch.tensor(rgb, dtype=torch.float32)
    t = t / 255.0 if rgb.dtype == np.uint8 else t
    return rgb_to_lab_t(t).numpy()


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float Lab (H, W, 3) -> uint8 RGB (H, W, 3)."""
    rgb = lab_to_rgb_t(torch.tensor(lab, dtype=torch.float32))
    return to_uint8(rgb.numpy() * 255.0)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and clip a float array on the 0-255 scale to uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of a uint8 RGB array, as uint8 (H, W): the grayscale the app and
    the evaluation feed to every method."""
    y = rgb[..., 0] * np.float32(BT601[0]) + rgb[..., 1] * np.float32(BT601[1]) \
        + rgb[..., 2] * np.float32(BT601[2])
    return to_uint8(y)


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 3) by repeating the channel."""
    return np.repeat(gray[..., None], 3, axis=-1)


def is_grayscale(rgb: np.ndarray, tol: int = 2) -> bool:
    """True when all three channels agree within `tol` levels (a B/W photo saved as RGB)."""
    if rgb.ndim == 2:
        return True
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    return bool(max(np.abs(r - g).max(), np.abs(g - b).max()) <= tol)


def with_luminance(rgb: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Replace the Lab lightness of `rgb` (uint8) by `L` (float, same H, W); keeps its chroma."""
    lab = rgb_to_lab(rgb)
    lab[..., 0] = L
    return lab_to_rgb(lab)


_S, _H = 14, 1 << 13  # OpenCV's fixed-point YUV (exact to cv2.COLOR_RGB2YUV / YUV2RGB on uint8)


def _fx(c: float) -> int:
    return int(round(c * (1 << _S)))


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> uint8 YUV (BT.601 Y; U, V offset 128), bit-exact with OpenCV."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    y = (r * _fx(0.299) + g * _fx(0.587) + b * _fx(0.114) + _H) >> _S
    u = ((b - y) * _fx(0.492) + (128 << _S) + _H) >> _S
    v = ((r - y) * _fx(0.877) + (128 << _S) + _H) >> _S
    return np.clip(np.stack([y, u, v], -1), 0, 255).astype(np.uint8)


def yuv_to_rgb(yuv: np.ndarray) -> np.ndarray:
    """uint8 YUV -> uint8 RGB, bit-exact with OpenCV."""
    y, u, v = (yuv[..., i].astype(np.int32) for i in range(3))
    u, v = u - 128, v - 128
    r = y + ((v * _fx(1.14) + _H) >> _S)
    g = y + ((v * _fx(-0.581) + u * _fx(-0.395) + _H) >> _S)
    b = y + ((u * _fx(2.032) + _H) >> _S)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def _scale_uv(yuv: np.ndarray, gain: float, v_exponent: float = 1.0) -> None:
    """Scale a uint8 YUV image's chroma by `gain`, in place: U by `gain`, V by
    `gain ** v_exponent` (1: the same gain).

    Below 1 the chroma shrinks toward neutral (0: gray). Above 1 only its spread about the
    photo's mean U, V grows: the colours move apart while a colour cast stays as it is. On the
    val photos this costs less PSNR for the same colourfulness than scaling about neutral,
    which amplifies a wrong cast with the rest (weights/*.md: the model cards).
    An exponent above 1 spends more of the gain on V (red-cyan), which adds 1.6x the
    colourfulness per unit of RGB error that U (blue-yellow) adds."""
    if gain < 0:
        raise ValueError(f"a chroma gain must be >= 0, got {gain}")
    if v_exponent <= 0:
        raise ValueError(f"a V exponent must be > 0, got {v_exponent}")
    if gain != 1:
        uv = yuv[..., 1:].astype(np.float32) - 128.0
        centre = uv.reshape(-1, 2).mean(0) if gain > 1 else np.zeros(2, np.float32)
        gains = np.array([gain, gain ** v_exponent], np.float32)
        uv = (uv - centre) * gains + centre + 128.0
        yuv[..., 1:] = np.clip(np.rint(uv), 0, 255).astype(np.uint8)


def scale_chroma(rgb: np.ndarray, gain: float, v_exponent: float = 1.0) -> np.ndarray:
    """uint8 RGB with its chroma U, V scaled by `gain` (below 1 toward gray, above 1 about the
    photo's mean colour; V by `gain ** v_exponent`) and its luma Y kept: a saturation control
    that leaves the photo's gray version unchanged. `gain` 1 returns `rgb`."""
    if gain == 1:
        return rgb
    yuv = rgb_to_yuv(rgb)
    _scale_uv(yuv, gain, v_exponent)
    return yuv_to_rgb(yuv)


def keep_luma(color: np.ndarray, original: np.ndarray, gain: float = 1.0,
              v_exponent: float = 1.0) -> np.ndarray:
    """`original`'s BT.601 luma Y with `color`'s chroma U, V (both uint8 RGB, same size), the
    chroma scaled by `gain` (and `v_exponent`) as `scale_chroma` does, in the same pass, so that
    Y is rounded once.

    A B/W photo is a luma image (the evaluation's gray is `luma(truth)`), so keeping its Y
    exactly, rather than its Lab L, gives back the photo when the result is grayed again.
    DeOldify's post-processing does this; pix2pix does it after its Lab prediction."""
    yuv = rgb_to_yuv(original)
    yuv[..., 1:] = rgb_to_yuv(color)[..., 1:]
    _scale_uv(yuv, gain, v_exponent)
    return yuv_to_rgb(yuv)
