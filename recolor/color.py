"""Colour spaces: sRGB <-> CIE Lab (D65) and BT.601 luma, for NumPy arrays and torch tensors.

The reference implementation is in torch (`*_t`), so it also runs on a GPU and inside training
code. On the CPU the NumPy functions take faster routes where OpenCV is installed
(`USE_OPENCV`): Lab -> sRGB and YUV through `cv2.cvtColor`, and the lightness of a photo through
lookup tables (a uint8 channel has 256 values). Against the torch path: YUV is bit-exact, Lab ->
sRGB differs by at most 1 level on about 1 pixel in 10,000, Lab L by < 1e-4
(tests/test_color.py). RGB -> Lab of a whole photo stays on torch: OpenCV's float RGB2Lab is off
by up to 0.45 in a, b. Lab is float32 with L in [0, 100] and a, b roughly in [-128, 127].
"""
from __future__ import annotations

import numpy as np
import torch

try:
    import cv2
except ImportError:  # pragma: no cover - opencv-python-headless is in requirements.txt
    cv2 = None

USE_OPENCV = cv2 is not None  # False forces the torch path (tests, benchmarks/large.py --old)

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
    if USE_OPENCV:  # 16 MP: about 0.45 s on one thread, against 4.5 s in torch
        return lab_strips_to_rgb(lab[..., 0], lab[..., 1], lab[..., 2])
    rgb = lab_to_rgb_t(torch.tensor(lab, dtype=torch.float32))
    return to_uint8(rgb.numpy() * 255.0)


STRIP_ROWS = 64  # rows converted at a time: small float buffers that stay in the cache


def lab_strips_to_rgb(L: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lab given as three (H, W) planes -> uint8 RGB (H, W, 3), `STRIP_ROWS` rows at a time
    through OpenCV: no full-size float Lab or RGB array is ever made (16 MP: 384 MB saved)."""
    h, w = L.shape
    out = np.empty((h, w, 3), np.uint8)
    zero = (0.0, 0.0, 0.0, 0.0)
    for y in range(0, h, STRIP_ROWS):
        rows = slice(y, y + STRIP_ROWS)
        lab = cv2.merge([np.ascontiguousarray(c[rows], dtype=np.float32) for c in (L, a, b)])
        rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB, dst=lab)
        cv2.max(rgb, zero, dst=rgb)  # out of gamut: below 0 clipped here, above 1 saturates
        out[rows] = cv2.convertScaleAbs(rgb, alpha=255.0)  # rounds half to even, as np.rint
    return out


_LEVELS_LAB: np.ndarray | None = None  # (256, 3): Lab of the gray levels 0..255, from torch


def _levels_lab() -> np.ndarray:
    global _LEVELS_LAB
    if _LEVELS_LAB is None:
        levels = torch.arange(256, dtype=torch.float32)[:, None].expand(-1, 3) / 255.0
        _LEVELS_LAB = rgb_to_lab_t(levels).numpy()
    return _LEVELS_LAB


def _srgb_linear_lut() -> np.ndarray:
    """(256,) float32: the linear value of each uint8 sRGB level."""
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """Lab L (H, W) float32 of a uint8 RGB (H, W, 3) array, as `rgb_to_lab(rgb)[..., 0]`.

    Gray photos (three equal channels) look L up in a 256-entry table; colour ones look up
    the linear value of each channel, then take L from the Y of XYZ alone."""
    if not USE_OPENCV or rgb.dtype != np.uint8:
        return rgb_to_lab(rgb)[..., 0]
    if channels_equal(rgb):
        return cv2.LUT(np.ascontiguousarray(rgb[..., 0]), _levels_lab()[:, 0].copy())
    lin = cv2.LUT(np.ascontiguousarray(rgb), _srgb_linear_lut())  # (H, W, 3) float32
    y = cv2.transform(lin, _RGB_TO_XYZ[1:2].numpy().astype(np.float32))  # (H, W): XYZ Y
    f = np.where(y > _DELTA ** 3, np.cbrt(np.maximum(y, 1e-12)),
                 y / (3 * _DELTA ** 2) + 4.0 / 29.0)
    return (116.0 * f - 16.0).astype(np.float32)


def channels_equal(rgb: np.ndarray) -> bool:
    """True when a uint8 (H, W, 3) array's three channels are identical (a gray photo)."""
    if rgb.ndim == 2:
        return True
    if USE_OPENCV and rgb.dtype == np.uint8:
        r, g, b = cv2.split(rgb)
        return cv2.norm(r, g, cv2.NORM_INF) == 0 and cv2.norm(g, b, cv2.NORM_INF) == 0
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]))


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
    if USE_OPENCV and gray.dtype == np.uint8:
        g = np.ascontiguousarray(gray)
        return cv2.merge([g, g, g])
    return np.repeat(gray[..., None], 3, axis=-1)


