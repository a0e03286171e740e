"""Colour-photo datasets yielding (L, ab) in the scaling the generators use.

L = L* / 50 - 1 in [-1, 1], shape (1, S, S); ab = (a*, b*) / 110, shape (2, S, S).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..color import gray_to_rgb, is_grayscale, luma, rgb_to_lab_t
from ..degrade import age
from ..models.pix2pix import AB_SCALE

EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def list_colour_photos(root: str | Path, limit: int | None = None) -> list[Path]:
    """Sorted image files under `root`, without the grayscale ones (checked on a thumbnail)."""
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in EXTS)
    keep = []
    for p in files:
        with Image.open(p) as im:
            im.draft("RGB", (64, 64))  # fast JPEG decode at reduced scale
            if im.mode == "L" or is_grayscale(np.asarray(im.convert("RGB"))):
                continue
        keep.append(p)
        if limit is not None and len(keep) >= limit:
            break
    return keep


def rgb_to_Lab_pair(rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (H, W, 3) -> (L (1, H, W) in [-1, 1], ab (2, H, W) scaled by 1/110)."""
    lab = rgb_to_lab_t(torch.from_numpy(np.array(rgb)).float() / 255.0).permute(2, 0, 1)
    return lab[:1] / 50.0 - 1.0, lab[1:] / AB_SCALE


CROPS = ("random", "whole")
DEGRADE_STRENGTHS = (0.3, 1.3)  # an aged training input's strength is uniform in this range


class ColourPhotos(Dataset):
    """A folder of colour photos. train=True: random-resized crop + horizontal flip to `size`
    (crop="whole": the whole photo stretched to the `size` square, bilinear, + flip: what the
    DeOldify filter feeds its network); train=False: resize the short side to `size` and centre
    crop (deterministic). `degrade`: the probability that a training input's luminance is aged
    (`recolor.degrade.age`, strength uniform in DEGRADE_STRENGTHS); the target stays clean."""

    def __init__(self, root: str | Path, size: int = 256, train: bool = True,
                 limit: int | None = None, scale: tuple[float, float] = (0.3, 1.0),
                 crop: str = "random", degrade: float = 0.0):
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {', '.join(CROPS)}, got {crop!r}")
        if not 0.0 <= degrade <= 1.0:
            raise ValueError(f"degrade is a probability in [0, 1], got {degrade}")
        self.degrade = degrade if train else 0.0
        self.files = list_colour_photos(root, limit)
        if not self.files:
            raise FileNotFoundError(f"no colour photos under {root}")
        self.size, self.train, self.scale, self.crop = size, train, scale, crop

    def __len__(self) -> int:
        return len(self.files)

    def _random_crop(self, im: Image.Image) -> Image.Image:
        if self.crop == "whole":
            im = im.resize((self.size, self.size), Image.BILINEAR)
            return im.transpose(Image.FLIP_LEFT_RIGHT) if np.random.rand() < 0.5 else im
        W, H = im.size
        area = W * H
        for _ in range(10):
            a = area * np.random.uniform(*self.scale)
            r = np.exp(np.random.uniform(np.log(3 / 4), np.log(4 / 3)))
            w, h = int(round((a * r) ** 0.5)), int(round((a / r) ** 0.5))
            if 0 < w <= W and 0 < h <= H:
                x, y = np.random.randint(0, W - w + 1), np.random.randint(0, H - h + 1)
                break
        else:  # fall back to the centred square
            w = h = min(W, H)
            x, y = (W - w) // 2, (H - h) // 2
        im = im.resize((self.size, self.size), Image.BICUBIC, box=(x, y, x + w, y + h))
        if np.random.rand() < 0.5:
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        return im

    def _center_crop(self, im: Image.Image) -> Image.Image:
        W, H = im.size
        s = self.size / min(W, H)
        im = im.resize((max(self.size, round(W * s)), max(self.size, round(H * s))), Image.BICUBIC)
        W, H = im.size
        x, y = (W - self.size) // 2, (H - self.size) // 2
        return im.crop((x, y, x + self.size, y + self.size))

    def crop_rgb(self, i: int) -> np.ndarray:
        """Photo `i` cropped as the split does: uint8 (S, S, 3)."""
        with Image.open(self.files[i]) as im:
            im = im.convert("RGB")
            im = self._random_crop(im) if self.train else self._center_crop(im)
        return np.asarray(im)

    def aged_luma(self, rgb: np.ndarray) -> np.ndarray | None:
        """With probability `degrade`, the crop's BT.601 luma aged at a random strength
        (uint8 (S, S)); otherwise None (the clean input)."""
        if not self.degrade or np.random.rand() >= self.degrade:
            return None
        rng = np.random.default_rng(np.random.randint(2**31 - 1))
        return age(luma(rgb), float(rng.uniform(*DEGRADE_STRENGTHS)), rng)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rgb = self.crop_rgb(i)
        L, ab = rgb_to_Lab_pair(rgb)
        aged = self.aged_luma(rgb)
        if aged is not None:  # the network sees the aged L; the target is the clean ab
            L = rgb_to_Lab_pair(gray_to_rgb(aged))[0]
        return L, ab


class EpochSampler(torch.utils.data.Sampler[int]):
    """A permutation fixed by (seed, epoch), starting at `start`: a resumed run continues
    mid-epoch with exactly the images it had not yet seen."""

    def __init__(self, n: int, seed: int, epoch: int, start: int = 0):
        self.n, self.seed, self.epoch, self.start = n, seed, epoch, start

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g)[self.start:].tolist())

    def __len__(self) -> int:
        return max(0, self.n - self.start)
