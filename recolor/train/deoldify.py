"""Train our slim DeOldify generator with DeOldify's NoGAN recipe, in three phases:

1. ``gen``: generator pretraining with fastai's FeatureLoss (pixel L1 + L1 between frozen VGG
   features, per layer), the encoder initialised from ImageNet MobileNetV2 weights and frozen
   (BatchNorm excepted) for the first ``--freeze-epochs``, one-cycle LR as fastai's
   ``fit_one_cycle``;
2. ``crit``: critic pretraining as a classifier of real photos vs the pretrained generator's
   output (DeOldify's spectral-norm patch critic, BCE on every patch);
3. ``gan``: a short GAN phase as fastai's GANLearner with AdaptiveGANSwitcher (the critic trains
   until its loss drops under ``--critic-thresh``, then one generator step with
   ``1.0 * adversarial loss + 1.5 * feature loss``, DeOldify's ``weights_gen``), Adam betas
   (0, 0.99), a small constant LR, a generator snapshot + sample grid + val metrics every
   ``--gan-ckpt-fraction`` of an epoch, and a stop after ``--gan-fraction`` of an epoch: NoGAN
   stops before artefacts grow, so pick the best snapshot by eye (``samples/``) and export it
   with ``--export-only``.

Upstream pretrains its generator at growing sizes (64 px, then larger); ``--init`` starts a
new run at a new ``--size`` from an earlier run's generator. A finished run resumed with a larger
``--gan-fraction`` goes on with its GAN phase (snapshots continue their numbering at the new
``--gan-ckpt-fraction``, so lengthen a copy of the run folder to keep the old snapshots).

The ablations of issue 4 are ``--loss l1`` (pixel L1 only) and ``--encoder random``.

    python -m recolor train deoldify --data ../shared/data/train --size 128 \
        --out runs/deoldify-slim --export weights/deoldify-slim.safetensors
    python -m recolor train deoldify --resume --out runs/deoldify-slim ...   # same flags
    python -m recolor train deoldify --export-only runs/deoldify-slim/G_gan_0003.pt \
        --export weights/deoldify-slim.safetensors
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.nn.utils.spectral_norm import spectral_norm
from torch.utils.data import DataLoader

from ..color import BT601
from ..models.deoldify import (IMAGENET_MEAN, IMAGENET_STD, DynamicUnet, SelfAttention,
                               build_generator, load_encoder_state, load_generator)
from ..metrics import colourfulness_t
from .data import ColourPhotos, EpochSampler
from .run import RunClock, add_run_arguments, one_thread, open_log, set_up, write_config

ROOT = Path(__file__).resolve().parents[2]
SHARED_WEIGHTS = ROOT.parent / "shared" / "weights"
# file name and sha256 prefix (../shared/README.md) of each pretrained network we use
PRETRAINED = {
    "mobilenet_v2": ("mobilenet_v2_features_tonylins_tvkeys.pth", "0a859183955acecf"),
    "vgg16": ("vgg16_features_to_relu3_3_tvkeys.pth", "38ace1e7f81bb170"),
    "vgg19": ("vgg19_normalised_to_relu3_1_tvkeys.pth", "028fadd9ee863762"),
}
PHASES = ("gen", "crit", "gan")
ARCH = "slim"


# ----------------------------------------------------------------------------- pretrained files

def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_pretrained(name: str, path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The state_dict of pretrained network ``name`` (a key of PRETRAINED), from ``path`` or
    ../shared/weights, after checking its sha256 prefix."""
    file, prefix = PRETRAINED[name]
    path = Path(path) if path else SHARED_WEIGHTS / file
    if not path.is_file():
        raise FileNotFoundError(f"{name} weights not found at {path} (see ../shared/README.md)")
    digest = sha256_of(path)
    if not digest.startswith(prefix):
        raise ValueError(f"{path}: sha256 {digest[:16]} != expected {prefix} for {name}")
    return torch.load(path, map_location="cpu", weights_only=True)


def init_encoder(model: DynamicUnet, path: str | Path | None = None) -> None:
    """Initialise the slim generator's MobileNetV2 body from the ImageNet weights."""
    load_encoder_state(model, load_pretrained("mobilenet_v2", path))


# ----------------------------------------------------------------------------- data

_MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
_STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)


