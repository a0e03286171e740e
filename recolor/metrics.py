"""Scores of a colorization against the original colour photo (both uint8 RGB, same size).

PSNR and SSIM come from scikit-image, CIEDE2000 from scikit-image's Lab and deltaE; only the
colourfulness of Hasler and Suesstrunk (2003) is written here.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

if TYPE_CHECKING:  # the trainers' torch batches; the app's scoring needs no torch here
    import torch

COLUMNS = ("psnr", "ssim", "de2000", "ab_err", "cf", "dcf")
LABELS = {"psnr": "PSNR dB", "ssim": "SSIM", "de2000": "ΔE2000", "ab_err": "ab error",
          "cf": "CF", "dcf": "ΔCF", "seconds": "seconds"}


def psnr(out: np.ndarray, truth: np.ndarray) -> float:
    """PSNR in dB on RGB with data range 255; identical images give +inf."""
    mse = np.mean((out.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def ssim(out: np.ndarray, truth: np.ndarray) -> float:
    """Mean SSIM over the RGB channels (7x7 window, smaller for tiny images)."""
    win = min(7, min(out.shape[:2]) // 2 * 2 - 1)
    return float(structural_similarity(truth, out, channel_axis=-1, data_range=255, win_size=max(3, win)))


def delta_e(out: np.ndarray, truth: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference."""
    return float(deltaE_ciede2000(rgb2lab(truth), rgb2lab(out)).mean())


def ab_error(out: np.ndarray, truth: np.ndarray) -> float:
    """The chroma-only error: the mean over pixels of sqrt((a - a*)^2 + (b - b*)^2) in CIE Lab.
    Blind to lightness, so an aged input (whose L differs for every method alike) does not
    dominate it; a gray output scores the truth's mean chroma."""
    return _ab_error(rgb2lab(out), rgb2lab(truth))


def _ab_error(lab_out: np.ndarray, lab_truth: np.ndarray) -> float:
    d = lab_out[..., 1:] - lab_truth[..., 1:]
    return float(np.sqrt((d ** 2).sum(-1)).mean())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk 2003: sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mu_rg^2 + mu_yb^2)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, (r + g) / 2 - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def colourfulness_t(rgb: torch.Tensor) -> torch.Tensor:
    """`colourfulness` per image of a (B, H, W, 3) torch batch of RGB in [0, 1] (on the 0-255
    scale): the trainers' per-epoch val."""
    rgb = rgb * 255.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    std = (rg.flatten(1).var(1, unbiased=False) + yb.flatten(1).var(1, unbiased=False)).sqrt()
    mean = (rg.flatten(1).mean(1) ** 2 + yb.flatten(1).mean(1) ** 2).sqrt()
    return std + 0.3 * mean


def sliced_distance(a: np.ndarray, b: np.ndarray, directions: int = 16) -> float:
    """How far apart two images' colour distributions are: the mean 1-D Wasserstein distance
    (on 0-255 values, over 99 quantiles) of their RGB pixels projected on fixed random
    directions. 0 for the same distribution, whatever the layout."""
    rng = np.random.default_rng(0)
    dirs = rng.normal(size=(directions, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    qs = np.linspace(0.01, 0.99, 99)
    a, b = a.reshape(-1, 3).astype(np.float64), b.reshape(-1, 3).astype(np.float64)
    return float(np.mean([np.abs(np.quantile(a @ d, qs) - np.quantile(b @ d, qs)).mean()
                          for d in dirs]))


def score(out: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """All metrics of `out` against `truth`; dcf = colourfulness(out) - colourfulness(truth)."""
    if out.shape != truth.shape:
        raise ValueError(f"output {out.shape} and ground truth {truth.shape} differ in size")
    cf, cf_truth = colourfulness(out), colourfulness(truth)
    lab_out, lab_truth = rgb2lab(out), rgb2lab(truth)
    return {"psnr": psnr(out, truth), "ssim": ssim(out, truth),
            "de2000": float(deltaE_ciede2000(lab_truth, lab_out).mean()),
            "ab_err": _ab_error(lab_out, lab_truth),
            "cf": cf, "cf_truth": cf_truth, "dcf": cf - cf_truth}
