"""The two learned methods, pix2pix and DeOldify: shipped weights loaded once, then inference."""
from __future__ import annotations

import numpy as np

from .errors import ModelUnavailable


def pix2pix(rgb: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """pix2pix U-Net generator: predicts ab from L."""
    raise ModelUnavailable("model not available yet (no pix2pix weights in weights/)")


def deoldify(rgb: np.ndarray, reference: np.ndarray | None = None, render_factor: int = 35,
             post_process: bool = True) -> np.ndarray:
    """DeOldify generator with upstream's render_factor resize and luminance post-processing."""
    raise ModelUnavailable("model not available yet (no DeOldify weights in weights/)")