def is_grayscale(rgb: np.ndarray, tol: int = 2) -> bool:
    """True when all three channels agree within `tol` levels (a B/W photo saved as RGB)."""
    if rgb.ndim == 2:
        return True
    if USE_OPENCV and rgb.dtype == np.uint8:  # 16 MP: 0.03 s against 1 s
        r, g, b = cv2.split(rgb)
        return max(cv2.norm(r, g, cv2.NORM_INF), cv2.norm(g, b, cv2.NORM_INF)) <= tol
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
    if USE_OPENCV:
        return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV)
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    y = (r * _fx(0.299) + g * _fx(0.587) + b * _fx(0.114) + _H) >> _S
    u = ((b - y) * _fx(0.492) + (128 << _S) + _H) >> _S
    v = ((r - y) * _fx(0.877) + (128 << _S) + _H) >> _S
    return np.clip(np.stack([y, u, v], -1), 0, 255).astype(np.uint8)


def yuv_to_rgb(yuv: np.ndarray) -> np.ndarray:
    """uint8 YUV -> uint8 RGB, bit-exact with OpenCV."""
    if USE_OPENCV:
        return cv2.cvtColor(np.ascontiguousarray(yuv), cv2.COLOR_YUV2RGB)
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
    if gain == 1:
        return
    # U and V are uint8: each channel's new value is a 256-entry table of its old one, computed
    # with the same float32 arithmetic a per-pixel pass would use (512²: 0.3 ms against 9 ms)
    centre = (np.array(_means_uv(yuv), np.float32) - 128.0 if gain > 1
              else np.zeros(2, np.float32))
    levels = np.arange(256, dtype=np.float32)[:, None] - 128.0  # (256, 1)
    gains = np.array([gain, gain ** v_exponent], np.float32)
    uv = np.clip(np.rint((levels - centre) * gains + centre + 128.0), 0, 255).astype(np.uint8)
    table = np.concatenate([np.arange(256, dtype=np.uint8)[:, None], uv], 1)  # Y unchanged
    if USE_OPENCV and yuv.flags.c_contiguous:
        cv2.LUT(yuv, table[:, None, :], dst=yuv)
    else:
        yuv[..., 1], yuv[..., 2] = table[yuv[..., 1], 1], table[yuv[..., 2], 2]


def _means_uv(yuv: np.ndarray) -> tuple[float, float]:
    """The mean U and V of a uint8 YUV image (exact sums)."""
    if USE_OPENCV and yuv.flags.c_contiguous:
        return cv2.mean(yuv)[1:3]
    return tuple(float(np.bincount(yuv[..., c].ravel(), minlength=256) @ np.arange(256))
                 / max(1, yuv[..., c].size) for c in (1, 2))


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
    yuv = rgb_to_yuv(color)
    if USE_OPENCV:  # the original's Y into channel 0, without a strided NumPy copy
        cv2.mixChannels([rgb_to_yuv(original)], [yuv], [0, 0])
    else:
        yuv[..., 0] = rgb_to_yuv(original)[..., 0]
    _scale_uv(yuv, gain, v_exponent)
    return yuv_to_rgb(yuv)
