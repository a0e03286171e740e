"""A DeOldify run's milestones: val metrics on centre crops and a sample grid."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader

from ...metrics import colourfulness_t
from ...models.imagenet import denormalize
from .nogan import NoGAN

VAL_KEYS = ("val_l1", "val_psnr", "val_cf", "val_cf_gt", "val_acc_D")


@torch.no_grad()
def validate(trainer: NoGAN, loader: DataLoader) -> dict[str, float]:
    """Mean over the val crops: L1 (normalised space), PSNR (RGB, 0-1), colourfulness of ours
    and of the truth, and the critic's accuracy (real vs ours)."""
    G, D, dev = trainer.G.eval(), trainer.D.eval(), trainer.device
    sums = dict.fromkeys(VAL_KEYS, 0.0)
    n = 0
    for x, y in loader:
        x, y = x.to(dev), y.to(dev)
        fake = G(x)
        rgb, gt = denormalize(fake), denormalize(y)
        mse = ((rgb - gt) ** 2).flatten(1).mean(1).clamp_min(1e-10)
        sums["val_l1"] += float((fake - y).abs().mean()) * len(x)
        sums["val_psnr"] += float((-10 * torch.log10(mse)).sum())
        sums["val_cf"] += float(colourfulness_t(rgb.permute(0, 2, 3, 1).cpu()).sum())
        sums["val_cf_gt"] += float(colourfulness_t(gt.permute(0, 2, 3, 1).cpu()).sum())
        acc = ((D(y) > 0).float().mean(1) + (D(fake) < 0).float().mean(1)) / 2
        sums["val_acc_D"] += float(acc.sum())
        n += len(x)
    return {k: v / n for k, v in sums.items()}


@torch.no_grad()
def sample_grid(G: nn.Module, x: torch.Tensor, y: torch.Tensor, path: Path,
                device: torch.device) -> None:
    """PNG, one row per image: gray input | ground truth | ours."""
    G.eval()
    fake = G(x.to(device)).cpu()
    rows = [torch.cat([a, b, c], 2) for a, b, c in zip(denormalize(x), denormalize(y),
                                                       denormalize(fake))]
    img = (torch.cat(rows, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(img).save(path)
