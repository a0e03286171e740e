"""The three statistical colour transfers of the paper, vectorised in torch (CPU or GPU).

Each `run` function maps a uint8 RGB input (a gray photo comes as three equal channels) and a
uint8 RGB reference to a uint8 RGB output of the input's size, deterministically.
"""
from __future__ import annotations

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


def _match_moments(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """(x - mean x) / std x * std ref + mean ref per channel of (N, C) tensors.

    A channel with (near) zero spread, such as a or b of a gray photo, has no shape to keep:
    it becomes the reference's mean instead of 0/0.
    """
    mu, sd = x.mean(0), x.std(0, unbiased=False)
    mu_r, sd_r = ref.mean(0), ref.std(0, unbiased=False)
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
    x, r = _tensor(rgb), _tensor(reference)
    out = _match_moments(x.reshape(-1, 3), r.reshape(-1, 3)).reshape(x.shape).clamp(0, 1)
    if keep_luminance:
        out = _keep_lightness(out, x)
    return _uint8(out)


def lab_mean(rgb: np.ndarray, reference: np.ndarray, keep_luminance: bool = True) -> np.ndarray:
    """Reinhard et al. 2001: the same moment matching in CIE Lab. A gray input (a = b = 0
    everywhere) gets the reference's mean colour."""
    lab = rgb_to_lab_t(_tensor(rgb))
    lab_r = rgb_to_lab_t(_tensor(reference))
    out = _match_moments(lab.reshape(-1, 3), lab_r.reshape(-1, 3)).reshape(lab.shape)
    if keep_luminance:
        out[..., 0] = lab[..., 0]
    return _uint8(lab_to_rgb_t(out))


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
    applied by linear interpolation. `wx`, `wr`: optional sample weights (counts)."""
    def cdf(v: torch.Tensor, w: torch.Tensor | None):
        lo, hi = v.min() - _EPS, v.max() + _EPS
        pos = (v - lo) * (bins / (hi - lo))
        counts = torch.bincount(pos.long().clamp(0, bins - 1), weights=w, minlength=bins)
        counts = counts.to(v.dtype)
        c = torch.cat([counts.new_zeros(1), (counts + 1e-3).cumsum(0)])  # strictly increasing
        return c / c[-1], torch.linspace(0, 1, bins + 1, dtype=v.dtype) * (hi - lo) + lo, pos

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


def _regrain_solve(out, inp, col, iterations: int, level: int, smoothness: float):
    """Relaxation of Pitie 2005's regrain energy at one scale: stay close to `col` where the
    input is flat, and keep the input's gradients (its grain and edges) everywhere.

    Per pixel, out <- (psi col + sum_k phi_k (out_k - inp_k + inp)) / den * (1 - rho) + rho out
    over the 4 neighbours k (edges replicated), written as in-place multiply-adds.
    """
    right, down, left, up = _shifts(inp)
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


def apply_regrain(inp: torch.Tensor, col: torch.Tensor, smoothness: float = 1.0) -> torch.Tensor:
    """Regrain (Pitie 2005) of (3, H, W) tensors in [0, 1]: the colours of `col` with the
    gradients of `inp`, solved coarse to fine."""
    def solve(out, inp, col, iters, level):
        h, w = inp.shape[-2:]
        h2, w2 = (h + 1) // 2, (w + 1) // 2
        if len(iters) > 1 and h2 > 20 and w2 > 20:
            def down(t):
                return F.interpolate(t[None], (h2, w2), mode="bilinear", align_corners=False)[0]
            coarse = solve(down(out), down(inp), down(col), iters[1:], level + 1)
            out = F.interpolate(coarse[None], (h, w), mode="bilinear", align_corners=False)[0]
        return _regrain_solve(out, inp, col, iters[0], level, smoothness)

    return solve(inp.clone(), inp, col, _REGRAIN_ITERATIONS, 0)


def _distinct_levels(rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """For a gray image (three equal channels): its distinct levels as (U, 3) colours in
    [0, 1], their pixel counts and each pixel's index. The N-D transfer then runs on at
    most 256 weighted points instead of every pixel. None for a colour image."""
    if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
        return None
    g = torch.from_numpy(np.ascontiguousarray(rgb[..., 0])).reshape(-1).long()
    counts = torch.bincount(g, minlength=256)
    levels = torch.nonzero(counts).squeeze(1)
    index = torch.zeros(256, dtype=torch.long)
    index[levels] = torch.arange(len(levels))
    colours = (levels.float() / 255.0)[:, None].expand(-1, 3).contiguous()
    return colours, counts[levels].float(), index[g]


def pdf(rgb: np.ndarray, reference: np.ndarray, iterations: int = 10, regrain: bool = True,
        keep_luminance: bool = True, seed: int = 0) -> np.ndarray:
    """PDF transfer (Pitie et al. 2005/2007): N-D distribution transfer, then regrain."""
    x, r = _tensor(rgb), _tensor(reference)
    rots = rotations(iterations, seed)
    levels = _distinct_levels(rgb)
    if levels is None:
        out = pdf_transfer_nd(x.reshape(-1, 3), r.reshape(-1, 3), rots)
    else:
        colours, counts, index = levels
        out = pdf_transfer_nd(colours, r.reshape(-1, 3), rots, wx=counts)[index]
    out = out.reshape(x.shape).clamp(0, 1)
    if regrain:
        out = apply_regrain(x.permute(2, 0, 1), out.permute(2, 0, 1)).permute(1, 2, 0)
        out = out.clamp(0, 1)
    if keep_luminance:
        out = _keep_lightness(out, x)
    return _uint8(out)
