"""Light restoration of a B/W photo's luminance before colorizing: non-local-means denoising
(removes film grain and JPEG noise, keeps edges) and CLAHE (contrast-limited adaptive histogram
equalisation: a faded print's narrow tonal range spread out again, locally). Off by default: it
changes the photo's lightness, which the methods otherwise keep exactly."""
from __future__ import annotations

import numpy as np

from .color import gray_to_rgb, is_grayscale, keep_luma, luma


def restore_luma(gray: np.ndarray, denoise: float = 7.0, clip_limit: float = 2.0,
                 tiles: int = 8) -> np.ndarray:
    """uint8 (H, W) -> uint8 (H, W): NL-means with filter strength `denoise` (OpenCV's h),
    then CLAHE on a `tiles` x `tiles` grid."""
    import cv2  # noqa: PLC0415 - only the restore path needs OpenCV

    if gray.dtype != np.uint8 or gray.ndim != 2:
        raise ValueError(f"restore_luma takes uint8 (H, W), got {gray.dtype} {gray.shape}")
    out = cv2.fastNlMeansDenoising(gray, None, h=float(denoise), templateWindowSize=7,
                                   searchWindowSize=21) if denoise > 0 else gray
    clahe = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(tiles, tiles))
    return clahe.apply(out)


def restore(rgb: np.ndarray) -> np.ndarray:
    """A photo with its luminance restored: a gray photo stays gray (three equal channels); a
    colour photo keeps its chroma (YUV U, V) around the restored luma."""
    y = gray_to_rgb(restore_luma(luma(rgb)))
    return y if is_grayscale(rgb) else keep_luma(rgb, y)