def normalize(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> ImageNet-normalised (the space DeOldify's input and output live in)."""
    return (rgb - _MEAN.to(rgb)) / _STD.to(rgb)


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalised -> RGB clamped to [0, 1]."""
    return (x * _STD.to(x) + _MEAN.to(x)).clamp(0, 1)


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


# ----------------------------------------------------------------------------- losses

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


# ----------------------------------------------------------------------------- critic

def _crit_conv(ni: int, nf: int, ks: int, stride: int = 1, *, padding: int | None = None,
               bias: bool = True, act: bool = True, attn: bool = False) -> nn.Sequential:
    """fastai ``conv_layer(leaky=0.2, norm_type=Spectral)``: spectral-norm conv, LeakyReLU,
    optional self-attention."""
    conv = nn.Conv2d(ni, nf, ks, stride, padding=(ks - 1) // 2 if padding is None else padding,
                     bias=bias)
    nn.init.kaiming_normal_(conv.weight)
    if bias:
        nn.init.zeros_(conv.bias)
    layers: list[nn.Module] = [spectral_norm(conv)]
    if act:
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    if attn:
        layers.append(SelfAttention(nf))
    return nn.Sequential(*layers)


def build_critic(nf: int = 64, n_blocks: int = 3, p: float = 0.15) -> nn.Sequential:
    """DeOldify's ``custom_gan_critic``: a spectral-norm patch critic on RGB images (no gray
    input). Each block halves the size and doubles the width, self-attention after the first;
    logits for patches, flattened to (B, P). Needs a side of at least 2**(n_blocks + 3)
    (64 px for 3 blocks); upstream uses nf=256."""
    layers: list[nn.Module] = [_crit_conv(3, nf, 4, 2), nn.Dropout2d(p / 2)]
    for i in range(n_blocks):
        layers += [_crit_conv(nf, nf, 3), nn.Dropout2d(p),
                   _crit_conv(nf, nf * 2, 4, 2, attn=i == 0)]
        nf *= 2
    layers += [_crit_conv(nf, nf, 3), _crit_conv(nf, 1, 4, padding=0, bias=False, act=False),
               nn.Flatten()]
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------- the three phases

def set_requires_grad(net: nn.Module, flag: bool) -> None:
    for p in net.parameters():
        p.requires_grad_(flag)


class NoGAN:
    """Generator, critic, loss and the optimiser of the current phase, with one step method per
    phase. ``begin(phase, total_steps)`` makes that phase's optimisers (fastai-style AdamW)."""

    def __init__(self, G: DynamicUnet, D: nn.Module, loss: FeatureLoss, args: argparse.Namespace,
                 device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.G, self.D, self.loss = G.to(self.device), D.to(self.device), loss.to(self.device)
        self.args = args
        self.phase = ""
        self.opt_G: torch.optim.Optimizer | None = None
        self.opt_D: torch.optim.Optimizer | None = None
        self.sched: torch.optim.lr_scheduler.LRScheduler | None = None
        self.gen_mode = False  # GAN phase: whose turn it is (AdaptiveGANSwitcher)

    def begin(self, phase: str, total_steps: int) -> None:
        """Fresh optimisers for ``phase``; gen/crit: one-cycle LR over ``total_steps``."""
        a, self.phase = self.args, phase
        self.opt_G = self.opt_D = self.sched = None
        if phase == "gen":
            body = list(self.G.layers[0].parameters())
            ids = {id(p) for p in body}
            rest = [p for p in self.G.parameters() if id(p) not in ids]
            lrs = [a.lr * a.encoder_lr_mult, a.lr]
            self.opt_G = torch.optim.AdamW([{"params": body}, {"params": rest}], lr=a.lr,
                                           betas=(0.9, 0.99), weight_decay=a.wd)
            self.sched = torch.optim.lr_scheduler.OneCycleLR(
                self.opt_G, lrs, total_steps=max(total_steps, 2), pct_start=0.3)
        elif phase == "crit":
            self.opt_D = torch.optim.AdamW(self.D.parameters(), lr=a.crit_lr, betas=(0.9, 0.99),
                                           weight_decay=a.wd)
            self.sched = torch.optim.lr_scheduler.OneCycleLR(
                self.opt_D, a.crit_lr, total_steps=max(total_steps, 2), pct_start=0.3)
        else:  # gan: GANLearner's Adam(betas=(0, 0.99)), constant LR, generator first
            self.opt_G = torch.optim.AdamW(self.G.parameters(), lr=a.gan_lr, betas=(0.0, 0.99),
                                           weight_decay=a.wd)
            self.opt_D = torch.optim.AdamW(self.D.parameters(), lr=a.gan_lr, betas=(0.0, 0.99),
                                           weight_decay=a.wd)
            self.gen_mode = True

    def freeze_encoder(self, frozen: bool) -> None:
        """fastai's ``freeze()``: the pretrained body's weights fixed, its BatchNorm trainable."""
        for m in self.G.layers[0].modules():
            if not isinstance(m, nn.BatchNorm2d):
                for p in m.parameters(recurse=False):
                    p.requires_grad_(not frozen)

    def _step(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if self.sched is not None and self.sched.last_epoch + 1 < self.sched.total_steps:
            self.sched.step()

    def _fake(self, x: torch.Tensor) -> torch.Tensor:
        """The generator's output as the critic sees it (eval mode, no gradient)."""
        self.G.eval()
        with torch.no_grad():
            return self.G(x)

    def gen_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Phase 1: one generator step on the feature (or L1) loss."""
        self.G.train()
        loss, parts = self.loss(self.G(x), y)
        self._step(self.opt_G, loss)
        return {"loss_G": float(loss.detach()), **parts}

    def crit_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Phase 2 (and the critic's turns in phase 3): real photos vs generated."""
        fake = self._fake(x)
        self.D.train()
        set_requires_grad(self.D, True)
        real_pred, fake_pred = self.D(y), self.D(fake)
        loss = critic_loss(real_pred, fake_pred, self.args.gan_loss)
        self._step(self.opt_D, loss)
        acc = ((real_pred > 0).float().mean() + (fake_pred < 0).float().mean()) / 2
        return {"loss_D": float(loss.detach()), "acc_D": float(acc)}

    def gan_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Phase 3, one batch: the critic's turn until its loss < critic_thresh, then a single
        generator step (AdaptiveGANSwitcher); the other's losses are not logged (nan)."""
        if not self.gen_mode:
            out = self.crit_step(x, y)
            self.gen_mode = out["loss_D"] < self.args.critic_thresh
            return out
        w_adv, w_feat = self.args.gan_weights
        self.G.train()
        self.D.eval()  # no dropout: the generator is scored by the whole critic
        set_requires_grad(self.D, False)
        fake = self.G(x)
        feat, parts = self.loss(fake, y)
        adv = adversarial_loss(self.D(fake), self.args.gan_loss)
        loss = w_adv * adv + w_feat * feat
        self._step(self.opt_G, loss)
        set_requires_grad(self.D, True)
        self.gen_mode = False
        return {"loss_G": float(loss.detach()), "loss_G_adv": float(adv.detach()), **parts}

    def state_dict(self) -> dict[str, Any]:
        opt = lambda o: o.state_dict() if o is not None else None  # noqa: E731
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "phase": self.phase,
                "opt_G": opt(self.opt_G), "opt_D": opt(self.opt_D), "sched": opt(self.sched),
                "gen_mode": self.gen_mode}

    def load_state_dict(self, sd: dict[str, Any], total_steps: int) -> None:
        """Weights, and (after ``begin``) the phase's optimiser and schedule states."""
        self.G.load_state_dict(sd["G"])
        self.D.load_state_dict(sd["D"])
        if sd["phase"]:
            self.begin(sd["phase"], total_steps)
        for obj, key in ((self.opt_G, "opt_G"), (self.opt_D, "opt_D"), (self.sched, "sched")):
            if obj is not None and sd[key] is not None:
                obj.load_state_dict(sd[key])
        self.gen_mode = sd["gen_mode"]


# ----------------------------------------------------------------------------- checkpoints, export

def save_checkpoint(path: Path, trainer: NoGAN, config: dict[str, Any],
                    progress: dict[str, Any]) -> None:
    """Everything needed to resume (RNG states included), written atomically."""
    state = {**trainer.state_dict(), "config": config, "progress": dict(progress),
             "rng": torch.get_rng_state(), "np_rng": np.random.get_state()}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def export(ckpt: str | Path, out_path: str | Path, render_factor: int | None = None) -> Path:
    """Write the generator of a checkpoint (ckpt.pt or a G_*.pt snapshot) as fp16 safetensors
    with ``arch`` and the recommended ``render_factor`` in metadata, record it in the folder's
    manifest.json, and check that ``load_generator`` loads it. Returns the path."""
    from safetensors.torch import save_file

    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    config = dict(state["config"])
    if render_factor is not None:
        config["render_factor"] = int(render_factor)
    sd = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state["G"].items()}
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    save_file(sd, str(tmp), metadata={
        "arch": config["arch"], "format": "deoldify", "render_factor": str(config["render_factor"]),
        "config": json.dumps(config), "progress": json.dumps(state.get("progress", {})),
        "source": Path(ckpt).name})
    load_generator(tmp, optimize=False)  # raises if the structure does not match
    os.replace(tmp, out)
    record_in_manifest(out, config["arch"], config["render_factor"], Path(ckpt).name)
    return out


def record_in_manifest(path: Path, arch: str, render_factor: int, source: str) -> None:
    """Enter our exported generator ``path`` in its folder's manifest.json."""
    from ..models.deoldify import _update_manifest

    _update_manifest(path.parent, path, {
        "method": "deoldify", "arch": arch, "official": False, "render_factor": render_factor,
        "source": source,
        "params": sum(int(p.numel()) for p in build_generator(arch, "meta").parameters())})


# ----------------------------------------------------------------------------- validation, samples

@torch.no_grad()
def validate(trainer: NoGAN, loader: DataLoader) -> dict[str, float]:
    """Mean over the val crops: L1 (normalised space), PSNR (RGB, 0-1), colourfulness of ours
    and of the truth, and the critic's accuracy (real vs ours)."""

    G, D, dev = trainer.G.eval(), trainer.D.eval(), trainer.device
    sums = dict.fromkeys(("val_l1", "val_psnr", "val_cf", "val_cf_gt", "val_acc_D"), 0.0)
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


# ----------------------------------------------------------------------------- command line

def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``train deoldify`` flags."""
    shared = ROOT.parent / "shared" / "data"
    p.add_argument("--data", default=str(shared / "train"), help="folder of colour photos")
    p.add_argument("--val-data", default=str(shared / "val"),
                   help="photos for validation and sample grids ('' to skip)")
    p.add_argument("--val-limit", type=int, default=64, help="val photos used")
    p.add_argument("--out", default="runs/deoldify-slim", help="run folder: ckpt, log, samples")
    p.add_argument("--size", type=int, default=128, help="training crop size")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--loss", choices=("perceptual", "l1"), default="perceptual",
                   help="generator loss: FeatureLoss (pixel + VGG features) or pixel L1 alone")
    p.add_argument("--vgg", choices=tuple(VGG_TAPS), default="vgg16", help="perceptual network")
    p.add_argument("--vgg-weights", default=None,
                   help="VGG file (default: ../shared/weights/...; 'random': untrained, tests)")
    p.add_argument("--feat-weights", type=float, nargs="+", default=[20.0, 70.0, 10.0],
                   help="FeatureLoss weight per VGG layer (upstream's 20 70 10)")
    p.add_argument("--pixel-weight", type=float, default=1.0,
                   help="weight of the pixel L1 beside the VGG terms (upstream 1)")
    p.add_argument("--psnr-weight", type=float, default=0.0,
                   help="weight of an added MSE of the prediction with the truth's luma, "
                        "the error the evaluation's PSNR scores (0: off, upstream)")
    p.add_argument("--encoder", choices=("pretrained", "random"), default="pretrained")
    p.add_argument("--encoder-weights", default=None,
                   help="MobileNetV2 file (default: ../shared/weights/...)")
    p.add_argument("--gen-epochs", type=int, default=6, help="phase 1 epochs")
    p.add_argument("--freeze-epochs", type=int, default=1,
                   help="phase 1 epochs with the pretrained encoder frozen (BN trainable)")
    p.add_argument("--lr", type=float, default=1e-3, help="phase 1 one-cycle max LR")
    p.add_argument("--encoder-lr-mult", type=float, default=0.1,
                   help="phase 1 encoder LR factor (discriminative LR)")
    p.add_argument("--crit-epochs", type=int, default=1, help="phase 2 epochs")
    p.add_argument("--crit-lr", type=float, default=1e-3, help="phase 2 one-cycle max LR")
    p.add_argument("--crit-nf", type=int, default=64, help="critic width (upstream 256)")
    p.add_argument("--crit-blocks", type=int, default=3, help="critic downsampling blocks")
    p.add_argument("--gan-loss", choices=("bce", "hinge"), default="bce")
    p.add_argument("--gan-lr", type=float, default=2e-5, help="phase 3 constant LR")
    p.add_argument("--gan-weights", type=float, nargs=2, default=[1.0, 1.5],
                   metavar=("ADV", "FEAT"),
                   help="phase 3 generator loss weights (fastai's weights_gen order)")
    p.add_argument("--critic-thresh", type=float, default=0.65,
                   help="phase 3: critic trains until its loss is below this")
    p.add_argument("--gan-fraction", type=float, default=0.2,
                   help="phase 3 length, in epochs (NoGAN: stop early)")
    p.add_argument("--gan-ckpt-fraction", type=float, default=0.02,
                   help="phase 3 snapshot (G_gan_NNNN.pt, grid, val) interval, in epochs")
    p.add_argument("--wd", type=float, default=1e-3, help="weight decay (DeOldify's 1e-3)")
    p.add_argument("--render-factor", type=int, default=None,
                   help="recommended render_factor stored in the export (default: size/8)")
    p.add_argument("--init", default=None, metavar="CKPT",
                   help="start a new run from this generator (a run's ckpt.pt or G_*.pt, or an "
                        "exported .safetensors): progressive resizing, as upstream pretrains "
                        "at 64 px, then larger, or fine-tuning the shipped weights")
    p.add_argument("--resume", nargs="?", const="auto", default=None,
                   help="checkpoint to continue from (no value: OUT/ckpt.pt if it exists)")
    add_run_arguments(p, ckpt_minutes=10.0)
    p.add_argument("--export", default=None,
                   help="when done, write the generator here (fp16 safetensors)")
    p.add_argument("--export-only", default=None, metavar="CKPT",
                   help="just export CKPT (ckpt.pt or G_*.pt) to --export and exit")



LOG_KEYS = ("loss_G", "pixel", "psnr_mse", "feat_0", "feat_1", "feat_2", "loss_G_adv", "loss_D",
            "acc_D")
VAL_KEYS = ("val_l1", "val_psnr", "val_cf", "val_cf_gt", "val_acc_D")


def build(args: argparse.Namespace, config: dict[str, Any], fresh: bool) -> NoGAN:
    """Generator (encoder initialised when ``fresh``), critic and loss from the run config."""
    G = build_generator(config["arch"])
    if fresh and config["encoder"] == "pretrained":
        init_encoder(G, args.encoder_weights)
    D = build_critic(config["crit_nf"], config["crit_blocks"])
    pixel_weight = config.get("pixel_weight", 1.0)  # runs before --pixel-weight: upstream's 1
    psnr_weight = config.get("psnr_weight", 0.0)  # runs before --psnr-weight: off
    if config["loss"] == "perceptual":
        loss = FeatureLoss(build_vgg(config["vgg"], args.vgg_weights), VGG_TAPS[config["vgg"]],
                           tuple(config["feat_weights"]), pixel_weight, psnr_weight)
    else:
        loss = FeatureLoss(pixel_weight=pixel_weight, psnr_weight=psnr_weight)
    return NoGAN(G, D, loss, args, args.device)


def read_init(path: str | Path) -> dict[str, Any]:
    """An ``--init`` source as ``{"G": state_dict, "config": {...}}``: a run's ckpt.pt or
    G_*.pt, or an exported (fp16) safetensors file such as the shipped weights, in fp32."""
    if str(path).endswith(".safetensors"):
        from ..models.deoldify import _read_safetensors

        sd, meta = _read_safetensors(Path(path))
        return {"G": {k: v.float() if v.is_floating_point() else v for k, v in sd.items()},
                "config": {"arch": meta.get("arch", "")}}
    return torch.load(path, map_location="cpu", weights_only=False)


def reopen_gan(progress: dict[str, Any], args: argparse.Namespace, n_photos: int,
               steps_per_epoch: int) -> None:
    """Resuming a finished run with a larger ``--gan-fraction``: go back into the GAN phase
    where it ended (critic, optimisers and all), so the GAN phase can be lengthened later
    without starting over. Snapshots go on at the current ``--gan-ckpt-fraction``."""
    done = progress.get("gan_images")
    if progress["phase"] < len(PHASES) or done is None or args.gan_fraction * n_photos <= done:
        return
    per_epoch = steps_per_epoch * args.batch
    progress.update(phase=PHASES.index("gan"), images=done, epoch=done // per_epoch,
                    start=done % per_epoch,
                    gan_ckpt=done // max(1, int(args.gan_ckpt_fraction * n_photos)))


def main(args: argparse.Namespace) -> int:
    """Run (or resume) the three phases; returns 0."""
    if args.export_only:
        if not args.export:
            raise SystemExit("--export-only needs --export PATH")
        path = export(args.export_only, args.export, args.render_factor)
        print(f"exported {args.export_only} -> {path}")
        return 0
    from tqdm import tqdm

    set_up(args)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    out = Path(args.out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    resume = args.resume
    if resume == "auto":  # continue if there is something to continue, else start
        resume = out / "ckpt.pt" if (out / "ckpt.pt").is_file() else None
    ckpt = torch.load(resume, map_location="cpu", weights_only=False) if resume else None

    config = ckpt["config"] if ckpt else {
        "arch": ARCH, "train_size": args.size, "loss": args.loss, "vgg": args.vgg,
        "feat_weights": list(args.feat_weights), "pixel_weight": args.pixel_weight,
        "psnr_weight": args.psnr_weight,
        "encoder": args.encoder, "crit_nf": args.crit_nf, "crit_blocks": args.crit_blocks,
        "render_factor": args.render_factor or max(1, round(args.size / 8))}
    if ckpt is None and args.init:
        init = read_init(args.init)
        if init["config"]["arch"] != config["arch"]:
            raise SystemExit(f"--init {args.init}: arch {init['config']['arch']} != "
                             f"{config['arch']}")
        config["init"] = str(args.init)
    trainer = build(args, config, fresh=ckpt is None and not args.init)
    if ckpt is None and args.init:
        trainer.G.load_state_dict(init["G"])
    ds = GrayColourPairs(args.data, args.size, train=True, limit=args.limit,
                         crop=args.crop, degrade=args.degrade)
    steps_per_epoch = max(1, len(ds) // args.batch)
    epochs = {"gen": args.gen_epochs, "crit": args.crit_epochs,
              "gan": int(np.ceil(args.gan_fraction))}
    progress: dict[str, Any] = {"phase": 0, "epoch": 0, "start": 0, "step": 0, "images": 0,
                                "gan_ckpt": 0, "seconds": 0.0}
    if ckpt is not None:
        progress = ckpt["progress"]
        trainer.load_state_dict(ckpt, epochs.get(ckpt["phase"], 0) * steps_per_epoch)
        torch.set_rng_state(ckpt["rng"])
        np.random.set_state(ckpt["np_rng"])
        reopen_gan(progress, args, len(ds), steps_per_epoch)
        print(f"resumed {resume}: {progress}")
    write_config(out, config, args)
    val_loader, vis = None, None
    if args.val_data:
        val_ds = GrayColourPairs(args.val_data, args.size, train=False, limit=args.val_limit)
        val_loader = DataLoader(val_ds, batch_size=16, generator=torch.Generator())
        vis = next(iter(DataLoader(val_ds, batch_size=6, generator=torch.Generator())))
    print(f"{config} | {len(ds)} photos, {steps_per_epoch} steps/epoch | device "
          f"{trainer.device} | threads {torch.get_num_threads()}")

    log, writer = open_log(out / "losses.csv", ["time", "phase", "epoch", "step", "seconds",
                                                "img_per_s", *LOG_KEYS, *VAL_KEYS])
    clock = RunClock(args, progress["seconds"])

    def save() -> None:
        progress["seconds"] = clock.seconds()
        save_checkpoint(out / "ckpt.pt", trainer, config, progress)

    def milestone(tag: str, phase: str) -> None:
        """Validation row, sample grid and a generator snapshot G_<tag>.pt."""
        row = [time.strftime("%H:%M:%S"), tag, progress["epoch"], progress["step"],
               round(clock.seconds()), "", *[""] * len(LOG_KEYS)]
        if val_loader is not None:
            v = validate(trainer, val_loader)
            row += [round(v[k], 4) for k in VAL_KEYS]
            if phase != "crit":
                sample_grid(trainer.G, *vis, out / "samples" / f"{tag}.png", trainer.device)
            print(f"{tag}: {json.dumps({k: round(x, 4) for k, x in v.items()})}")
        writer.writerow(row)
        log.flush()
        if phase != "crit":
            torch.save({"G": trainer.G.state_dict(), "config": config, "progress": dict(progress)},
                       out / f"G_{tag}.pt")

    stop = False
    while progress["phase"] < len(PHASES) and not stop:
        phase = PHASES[progress["phase"]]
        if trainer.phase != phase:
            trainer.begin(phase, epochs[phase] * steps_per_epoch)
        gan_total = int(args.gan_fraction * len(ds))
        gan_every = max(1, int(args.gan_ckpt_fraction * len(ds)))
        phase_done = (progress["epoch"] >= epochs[phase] if phase != "gan"
                      else progress["images"] >= gan_total)
        if phase_done:
            if phase == "gan":
                progress["gan_images"] = progress["images"]  # lets a later resume extend it
            progress.update(phase=progress["phase"] + 1, epoch=0, start=0, images=0)
            continue
        epoch = progress["epoch"]
        pretrained = config["encoder"] == "pretrained"
        trainer.freeze_encoder(phase == "gen" and pretrained and epoch < args.freeze_epochs)
        epoch_id = 1000 * progress["phase"] + epoch
        sampler = EpochSampler(len(ds), args.seed, epoch_id, progress["start"])
        # own generator: workers' crop RNG differs per epoch (and per resume point), and the
        # global RNG (saved in checkpoints) is not consumed
        g = torch.Generator().manual_seed(args.seed * 100003 + epoch_id * 7919 + progress["start"])
        loader = DataLoader(ds, batch_size=args.batch, sampler=sampler, drop_last=True,
                            num_workers=args.workers, worker_init_fn=one_thread,
                            pin_memory=trainer.device.type == "cuda", generator=g)
        step_fn = {"gen": trainer.gen_step, "crit": trainer.crit_step,
                   "gan": trainer.gan_step}[phase]
        sums: dict[str, list[float]] = {}
        n_log, t_log = 0, time.time()
        bar = tqdm(loader, desc=f"{phase} epoch {epoch + 1}/{epochs[phase]}", mininterval=10)
        for x, y in bar:
            losses = step_fn(x.to(trainer.device), y.to(trainer.device))
            progress["start"] += len(x)
            progress["images"] += len(x)
            progress["step"] += 1
            for k, v in losses.items():
                sums.setdefault(k, []).append(v)
            n_log += 1
            bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items() if k in ("loss_G", "loss_D")})
            if n_log == args.log_every:
                writer.writerow([time.strftime("%H:%M:%S"), phase, epoch, progress["step"],
                                 round(clock.seconds()),
                                 round(n_log * args.batch / (time.time() - t_log), 2),
                                 *(round(float(np.mean(sums[k])), 5) if k in sums else ""
                                   for k in LOG_KEYS), *[""] * len(VAL_KEYS)])
                log.flush()
                sums, n_log, t_log = {}, 0, time.time()
            if phase == "gan" and (progress["images"] >= (progress["gan_ckpt"] + 1) * gan_every
                                   or progress["images"] >= gan_total):
                progress["gan_ckpt"] += 1
                milestone(f"gan_{progress['gan_ckpt']:04d}", phase)
                save()
            if clock.checkpoint_due():
                save()
            if phase == "gan" and progress["images"] >= gan_total:
                break
            if clock.must_stop(progress["step"]):
                stop = True
                break
        bar.close()
        if stop:
            break
        if phase != "gan" or progress["images"] < gan_total:  # a whole epoch
            progress["epoch"] += 1
            progress["start"] = 0
            if phase != "gan":
                milestone(f"{phase}_epoch{progress['epoch']:03d}", phase)
        save()
        clock.checkpointed()
    save()
    log.close()
    print(f"stopped at {progress}")
    if args.export and progress["phase"] >= len(PHASES):
        print(f"exported -> {export(out / 'ckpt.pt', args.export, args.render_factor)}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
