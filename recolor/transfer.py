"""The three statistical colour transfers of the paper, vectorised in torch (CPU or GPU).

Each `run` function maps a uint8 RGB input (a gray photo comes as three equal channels) and a
uint8 RGB reference to a uint8 RGB output of the input's size, deterministically.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .color import lab_to_rgb_t, rgb_to_lab_t, to_uint8

_EPS = 1e-6


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float32 tensor in [0, 1]."""
    return torch.tensor(rgb, dtype=torch.float32) / 255.0


def _uint8(t: torch.Tensor) -> np.ndarray:
    return to_uint8(t.numpy() * 255.0)


REFERENCE_SAMPLES = 1 << 18  # a reference's statistics are estimated on at most this many pixels


def _reference(reference: np.ndarray) -> torch.Tensor:
    """The reference's pixels as (M, 3) samples in [0, 1]; a regular subsample of big ones."""
    flat = reference.reshape(-1, 3)
    step = -(-len(flat) // REFERENCE_SAMPLES)
    return _tensor(flat[::step])


GRAY_FAST_PATH = True  # tests switch it off to check the fast path against the plain one


@dataclass
class _Pixels:
    """The input's pixels as (U, 3) samples in [0, 1]: every pixel, or, for a gray photo, its
    at most 256 distinct levels with their pixel counts, so that any per-pixel colour mapping
    runs on the levels and is then looked up for each pixel."""
    values: torch.Tensor
    weights: torch.Tensor | None
    index: torch.Tensor | None
    shape: tuple[int, int]

    def expand(self, t: torch.Tensor) -> torch.Tensor:
        """Per-sample (U, C) values -> per-pixel (H, W, C)."""
        return (t if self.index is None else t[self.index]).reshape(*self.shape, t.shape[-1])


def _pixels(rgb: np.ndarray) -> _Pixels:
    h, w = rgb.shape[:2]
    gray = GRAY_FAST_PATH and np.array_equal(rgb[..., 0], rgb[..., 1]) \
        and np.array_equal(rgb[..., 0], rgb[..., 2])
    if not gray:
        return _Pixels(_tensor(rgb).reshape(-1, 3), None, None, (h, w))
    g = torch.from_numpy(np.ascontiguousarray(rgb[..., 0])).reshape(-1).long()
    counts = torch.bincount(g, minlength=256)
    levels = torch.nonzero(counts).squeeze(1)
    lookup = torch.zeros(256, dtype=torch.long)
    lookup[levels] = torch.arange(len(levels))
    values = (levels.float() / 255.0)[:, None].expand(-1, 3).contiguous()
    return _Pixels(values, counts[levels].float(), lookup[g], (h, w))


def _moments(x: torch.Tensor, w: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (population) standard deviation of (N, C) samples, optionally
    weighted."""
    if w is None:
        return x.mean(0), x.std(0, unbiased=False)
    w = (w / w.sum())[:, None]
    mu = (x * w).sum(0)
    return mu, ((x - mu) ** 2 * w).sum(0).sqrt()


def _match_moments(x: torch.Tensor, ref: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
    """(x - mean x) / std x * std ref + mean ref per channel of (N, C) tensors (x weighted by w).

    A channel with (near) zero spread, such as a or b of a gray photo, has no shape to keep:
    it becomes the reference's mean instead of 0/0.
    """
    mu, sd = _moments(x, w)
    mu_r, sd_r = _moments(ref, None)
    flat = sd < 1e-4 * (1.0 + sd_r)
    gain = torch.where(flat, torch.zeros_like(sd), sd_r / sd.clamp_min(_EPS))
    return (x - mu) * gain + mu_r


def _keep_lightness(out_rgb: torch.Tensor, in_rgb: torch.Tensor) -> torch.Tensor:
    """`out_rgb` with the Lab lightness of `in_rgb` (both (..., 3) in [0, 1])."""
    lab = rgb_to_lab_t(out_rgb)
    lab[..., 0] = rgb_to_lab_t(in_rgb)[..., 0]
    return lab_to_rgb_t(lab)


def mean_std(rgb: np.ndarray, reference: np.ndarray, keep_luminance: bool = True) -> np.ndarray:
    """Mean/StD transfer: per-channel RGB moments of the input matched to the reference's."""
    px = _pixels(rgb)
    out = _match_moments(px.values, _reference(reference), px.weights).clamp(0, 1)
    if keep_luminance:
        out = _keep_lightness(out, px.values)
    return _uint8(px.expand(out))


def lab_mean(rgb: np.ndarray, reference: np.ndarray, keep_luminance: bool = True) -> np.ndarray:
    """Reinhard et al. 2001: the same moment matching in CIE Lab. A gray input (a = b = 0
    everywhere) gets the reference's mean colour."""
    px = _pixels(rgb)
    lab = rgb_to_lab_t(px.values)
    out = _match_moments(lab, rgb_to_lab_t(_reference(reference)), px.weights)
    if keep_luminance:
        out[:, 0] = lab[:, 0]
    return _uint8(px.expand(lab_to_rgb_t(out)))


# Pitie et al. 2007's optimised set of rotations for 3-D: with these six, the 18 axes they
# project onto are spread evenly over the sphere. Further iterations use random rotations.
_OPTIMAL_ROTATIONS = torch.tensor([
    [[1.000000, 0.000000, 0.000000], [0.000000, 1.000000, 0.000000], [0.000000, 0.000000, 1.000000]],
    [[0.333333, 0.666667, 0.666667], [0.666667, 0.333333, -0.666667], [-0.666667, 0.666667, -0.333333]],
    [[0.577350, 0.211297, 0.788682], [-0.577350, 0.788668, 0.211352], [0.577350, 0.577370, -0.577330]],
    [[0.577350, 0.408273, 0.707092], [-0.577350, -0.408224, 0.707121], [0.577350, -0.816497, 0.000029]],
    [[0.332572, 0.910758, 0.244778], [-0.910887, 0.242977, 0.333536], [-0.244295, 0.333890, -0.910405]],
    [[0.243799, 0.910726, 0.333376], [0.910699, -0.333174, 0.244177], [-0.333450, -0.244075, 0.910625]],
])


def rotations(iterations: int, seed: int = 0) -> torch.Tensor:
    """(iterations, 3, 3) orthonormal matrices: the optimised six first, then random ones
    (QR of a seeded Gaussian matrix), so results are reproducible."""
    fixed = _OPTIMAL_ROTATIONS[:iterations]
    extra = max(0, iterations - len(fixed))
    gen = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(extra, 3, 3, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]
    return torch.cat([fixed.double(), q]).float()


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """np.interp for increasing 1-D `xp`, in torch."""
    i = torch.searchsorted(xp, x).clamp(1, len(xp) - 1)
    x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
    w = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
    return f0 + w * (f1 - f0)


def match_histogram_1d(x: torch.Tensor, ref: torch.Tensor, bins: int = 300,
                       wx: torch.Tensor | None = None, wr: torch.Tensor | None = None) -> torch.Tensor:
    """Map the values of `x` so their distribution matches `ref`'s: a transfer function
    tabulated on `bins` bins over x's range (piecewise-linear CDFs, each on its own range),
    applied by linear interpolation. `wx`, `wr`: optional sample weights (counts). A constant
    `x` maps to `ref`'s mean."""
    def cdf(v: torch.Tensor, w: torch.Tensor | None):
        lo, hi = v.min() - _EPS, v.max() + _EPS
        pos = (v - lo) * (bins / (hi - lo))
        counts = torch.bincount(pos.long().clamp(0, bins - 1), weights=w, minlength=bins)
        counts = counts.to(v.dtype)
        c = torch.cat([counts.new_zeros(1), (counts + 1e-3).cumsum(0)])  # strictly increasing
        return c / c[-1], torch.linspace(0, 1, bins + 1, dtype=v.dtype) * (hi - lo) + lo, pos

    if x.max() - x.min() <= _EPS:  # one value: no CDF to match; the reference's mean is
        w = torch.ones_like(ref) if wr is None else wr.to(ref.dtype)  # the closest constant
        return torch.full_like(x, float((ref * w).sum() / w.sum()))
    cdf_x, _, pos = cdf(x, wx)
    cdf_r, edges_r, _ = cdf(ref, wr)
    table = _interp(cdf_x, cdf_r, edges_r)
    i = pos.long().clamp(0, bins - 1)
    lower = table[i]
    return lower + (pos - i) * (table[i + 1] - lower)


def pdf_transfer_nd(x: torch.Tensor, ref: torch.Tensor, rots: torch.Tensor,
                    wx: torch.Tensor | None = None, wr: torch.Tensor | None = None) -> torch.Tensor:
    """Iterative distribution transfer (Pitie 2005) of (N, 3) samples toward (M, 3) ones:
    per rotation, match the 1-D marginals along the rotated axes and move by the difference.
    `wx`, `wr`: optional weights, when the samples are distinct colours with their counts."""
    x = x.clone()
    for R in rots:
        xr, rr = x @ R.T, ref @ R.T
        moved = torch.stack([match_histogram_1d(xr[:, i].contiguous(), rr[:, i].contiguous(),
                                                wx=wx, wr=wr) for i in range(3)], 1)
        x += (moved - xr) @ R
    return x


def _shifts(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Right, down, left and up neighbours of a (C, H, W) tensor, edges replicated."""
    p = F.pad(t[None], (1, 1, 1, 1), mode="replicate")[0]
    return p[:, 1:-1, 2:], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, :-2, 1:-1]


def _regrain_solve(out, inp, col, guide, iterations: int, level: int, smoothness: float):
    """Relaxation of Pitie 2005's regrain energy at one scale: stay close to `col` where the
    `guide` image is flat, and keep the gradients of `inp` (its grain and edges) everywhere.

    Per pixel, out <- (psi col + sum_k phi_k (out_k - inp_k + inp)) / den * (1 - rho) + rho out
    over the 4 neighbours k (edges replicated), written as in-place multiply-adds. The weights
    psi, phi come from the guide's RGB gradients; each channel is solved independently.
    """
    right, down, left, up = _shifts(guide)
    delta = ((right - left) ** 2 + (down - up) ** 2).sum(0, keepdim=True).sqrt()
    psi = (256.0 * delta / 5.0).clamp(max=1.0)
    phi = 30.0 * 2.0 ** (-level) / (1.0 + 10.0 * delta / smoothness)
    phis = [(s + phi) / 2 for s in _shifts(phi)]
    rho = 0.2
    scale = (1 - rho) / (psi + sum(phis) + 1e-6)
    const = (psi * col + inp * sum(phis) - sum(p * s for p, s in zip(phis, _shifts(inp)))) * scale
    # a neighbour outside the image is the pixel itself: fold that into the diagonal term
    diag = torch.full_like(phi, rho)
    diag[..., :, -1] += phis[0][..., :, -1] * scale[..., :, -1]
    diag[..., -1, :] += phis[1][..., -1, :] * scale[..., -1, :]
    diag[..., :, 0] += phis[2][..., :, 0] * scale[..., :, 0]
    diag[..., 0, :] += phis[3][..., 0, :] * scale[..., 0, :]
    pr, pd, pl, pu = (p * scale for p in phis)
    out = out.contiguous().clone()
    acc = torch.empty_like(out)
    for _ in range(iterations):
        acc.copy_(const).addcmul_(out, diag)
        acc[..., :, :-1].addcmul_(pr[..., :, :-1], out[..., :, 1:])
        acc[..., :-1, :].addcmul_(pd[..., :-1, :], out[..., 1:, :])
        acc[..., :, 1:].addcmul_(pl[..., :, 1:], out[..., :, :-1])
        acc[..., 1:, :].addcmul_(pu[..., 1:, :], out[..., :-1, :])
        out, acc = acc, out
    return out


_REGRAIN_ITERATIONS = (4, 16, 32, 64, 64, 64)  # finest scale first


def apply_regrain(inp: torch.Tensor, col: torch.Tensor, guide: torch.Tensor | None = None,
                  smoothness: float = 1.0) -> torch.Tensor:
    """Regrain (Pitie 2005) of (C, H, W) tensors: the values of `col` with the gradients of
    `inp`, solved coarse to fine. `guide` (3, H, W) RGB in [0, 1], by default `inp`, sets
    where edges are; with a separate guide, `inp` and `col` may be any channels (Lab a, b)."""
    guide = inp if guide is None else guide

    def down(t, size):
        return F.interpolate(t[None], size, mode="bilinear", align_corners=False)[0]

    def solve(out, inp, col, guide, iters, level):
        h, w = inp.shape[-2:]
        h2, w2 = (h + 1) // 2, (w + 1) // 2
        if len(iters) > 1 and h2 > 20 and w2 > 20:
            coarse = solve(*(down(t, (h2, w2)) for t in (out, inp, col, guide)), iters[1:], level + 1)
            out = F.interpolate(coarse[None], (h, w), mode="bilinear", align_corners=False)[0]
        return _regrain_solve(out, inp, col, guide, iters[0], level, smoothness)

    return solve(inp, inp, col, guide, _REGRAIN_ITERATIONS, 0)


def pdf(rgb: np.ndarray, reference: np.ndarray, iterations: int = 10, regrain: bool = True,
        keep_luminance: bool = True, seed: int = 0) -> np.ndarray:
    """PDF transfer (Pitie et al. 2005/2007): N-D distribution transfer, then regrain.

    With keep_luminance, regrain runs on the Lab a, b channels (guided by the input's RGB
    edges) and the input's L is put back, so the output's lightness is the input's."""
    px = _pixels(rgb)
    mapped = pdf_transfer_nd(px.values, _reference(reference), rotations(iterations, seed), wx=px.weights).clamp(0, 1)
    if not regrain:
        return _uint8(px.expand(_keep_lightness(mapped, px.values) if keep_luminance else mapped))
    guide = _tensor(rgb).permute(2, 0, 1)
    if not keep_luminance:
        return _uint8(apply_regrain(guide, px.expand(mapped).permute(2, 0, 1)).permute(1, 2, 0).clamp(0, 1))
    lab_in, lab_out = rgb_to_lab_t(px.values), rgb_to_lab_t(mapped)
    ab = apply_regrain(px.expand(lab_in[:, 1:]).permute(2, 0, 1),
                       px.expand(lab_out[:, 1:]).permute(2, 0, 1), guide)
    return _uint8(lab_to_rgb_t(torch.cat([px.expand(lab_in[:, :1]), ab.permute(1, 2, 0)], -1)))
