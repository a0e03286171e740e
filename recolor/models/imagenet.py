"""ImageNet normalisation, the input space of the pretrained encoders (torchvision's and
DeOldify's, whose output lives there too)."""
from __future__ import annotations

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std shaped (3, 1, 1), on ``x``'s device and dtype (broadcast over (B, 3, H, W)
    or (3, H, W))."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1).to(x)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1).to(x)
    return mean, std


def normalize(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1], channels at dim -3 -> ImageNet-normalised."""
    mean, std = _stats(rgb)
    return (rgb - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalised -> RGB clamped to [0, 1]."""
    mean, std = _stats(x)
    return (x * std + mean).clamp(0, 1)
