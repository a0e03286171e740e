"""A result computed at the working size put back on the full-size photo: only the colour is
upsampled, the lightness is the original's, never resampled.

Two ways, as the methods keep it at their own size: `upsample_chroma` (Lab a, b onto the
original's Lab L: the transfers) and `upsample_uv` (YUV U, V onto the original's BT.601 Y: the
networks). With OpenCV (`color.USE_OPENCV`) both take a fast route; without it, the torch/PIL
route they had before, which `benchmarks/large.py --old` and the tests compare against.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import color
from .images import resize


def upsample_chroma(small: np.ndarray, original: np.ndarray) -> np.ndarray:
    """uint8 RGB of `original`'s size (H, W, 3): the Lab a, b of `small` upsampled (bicubic)
    with `original`'s Lab L."""
    if not color.USE_OPENCV:
        return upsample_chroma_torch(small, original)
    cv2 = color.cv2
    h, w = original.shape[:2]
    L = color.lightness(original)  # (H, W) float32; a table lookup for a gray photo
    lab = color.rgb_to_lab(small)  # working size: torch, exact
    # OpenCV's bicubic is torch's (A = -0.75, pixel centres aligned): Lab a, b within 0.01
    a, b = (cv2.resize(np.ascontiguousarray(lab[..., c]), (w, h), interpolation=cv2.INTER_CUBIC)
            for c in (1, 2))
    return color.lab_strips_to_rgb(L, a, b)


def upsample_chroma_torch(small: np.ndarray, original: np.ndarray) -> np.ndarray:
    """`upsample_chroma` in torch throughout (16 MP: about 6.5 s on one thread)."""
    lab = color.rgb_to_lab(original)
    ab = torch.from_numpy(color.rgb_to_lab(small)[..., 1:]).permute(2, 0, 1)[None]
    ab = F.interpolate(ab, size=lab.shape[:2], mode="bicubic",
                       align_corners=False)
    lab[..., 1:] = ab[0].permute(1, 2, 0).numpy()
    return color.lab_to_rgb(lab)


def upsample_uv(small: np.ndarray, original: np.ndarray) -> np.ndarray:
    """uint8 RGB of `original`'s size: the YUV U, V of `small` upsampled (bicubic) with
    `original`'s BT.601 Y (`color.keep_luma` at full size, without resampling the luma)."""
    if not color.USE_OPENCV:
        return upsample_uv_pil(small, original)
    cv2 = color.cv2
    h, w = original.shape[:2]
    uv = np.ascontiguousarray(color.rgb_to_yuv(small)[..., 1:])
    uv = cv2.resize(uv, (w, h), interpolation=cv2.INTER_CUBIC)  # uint8, saturated
    # a gray photo's Y is its gray level (OpenCV's fixed-point weights sum to exactly 1)
    y = np.ascontiguousarray(original[..., 0]) if color.channels_equal(original) \
        else cv2.cvtColor(original, cv2.COLOR_RGB2YUV)[..., 0]
    return color.yuv_to_rgb(cv2.merge([y, uv[..., 0], uv[..., 1]]))


def upsample_uv_pil(small: np.ndarray, original: np.ndarray) -> np.ndarray:
    """`upsample_uv` as before: the RGB result resized (PIL bicubic), then its U, V taken."""
    return color.keep_luma(resize(small, (original.shape[1], original.shape[0])), original)
