"""The DeOldify trainer's losses: fastai's FeatureLoss (pixel L1 + VGG feature L1), the
error the evaluation's PSNR scores, and the GAN losses of critic and generator."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ...color import BT601
from ...models.imagenet import denormalize
from .pretrained import load_pretrained

# the start of torchvision's VGG ``features`` (conv widths, "M" = max-pool) that we keep, and the
# indices (in ``features``) of the ReLUs whose outputs the loss compares
VGG_CFG = {"vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256],  # ... relu3_3
           "vgg19": [64, 64, "M", 128, 128, "M", 256]}             # ... relu3_1
VGG_TAPS = {"vgg16": (3, 8, 15),   # relu1_2, relu2_2, relu3_3
            "vgg19": (3, 8, 11)}   # relu1_2, relu2_2, relu3_1
BN_RELU_MEAN = 0.3989  # mean of relu(z), z ~ N(0, 1): a BatchNorm'd VGG's typical activation


def build_vgg(name: str = "vgg16", weights: str | Path | None = None) -> nn.Sequential:
    """Frozen VGG features (torchvision's module indices) up to the last tapped ReLU;
    ``weights="random"`` keeps a random init (smoke tests without ../shared), else the checked
    file from ../shared/weights."""
    layers: list[nn.Module] = []
    ni = 3
    for c in VGG_CFG[name]:
        if c == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(ni, int(c), 3, padding=1), nn.ReLU()]
            ni = int(c)
    vgg = nn.Sequential(*layers)
    if str(weights) != "random":
        sd = load_pretrained(name, weights)
        vgg.load_state_dict({k.removeprefix("features."): v for k, v in sd.items()}, strict=True)
    return vgg.eval().requires_grad_(False)


class FeatureLoss(nn.Module):
    """fastai's FeatureLoss as DeOldify uses it: ``L1(pred, target) + sum_i w_i * L1(f_i(pred),
    f_i(target))`` over frozen VGG layers (upstream: vgg16_bn, weights 20, 70, 10). Our VGGs
    have no BatchNorm (Caffe, 0-255-like activations), so each layer is rescaled to the target's
    mean |activation| being that of a ReLU after BatchNorm (E relu(N(0, 1)) = 1/sqrt(2 pi);
    per batch, no gradient): the weights, and the balance with the pixel and adversarial
    terms, keep roughly upstream's meaning. With ``vgg=None`` it is the plain pixel L1 (the
    ``--loss l1`` ablation). ``pixel_weight`` scales the pixel term (upstream: 1); a larger one
    leans the prediction toward the truth's colour per pixel rather than its look.
    ``psnr_weight`` (default 0: off) adds that many times `kept_luma_mse`, the error the
    evaluation's PSNR measures."""

    def __init__(self, vgg: nn.Sequential | None = None, taps: tuple[int, ...] = (),
                 weights: tuple[float, ...] = (20.0, 70.0, 10.0), pixel_weight: float = 1.0,
                 psnr_weight: float = 0.0):
        super().__init__()
        if vgg is not None and len(taps) != len(weights):
            raise ValueError(f"{len(taps)} VGG layers but {len(weights)} weights")
        self.vgg, self.taps, self.weights = vgg, tuple(taps), tuple(weights)
        self.pixel_weight = float(pixel_weight)
        self.psnr_weight = float(psnr_weight)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.vgg):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out

    def forward(self, pred: torch.Tensor, target: torch.Tensor
                ) -> tuple[torch.Tensor, dict[str, float]]:
        """The total loss and its parts (pixel, feat_0, ...) as floats for the log."""
        pixel = F.l1_loss(pred, target)
        parts = {"pixel": float(pixel.detach())}
        loss = self.pixel_weight * pixel
        if self.psnr_weight:
            mse = kept_luma_mse(pred, target)
            parts["psnr_mse"] = float(mse.detach())
            loss = loss + self.psnr_weight * mse
        if self.vgg is None:
            return loss, parts
        self.vgg.eval()
        with torch.no_grad():
            f_target = self.features(target)
        for i, (fp, ft, w) in enumerate(zip(self.features(pred), f_target, self.weights)):
            term = w * F.l1_loss(fp, ft) * (BN_RELU_MEAN / ft.abs().mean().clamp_min(1e-6))
            parts[f"feat_{i}"] = float(term.detach())
            loss = loss + term
        return loss, parts


def kept_luma_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error, in [0, 1] RGB, of the prediction with its BT.601 luma replaced by the
    target's, against the target: what inference's post-processing keeps (the prediction's U, V
    with the input's Y) and what the evaluation's PSNR scores. Both are ImageNet-normalised.
    Changing Y alone shifts R, G and B by the same amount, so the swap is one addition."""
    p, t = denormalize(pred), denormalize(target)
    luma = torch.tensor(BT601, dtype=p.dtype, device=p.device).view(1, 3, 1, 1)
    dy = ((t - p) * luma).sum(1, keepdim=True)
    return F.mse_loss(p + dy, t)


def critic_loss(real: torch.Tensor, fake: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """Critic loss on patch logits. bce: fastai's ``(BCE(real, 1) + BCE(fake, 0)) / 2``
    (upstream); hinge: ``(relu(1 - real) + relu(1 + fake)) / 2``."""
    if kind == "hinge":
        return (F.relu(1 - real).mean() + F.relu(1 + fake).mean()) / 2
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))) / 2


def adversarial_loss(fake: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """Generator's adversarial loss: BCE(fake, 1), or -mean(fake) for hinge."""
    if kind == "hinge":
        return -fake.mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
