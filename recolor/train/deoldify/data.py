"""DeOldify's training pairs: a colour photo's crop and its gray version, both ImageNet-
normalised (the space DeOldify's input and output live in)."""
from __future__ import annotations

import numpy as np
import torch

from ...color import BT601
from ...models.imagenet import denormalize, normalize
from ..data import ColourPhotos

__all__ = ["GrayColourPairs", "normalize", "denormalize"]


class GrayColourPairs(ColourPhotos):
    """ColourPhotos' crops as DeOldify's training pairs: (x, y), both (3, S, S) ImageNet-
    normalised; x is the BT.601 luma (as PIL's ``convert("L")`` at inference) in all 3 channels,
    y the colour crop."""

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        crop = self.crop_rgb(i)
        rgb = torch.from_numpy(np.array(crop)).permute(2, 0, 1).float() / 255
        aged = self.aged_luma(crop)
        if aged is None:
            gray = BT601[0] * rgb[0] + BT601[1] * rgb[1] + BT601[2] * rgb[2]
        else:  # the network sees the aged luma; the target is the clean colour
            gray = torch.from_numpy(aged).float() / 255
        return normalize(gray.expand(3, -1, -1)), normalize(rgb)
