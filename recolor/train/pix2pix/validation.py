"""pix2pix validation: per-epoch val metrics and sample grids during training, and
``--eval-only``, a weight file scored against the gray baseline on whole photos."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader

from ... import metrics
from ...color import gray_to_rgb, lab_to_rgb_t, luma
from ...metrics import colourfulness_t
from ...models.pix2pix import AB_SCALE, colorize, load_generator
from ..data import list_colour_photos


def lab_batch_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W) L in [-1,1] and (B,2,H,W) ab/110 -> (B,H,W,3) RGB in [0,1]."""
    lab = torch.cat([(L + 1.0) * 50.0, ab * AB_SCALE], 1).permute(0, 2, 3, 1)
    return lab_to_rgb_t(lab.float())


@torch.no_grad()
def validate(G: nn.Module, loader: DataLoader, device: torch.device) -> dict[str, float]:
    """L1 on ab (x lambda-free, ab/110 units), PSNR (RGB, 255), colourfulness ours / truth."""
    G.eval()
    l1, psnr, cf, cf_gt, n = 0.0, 0.0, 0.0, 0.0, 0
    for L, ab in loader:
        fake = G(L.to(device)).float().cpu()
        rgb, gt = lab_batch_to_rgb(L, fake), lab_batch_to_rgb(L, ab)
        mse = ((rgb - gt) ** 2).flatten(1).mean(1).clamp_min(1e-10)
        l1 += float((fake - ab).abs().mean()) * len(L)
        psnr += float((10 * torch.log10(1.0 / mse)).sum())
        cf += float(colourfulness_t(rgb).sum())
        cf_gt += float(colourfulness_t(gt).sum())
        n += len(L)
    return {"val_l1": l1 / n, "val_psnr": psnr / n, "val_colourfulness": cf / n,
            "val_colourfulness_gt": cf_gt / n}


@torch.no_grad()
def sample_grid(G: nn.Module, L: torch.Tensor, ab: torch.Tensor, path: str | Path,
                device: torch.device) -> None:
    """PNG with one row per image: gray input | ground truth | ours."""
    G.eval()
    fake = G(L.to(device)).float().cpu()
    gray = ((L + 1.0) * 0.5).clamp(0, 1).permute(0, 2, 3, 1).expand(-1, -1, -1, 3)
    rows = [torch.cat([g, t, f], 1) for g, t, f in
            zip(gray, lab_batch_to_rgb(L, ab), lab_batch_to_rgb(L, fake))]
    img = (torch.cat(rows, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(img).save(path)


def evaluate(weights: str | Path, data: str | Path, limit: int = 100, size: int | None = None,
             grid: str | Path | None = None) -> dict[str, float]:
    """Colorize the BT.601 gray of the first `limit` photos of `data` at their native size and
    compare with the originals: mean PSNR (RGB, 255), SSIM, CIEDE2000 and colourfulness, for
    the model and for the gray baseline. Optionally save a grid (gray | truth | ours)."""
    G = load_generator(str(weights))
    sums: dict[str, float] = {}
    rows = []
    files = list_colour_photos(data, limit)
    for i, f in enumerate(files):
        gt = np.asarray(Image.open(f).convert("RGB"))
        gray = gray_to_rgb(luma(gt))
        ours = colorize(G, gray, size)
        sums["truth_colourfulness"] = (sums.get("truth_colourfulness", 0.0)
                                       + metrics.colourfulness(gt))
        for name, x in (("gray", gray), ("ours", ours)):
            m = {"psnr": metrics.psnr(x, gt), "ssim": metrics.ssim(x, gt),
                 "ciede2000": metrics.delta_e(x, gt), "colourfulness": metrics.colourfulness(x)}
            for k, v in m.items():
                sums[f"{name}_{k}"] = sums.get(f"{name}_{k}", 0.0) + float(v)
        if grid is not None and i < 5:
            h = 160
            rows.append(np.concatenate([np.asarray(Image.fromarray(x).resize(
                (round(x.shape[1] * h / x.shape[0]), h), Image.BICUBIC)) for x in (gray, gt, ours)], 1))
    res = {k: v / len(files) for k, v in sums.items()}
    res["n"] = len(files)
    if grid is not None:
        w = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 4), (0, w - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
        Image.fromarray(np.concatenate(rows, 0)).save(grid)
    return res
