"""pix2pix for colorization (Isola et al. 2017): L -> ab generators and a 70x70 PatchGAN.

Two generators, chosen by `config["arch"]`:
- "classic": the paper's U-Net (num_downs=8 is U-Net-256, ngf=64), trained from scratch.
- "mobilenet": a U-Net whose encoder is torchvision's ImageNet-pretrained MobileNetV2 features.
Both take L scaled to [-1, 1] (B, 1, H, W) and return ab / 110 in [-1, 1] (B, 2, H, W) via tanh.

Inference: `load_generator(path)` reads a safetensors file (config in its metadata, the
inference `Settings` among it) and `colorize(model, rgb)` colorizes a uint8 RGB photo of any
size, keeping its luma.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..color import keep_luma, lab_to_rgb, lightness
from ..weightfiles import read_metadata, read_safetensors, sha256_of
from .imagenet import IMAGENET_MEAN, IMAGENET_STD
from .passes import check_settings, pass_plan

AB_SCALE = 110.0
MOBILENET_SHA256_PREFIX = "0a859183955acecf"


@dataclass(frozen=True)
class Settings:
    """What a pix2pix weight file runs with unless told otherwise: the registry's option
    defaults. A file states them in its metadata's JSON ``config`` (``infer_size``,
    ``passes``, ``saturation``, ``v_exponent``); a key it lacks keeps the default here."""
    size: int = 256          # working short side: the photo is scaled so, sides multiples of 32
    passes: int = 1          # predictions averaged (passes.pass_plan, size -32 and +32)
    saturation: float = 1.0  # colour gain: 0 gray, 1 the network's own colour, above 1 stronger
    v_exponent: float = 1.0  # V (red-cyan) is scaled by saturation ** v_exponent, U by saturation

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"the working size must be >= 1, got {self.size}")
        check_settings(self.passes, self.saturation, self.v_exponent)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        d = cls()
        return cls(size=int(config.get("infer_size", d.size)),
                   passes=int(config.get("passes", d.passes)),
                   saturation=float(config.get("saturation", d.saturation)),
                   v_exponent=float(config.get("v_exponent", d.v_exponent)))


def settings_of(path: str | os.PathLike) -> Settings:
    """A weight file's settings, from its header alone (no tensor read, no network built)."""
    return Settings.from_config(json.loads(read_metadata(path).get("config") or "{}"))


def init_weights(net: nn.Module, gain: float = 0.02) -> None:
    """The paper's init: conv weights ~ N(0, 0.02), norm weights ~ N(1, 0.02), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


# -----------------------------------------------------------------------------
# classic U-Net (the paper's UnetGenerator, built recursively from the inside out)

class UNetBlock(nn.Module):
    """down -> submodule -> up, with the input concatenated to the output (the skip)."""

    def __init__(self, outer: int, inner: int, in_ch: int | None = None,
                 sub: nn.Module | None = None, outermost: bool = False,
                 innermost: bool = False, dropout: bool = False):
        super().__init__()
        self.outermost = outermost
        in_ch = outer if in_ch is None else in_ch
        down = nn.Conv2d(in_ch, inner, 4, 2, 1, bias=False)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
            layers = [down, sub, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), sub,
                      nn.ReLU(True), up, nn.BatchNorm2d(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UNetClassic(nn.Module):
    """The paper's U-Net: num_downs stride-2 convs (8 for 256x256 inputs), ngf base filters."""

    def __init__(self, num_downs: int = 8, ngf: int = 64):
        super().__init__()
        assert num_downs >= 5
        self.multiple = 2 ** num_downs
        block = UNetBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UNetBlock(ngf * 8, ngf * 8, sub=block, dropout=True)
        block = UNetBlock(ngf * 4, ngf * 8, sub=block)
        block = UNetBlock(ngf * 2, ngf * 4, sub=block)
        block = UNetBlock(ngf, ngf * 2, sub=block)
        self.net = UNetBlock(2, ngf, in_ch=1, sub=block, outermost=True)
        init_weights(self)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return self.net(L)


# -----------------------------------------------------------------------------
# U-Net on a MobileNetV2 encoder

def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(True))


class UpBlock(nn.Module):
    """x2 upsample, concatenate the encoder's skip, two 3x3 conv-BN-ReLU."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.conv = nn.Sequential(conv_bn_relu(cin + cskip, cout), conv_bn_relu(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([x, skip], 1))


class UNetMobileNet(nn.Module):
    """U-Net decoder on torchvision's MobileNetV2 `features` (skips at /2, /4, /8, /16, /32)."""

    SKIPS = (1, 3, 6, 13, 18)  # indices into features whose outputs feed the decoder
    SKIP_CH = (16, 24, 32, 96, 1280)

    def __init__(self, width: int = 32):
        super().__init__()
        from torchvision.models import mobilenet_v2
        self.multiple = 32
        self.encoder = mobilenet_v2().features
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        w = width
        self.up4 = UpBlock(1280, 96, w * 8)
        self.up3 = UpBlock(w * 8, 32, w * 4)
        self.up2 = UpBlock(w * 4, 24, w * 2)
        self.up1 = UpBlock(w * 2, 16, w)
        self.up0 = UpBlock(w, 1, w // 2)
        self.head = nn.Conv2d(w // 2, 2, 1)
        for m in (self.up4, self.up3, self.up2, self.up1, self.up0):
            init_weights(m)

    def load_encoder(self, path: str) -> None:
        """Load the ImageNet-pretrained `features.*` state_dict (checks its sha256 first)."""
        digest = sha256_of(path)
        if not digest.startswith(MOBILENET_SHA256_PREFIX):
            raise ValueError(f"{path}: sha256 {digest[:16]} != {MOBILENET_SHA256_PREFIX}")
        sd = torch.load(path, map_location="cpu", weights_only=True)
        sd = {k.removeprefix("features."): v for k, v in sd.items()}
        self.encoder.load_state_dict(sd, strict=True)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = ((L + 1) * 0.5).expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std
        skips = []
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i in self.SKIPS:
                skips.append(x)
        s1, s2, s3, s4, x = skips
        x = self.up4(x, s4)
        x = self.up3(x, s3)
        x = self.up2(x, s2)
        x = self.up1(x, s1)
        x = self.up0(x, L)
        return torch.tanh(self.head(x))


# -----------------------------------------------------------------------------
# discriminator

class PatchGAN(nn.Module):
    """70x70 PatchGAN (n_layers=3): concat(L, ab) (3 channels) -> one logit per patch."""

    def __init__(self, in_ch: int = 3, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for n in range(1, n_layers + 1):
            cout = ndf * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ch, cout, 4, stride, 1, bias=False), nn.BatchNorm2d(cout),
                       nn.LeakyReLU(0.2, True)]
            ch = cout
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([L, ab], 1))


# -----------------------------------------------------------------------------
# building, loading, inference

DEFAULTS: dict[str, dict[str, Any]] = {
    "classic": {"arch": "classic", "num_downs": 8, "ngf": 64},
    "mobilenet": {"arch": "mobilenet", "width": 32},
}


def build_generator(config: dict[str, Any]) -> nn.Module:
    """A generator from its config dict (keys as in DEFAULTS; extra keys are ignored)."""
    cfg = {**DEFAULTS[config["arch"]], **config}
    if cfg["arch"] == "classic":
        return UNetClassic(num_downs=int(cfg["num_downs"]), ngf=int(cfg["ngf"]))
    return UNetMobileNet(width=int(cfg["width"]))


def load_generator(path: str | os.PathLike) -> nn.Module:
    """A generator in eval mode from a safetensors file whose metadata holds `config` (JSON),
    with that config as `model.config` and its `Settings` as `model.settings`."""
    tensors, meta = read_safetensors(path)
    config = json.loads(meta["config"])
    settings = Settings.from_config(config)  # a bad value fails here, before the build
    model = build_generator(config)
    model.load_state_dict({k: (v.float() if v.is_floating_point() else v)
                           for k, v in tensors.items()}, strict=True)
    model.config = config  # type: ignore[attr-defined]
    model.settings = settings  # type: ignore[attr-defined]
    return model.eval()


def working_size(h: int, w: int, size: int, multiple: int) -> tuple[int, int]:
    """Scale (h, w) so the short side is about `size`, each side a multiple of `multiple`."""
    s = size / min(h, w)
    rh = max(multiple, int(round(h * s / multiple)) * multiple)
    rw = max(multiple, int(round(w * s / multiple)) * multiple)
    return rh, rw


def colorize(model: nn.Module, rgb: np.ndarray, size: int | None = None,
             saturation: float | None = None, passes: int | None = None) -> np.ndarray:
    """Colorize a uint8 RGB (H, W, 3) or gray (H, W) photo; returns uint8 RGB (H, W, 3).

    ab is predicted at a working size (short side ~`size`, sides multiples of the model's
    stride), upsampled bilinearly to (H, W) and recombined with the photo's original L; then
    the photo's BT.601 luma is put back exactly (`color.keep_luma`), so the result grays back
    to the input (on the 311 val photos: +0.17 dB PSNR over keeping Lab L alone).
    `size`, `passes` and `saturation` left as None are the model's `settings` (the defaults of
    `Settings` for a model without). `passes` 2 averages ab with the mirror image's, 4 also
    over working sizes `size` - 32 and + 32 (`passes.pass_plan`). `saturation` scales the
    chroma in that same step (`color.keep_luma`: 0 gray, 1 the network's own, above 1 spread
    about the photo's mean colour); V's gain is it to the settings' `v_exponent`.
    Stateless, so one model can serve several threads at once.
    """
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=-1)
    given = {"size": size, "passes": passes, "saturation": saturation}
    run = replace(getattr(model, "settings", Settings()),
                  **{k: v for k, v in given.items() if v is not None})
    multiple = int(getattr(model, "multiple", 32))
    plan = pass_plan(run.size, run.passes, step=32, smallest=multiple)
    param = next(model.parameters())
    with torch.inference_mode():
        # (H, W), never resampled for the output (on the CPU a table lookup: color.lightness)
        L = torch.from_numpy(lightness(np.ascontiguousarray(rgb[..., :3])))
        H, W = L.shape
        x = (L / 50.0 - 1.0)[None, None].to(param.device, param.dtype)
        ab = torch.zeros(2, H, W)
        for s, mirrored in plan:  # one at a time: on the CPU a batch of two is slower
            xs = F.interpolate(x, size=working_size(H, W, s, multiple), mode="bilinear",
                               align_corners=False, antialias=True)
            pred = model(xs.flip(-1) if mirrored else xs).float()
            pred = F.interpolate(pred, size=(H, W), mode="bilinear", align_corners=False)[0]
            ab += (pred.flip(-1) if mirrored else pred).cpu()
        ab = (ab / len(plan)).permute(1, 2, 0) * AB_SCALE
        out = lab_to_rgb(torch.cat([L[..., None], ab], -1).numpy())  # OpenCV on the CPU
    return keep_luma(out, rgb[..., :3], run.saturation, run.v_exponent)
