"""DeOldify's generators in plain PyTorch (no fastai), state_dict-compatible with upstream.

Architectures (``build_generator(arch)``):

- ``"artistic"``: DynamicUnetDeep on a ResNet34 body, nf_factor 1.5 (``ColorizeArtistic_gen.pth``).
- ``"stable"`` / ``"video"``: DynamicUnetWide on a ResNet101 body, nf_factor 2
  (``ColorizeStable_gen.pth`` / ``ColorizeVideo_gen.pth``).
- ``"slim"``: the same wide decoder (self-attention, spectral norm, blurred ICNR pixel shuffle) on
  torchvision's MobileNetV2 features (``features[:18]``), nf 256: for our own weights.

Module names, order, parameter and buffer shapes follow upstream exactly (``layers.N...``, spectral
norm's ``weight_orig``/``weight_u``/``weight_v``, weight norm's ``weight_g``/``weight_v`` on the
final pixel shuffle), so official checkpoints load with ``strict=True``. The forward pass keeps
upstream's maths but not its machinery: skip connections are collected in ``forward`` (no hooks,
no tensor attributes), so a model in eval mode can be shared between threads, and self-attention
runs through ``scaled_dot_product_attention``.

For inference, ``prepare_for_inference`` folds spectral/weight norm into plain weights (exact in
eval mode) and fuses each BatchNorm that directly follows a convolution. The 3x3 convolutions
(most of the FLOPs) then run through NNPACK's Winograd F(6x6, 3x3), about 3x less CPU time than
oneDNN's direct convolution, which already runs near this CPU's peak (output error ~1e-4 on the
[-3, 3] scale, far below one 8-bit level); ``winograd=False`` keeps oneDNN in channels_last.
``colorize`` reproduces upstream's ``ColorizerFilter``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.models as tvm
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.nn.utils.spectral_norm import SpectralNorm, remove_spectral_norm, spectral_norm
from torch.nn.utils.weight_norm import WeightNorm, remove_weight_norm, weight_norm

from ..color import keep_luma, scale_chroma
from ..errors import ImageError
from .passes import pass_plan

__all__ = ["ARCHS", "ArchConfig", "DynamicUnet", "build_generator", "fold_spectral_norm",
           "fuse_batchnorm", "nnpack_available", "use_winograd", "WinogradConv2d",
           "prepare_for_inference", "load_generator", "load_encoder_state",
           "infer_arch", "import_weights", "predict", "colorize", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


DEFAULT_RENDER_FACTOR = 35  # upstream's, for the official checkpoints

@dataclass(frozen=True)
class ArchConfig:
    """A generator configuration: encoder body, decoder style and width factor."""
    encoder: str      # "resnet34" | "resnet101" | "mobilenet_v2"
    wide: bool        # True: DynamicUnetWide blocks; False: DynamicUnetDeep blocks
    nf_factor: float


ARCHS: dict[str, ArchConfig] = {
    "artistic": ArchConfig("resnet34", wide=False, nf_factor=1.5),
    "stable": ArchConfig("resnet101", wide=True, nf_factor=2),
    "video": ArchConfig("resnet101", wide=True, nf_factor=2),
    "slim": ArchConfig("mobilenet_v2", wide=True, nf_factor=0.5),
}


# ----------------------------------------------------------------------------- building blocks

def _icnr_(w: torch.Tensor, scale: int = 2) -> None:
    """ICNR init: each group of scale**2 sub-pixel output channels starts identical (kaiming)."""
    nf, ni, h, ww = w.shape
    k = torch.empty(nf // scale**2, ni, h, ww, device=w.device)
    nn.init.kaiming_normal_(k)
    with torch.no_grad():
        w.copy_(k.repeat_interleave(scale**2, dim=0))


def _conv(ni: int, nf: int, ks: int, bias: bool, *, is_1d: bool = False, icnr: bool = False,
          norm: str = "spectral") -> nn.Module:
    """Kaiming-initialised convolution wrapped in spectral (or weight) norm."""
    conv = (nn.Conv1d if is_1d else nn.Conv2d)(ni, nf, ks, padding=(ks - 1) // 2, bias=bias)
    nn.init.kaiming_normal_(conv.weight)
    if bias:
        nn.init.zeros_(conv.bias)
    if icnr:  # upstream applies ICNR after wrapping, where it has no effect; we apply it for real
        _icnr_(conv.weight)
    if norm == "weight":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return weight_norm(conv)
    return spectral_norm(conv)


def _bn(nf: int) -> nn.BatchNorm2d:
    """fastai's ``batchnorm_2d``: weight 1, bias 1e-3."""
    bn = nn.BatchNorm2d(nf)
    with torch.no_grad():
        bn.bias.fill_(1e-3)
    return bn


def conv_layer(ni: int, nf: int, ks: int = 3, *, bn: bool, act: bool = True,
               attn: bool = False) -> nn.Sequential:
    """Spectral-norm conv (bias only without BN), then ReLU, BatchNorm, self-attention: the
    ``custom_conv_layer`` sequence, indices matching upstream."""
    layers: list[nn.Module] = [_conv(ni, nf, ks, bias=not bn)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    if bn:
        layers.append(nn.BatchNorm2d(nf))
    if attn:
        layers.append(SelfAttention(nf))
    return nn.Sequential(*layers)


class SelfAttention(nn.Module):
    """SAGAN self-attention (spectral-norm 1x1 conv1d query/key/value, learnt gamma, init 0)."""

    def __init__(self, n: int):
        super().__init__()
        self.query = _conv(n, n // 8, 1, bias=False, is_1d=True)
        self.key = _conv(n, n // 8, 1, bias=False, is_1d=True)
        self.value = _conv(n, n, 1, bias=False, is_1d=True)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        flat = x.reshape(b, c, h * w)
        f, g, v = self.query(flat), self.key(flat), self.value(flat)
        # upstream: beta = softmax_i(f_i . g_j); out_j = sum_i v_i beta_ij, i.e. attention with
        # queries g, keys f, values v and no scaling.
        o = F.scaled_dot_product_attention(g.transpose(1, 2), f.transpose(1, 2),
                                           v.transpose(1, 2), scale=1.0)
        out = (self.gamma * o.transpose(1, 2) + flat).reshape(b, c, h, w)
        cl = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        return out.contiguous(memory_format=torch.channels_last if cl else torch.contiguous_format)


class PixelShuffleICNR(nn.Module):
    """1x1 conv to 4x channels (+BN), ReLU, pixel shuffle x2, then a blur (replication pad +
    2x2 average). Upstream always blurs (its ``blur`` flag is shadowed by the pool module)."""

    def __init__(self, ni: int, nf: int, *, bn: bool, weight_norm: bool = False):
        super().__init__()
        norm = "weight" if weight_norm else "spectral"
        layers: list[nn.Module] = [_conv(ni, nf * 4, 1, bias=not bn, icnr=True, norm=norm)]
        if bn:
            layers.append(nn.BatchNorm2d(nf * 4))
        self.conv = nn.Sequential(*layers)
        self.shuf = nn.PixelShuffle(2)
        self.pad = nn.ReplicationPad2d((1, 0, 1, 0))
        self.blur = nn.AvgPool2d(2, stride=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shuf(self.relu(self.conv(x)))
        if torch.is_grad_enabled():
            return self.blur(self.pad(x))
        return _blur_(x)


def _blur_(x: torch.Tensor) -> torch.Tensor:
    """``AvgPool2d(2, stride=1)(ReplicationPad2d((1, 0, 1, 0))(x))`` without autograd, computed
    in ``x`` (which it overwrites): each pixel averaged with its upper, left and upper-left
    neighbours, the first row and column replicated. A third of the pooling's time on the
    CPU, where that pooling took ~8 % of a forward pass; equal to float rounding."""
    t = torch.empty_like(x)
    torch.add(x[..., 1:, :], x[..., :-1, :], out=t[..., 1:, :])  # each row plus the one above
    torch.mul(x[..., :1, :], 2, out=t[..., :1, :])
    torch.add(t[..., :, 1:], t[..., :, :-1], out=x[..., :, 1:])  # each column plus the left one
    torch.mul(t[..., :, :1], 2, out=x[..., :, :1])
    return x.mul_(0.25)


class UnetBlock(nn.Module):
    """Decoder block: upsample, concat the BN'd skip, ReLU, then one conv (wide) or two (deep)."""

    def __init__(self, up_in_c: int, x_in_c: int, up_out_c: int, out_c: int, *, wide: bool,
                 attn: bool):
        super().__init__()
        self.shuf = PixelShuffleICNR(up_in_c, up_out_c, bn=True)
        self.bn = _bn(x_in_c)
        self.wide = wide
        ni = up_out_c + x_in_c
        if wide:
            self.conv = conv_layer(ni, out_c, bn=True, attn=attn)
        else:
            self.conv1 = conv_layer(ni, out_c, bn=True)
            self.conv2 = conv_layer(out_c, out_c, bn=True, attn=attn)
        self.relu = nn.ReLU(inplace=True)  # on the concatenation, a new tensor

    def forward(self, up_in: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.shuf(up_in)
        if up.shape[-2:] != skip.shape[-2:]:
            up = F.interpolate(up, skip.shape[-2:], mode="nearest")
        x = self.relu(torch.cat([up, self.bn(skip)], dim=1))
        if self.wide:
            return self.conv(x)
        return self.conv2(self.conv1(x))


class ResBlock(nn.Module):
    """``x + conv(conv(x))`` with spectral-norm convs (upstream's ``res_block``)."""

    def __init__(self, nf: int):
        super().__init__()
        self.layers = nn.ModuleList([conv_layer(nf, nf, bn=False), conv_layer(nf, nf, bn=False)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layers[1](self.layers[0](x))
        return x + y if torch.is_grad_enabled() else y.add_(x)  # in place: no autograd to keep


class Merge(nn.Module):
    """Concatenate the decoder output with the network input (upstream's dense MergeLayer)."""

    def forward(self, x: torch.Tensor, orig: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, orig], dim=1)


class SigmoidRange(nn.Module):
    """``sigmoid(x) * (high - low) + low``."""

    def __init__(self, low: float, high: float):
        super().__init__()
        self.low, self.high = low, high

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x) * (self.high - self.low) + self.low


# ----------------------------------------------------------------------------- the U-Net

def _encoder(name: str) -> nn.Sequential:
    """The torchvision body, randomly initialised (never downloads)."""
    if name.startswith("resnet"):
        m = getattr(tvm, name)(weights=None)
        return nn.Sequential(*list(m.children())[:-2])
    if name == "mobilenet_v2":
        return tvm.mobilenet_v2(weights=None).features[:18]
    raise ValueError(f"unknown encoder {name!r}")


def _probe(encoder: nn.Sequential, size: int = 64) -> list[tuple[int, int, int]]:
    """(C, H, W) of each encoder child's output for a size x size input."""
    p = next(encoder.parameters())
    training = encoder.training
    encoder.eval()
    shapes = []
    with torch.no_grad():
        x = torch.zeros(1, 3, size, size, device=p.device, dtype=p.dtype)
        for layer in encoder:
            x = layer(x)
            shapes.append(tuple(x.shape[1:]))
    encoder.train(training)
    return shapes


def _skip_indices(shapes: list[tuple[int, int, int]]) -> list[int]:
    """Encoder children whose output is followed by a change of resolution (upstream's rule;
    its extra case for a change right after child 0 never arises for these encoders)."""
    w = [s[-1] for s in shapes]
    return [i for i in range(len(w) - 1) if w[i] != w[i + 1]]


class DynamicUnet(nn.Module):
    """DeOldify's DynamicUnetDeep (``wide=False``) / DynamicUnetWide (``wide=True``) with
    spectral norm, blur, self-attention, last_cross and a sigmoid y_range."""

    def __init__(self, encoder: nn.Sequential, *, wide: bool, nf_factor: float,
                 n_classes: int = 3, y_range: tuple[float, float] = (-3.0, 3.0)):
        super().__init__()
        probe = 64
        shapes = _probe(encoder, probe)
        skips = _skip_indices(shapes)
        self.skip_idxs = tuple(skips)
        ni = shapes[-1][0]
        layers: list[nn.Module] = [
            encoder, _bn(ni), nn.ReLU(),
            nn.Sequential(conv_layer(ni, ni * 2, bn=True), conv_layer(ni * 2, ni, bn=True)),
        ]
        up_c, nf = ni, int(512 * nf_factor)
        for i, idx in enumerate(reversed(skips)):
            final = i == len(skips) - 1
            x_c = shapes[idx][0]
            attn = i == len(skips) - 3
            if wide:
                n_out = nf if not final else nf // 2
                up_out, out_c = n_out // 2, n_out // 2
            else:
                up_out = up_c // 2
                cat = up_out + x_c
                out_c = int((cat if not final else cat // 2) * nf_factor)
            layers.append(UnetBlock(up_c, x_c, up_out, out_c, wide=wide, attn=attn))
            up_c = out_c
        self.final_shuffle = shapes[0][1:] != (probe, probe)
        if self.final_shuffle:
            layers.append(PixelShuffleICNR(up_c, up_c, bn=False, weight_norm=True))
        in_c = next(p for p in encoder.parameters() if p.dim() == 4).shape[1]
        layers += [Merge(), ResBlock(up_c + in_c),
                   conv_layer(up_c + in_c, n_classes, ks=1, bn=False, act=False),
                   SigmoidRange(*y_range)]
        self.layers = nn.ModuleList(layers)
        self.memory_format = torch.contiguous_format  # set by prepare_for_inference

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=self.memory_format)
        skips: list[torch.Tensor] = []
        h = x
        for i, layer in enumerate(self.layers[0]):
            h = layer(h)
            if i in self.skip_idxs:
                skips.append(h)
        h = self.layers[3](self.layers[2](self.layers[1](h)))
        k = 4
        for skip in reversed(skips):
            h = self.layers[k](h, skip)
            k += 1
        if self.final_shuffle:
            h = self.layers[k](h)
            k += 1
        h = self.layers[k](h, x)
        for layer in self.layers[k + 1:]:
            h = layer(h)
        return h


def build_generator(arch: str = "artistic",
                    device: str | torch.device | None = None) -> DynamicUnet:
    """A randomly initialised generator for ``arch`` (a key of ``ARCHS``). Build with
    ``device="meta"`` to get the structure without memory or init cost (then load with
    ``assign=True``)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown DeOldify arch {arch!r}; choose one of {', '.join(ARCHS)}")
    cfg = ARCHS[arch]
    with torch.device(device) if device is not None else contextlib.nullcontext():
        return DynamicUnet(_encoder(cfg.encoder), wide=cfg.wide, nf_factor=cfg.nf_factor)


# ----------------------------------------------------------------------------- inference speed-ups

def fold_spectral_norm(model: nn.Module) -> nn.Module:
    """Replace spectral norm (and weight norm) by the plain weight it computes in eval mode
    (no power iteration): exactly equivalent for inference, no per-call hook. In place."""
    for m in list(model.modules()):
        for hook in list(m._forward_pre_hooks.values()):
            if isinstance(hook, SpectralNorm):
                remove_spectral_norm(m, hook.name)
            elif isinstance(hook, WeightNorm):
                remove_weight_norm(m, hook.name)
    return model


def _plain_conv(m: nn.Module | None) -> bool:
    return isinstance(m, nn.Conv2d) and not m._forward_pre_hooks


def fuse_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm2d that directly follows a plain Conv2d into that conv (eval mode;
    equal up to float rounding). Covers the encoder and the pixel-shuffle convs. In place."""
    for m in list(model.modules()):
        if isinstance(m, nn.Sequential):
            for i in range(len(m) - 1):
                if _plain_conv(m[i]) and isinstance(m[i + 1], nn.BatchNorm2d):
                    m[i] = fuse_conv_bn_eval(m[i], m[i + 1])
                    m[i + 1] = nn.Identity()
        for c, b in (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")):  # ResNet blocks
            conv, bn = getattr(m, c, None), getattr(m, b, None)
            if _plain_conv(conv) and isinstance(bn, nn.BatchNorm2d):
                setattr(m, c, fuse_conv_bn_eval(conv, bn))
                setattr(m, b, nn.Identity())
    return model


_NNPACK: bool | None = None


def nnpack_available() -> bool:
    """Whether NNPACK works here. The first call initialises it (its convs fail before that)."""
    global _NNPACK
    if _NNPACK is None:
        _NNPACK = bool(torch.backends.nnpack.is_available())
    return _NNPACK


class WinogradConv2d(nn.Conv2d):
    """A 3x3, stride-1 conv run by NNPACK's Winograd F(6x6, 3x3) on CPU float32 maps larger than
    48x48, error ~1e-5 relative; elsewhere (smaller maps, GPU, other dtypes) a plain conv. On an
    AVX2 CPU it took ~3x less CPU time than oneDNN's direct conv; on an AVX-512 one it wins only
    for wide convs on large maps (303 channels at 256x256: 230 ms against 424), and loses below
    about 48x48 (768 channels at 32x32: 50 ms against 31), hence the size limit here and the
    channel limit in ``use_winograd``."""

    MIN_PIXELS = 48 * 48

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type == "cpu" and x.dtype == torch.float32
                and x.shape[-1] * x.shape[-2] > self.MIN_PIXELS):
            return torch._nnpack_spatial_convolution(x.contiguous(), self.weight, self.bias,
                                                     self.padding, self.stride)
        return super().forward(x)


WINOGRAD_MIN_CHANNELS = 256  # narrower convs run faster in oneDNN on every size measured


def use_winograd(model: nn.Module) -> nn.Module:
    """Swap every plain 3x3/stride-1/padding-1 conv (after folding) at least
    ``WINOGRAD_MIN_CHANNELS`` wide in and out for a WinogradConv2d."""
    if not nnpack_available():
        return model
    for m in list(model.modules()):
        for name, c in list(m.named_children()):
            if (type(c) is nn.Conv2d and c.kernel_size == (3, 3) and c.stride == (1, 1)
                    and c.padding == (1, 1) and c.dilation == (1, 1) and c.groups == 1
                    and min(c.in_channels, c.out_channels) >= WINOGRAD_MIN_CHANNELS
                    and not c._forward_pre_hooks):
                w = WinogradConv2d(c.in_channels, c.out_channels, 3, padding=1,
                                   bias=c.bias is not None, device="meta")
                w.weight, w.bias = c.weight, c.bias
                setattr(m, name, w)
    return model


def prepare_for_inference(model: nn.Module, winograd: bool = True) -> nn.Module:
    """eval, fold spectral/weight norm, fuse conv+BN, no grads; then with ``winograd`` (and
    NNPACK available) Winograd 3x3 convs in NCHW, else channels_last for oneDNN. The result
    is for inference only (its state_dict no longer matches upstream). In place."""
    model.eval()
    fold_spectral_norm(model)
    fuse_batchnorm(model)
    model.requires_grad_(False)
    fmt = torch.channels_last
    if winograd and nnpack_available():
        use_winograd(model)
        fmt = torch.contiguous_format
    if isinstance(model, DynamicUnet):
        model.memory_format = fmt
    return model.to(memory_format=fmt)


# ----------------------------------------------------------------------------- weights

def infer_arch(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The ``ARCHS`` key whose structure matches the state_dict's keys and shapes (``"stable"``
    for a ResNet101 wide model: stable and video share one structure)."""
    shapes = {k: tuple(v.shape) for k, v in state_dict.items()}
    for arch in ("artistic", "stable", "slim"):
        ref = {k: tuple(v.shape) for k, v in build_generator(arch, "meta").state_dict().items()}
        if ref == shapes:
            return arch
    raise ValueError("state_dict matches no DeOldify architecture "
                     f"({len(shapes)} tensors; expected one of {', '.join(ARCHS)})")


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def load_generator(src: str | os.PathLike | Mapping[str, torch.Tensor], arch: str | None = None,
                   *, optimize: bool = True, winograd: bool = True,
                   device: str | torch.device = "cpu",
                   dtype: torch.dtype = torch.float32) -> DynamicUnet:
    """A generator from a safetensors file (or an in-memory state_dict), loaded strictly.
    ``arch`` defaults to the file's ``arch`` metadata, else is inferred from the shapes. With
    ``optimize`` (default) it is ready for inference: see ``prepare_for_inference``
    (``winograd=False`` keeps oneDNN's direct convs: slower, bit-closer to upstream).
    ``dtype=torch.float16`` suits a GPU; CPU float32 is the tested path."""
    meta: dict[str, str] = {}
    if isinstance(src, Mapping):
        sd = {k: v.detach().clone() for k, v in src.items()}
    else:
        sd, meta = _read_safetensors(Path(src))
    arch = arch or meta.get("arch") or infer_arch(sd)
    sd = {k: (v.float() if v.is_floating_point() else v).to(device) for k, v in sd.items()}
    model = build_generator(arch, "meta")
    model.load_state_dict(sd, strict=True, assign=True)
    model.eval()
    # what the weights were made for: upstream's 35 for official checkpoints, ours in metadata
    model.render_factor = int(meta.get("render_factor") or DEFAULT_RENDER_FACTOR)
    model.saturation = float(meta.get("saturation") or 1.0)
    model.v_exponent = float(meta.get("v_exponent") or 1.0)
    model.passes = int(meta.get("passes") or 1)
    if optimize:
        prepare_for_inference(model, winograd=winograd)
    return model.to(dtype)


def load_encoder_state(model: DynamicUnet, state_dict: Mapping[str, torch.Tensor],
                       prefix: str = "features.") -> None:
    """Initialise the slim encoder from torchvision MobileNetV2 weights (``features.*`` keys, e.g.
    ``../shared/weights/mobilenet_v2_features_*.pth``); keys the body lacks (``features.18``,
    ``classifier``) are ignored, every body tensor must be present."""
    body = model.layers[0]
    own = body.state_dict()
    sd = {k[len(prefix):]: v for k, v in state_dict.items()
          if k.startswith(prefix) and k[len(prefix):] in own}
    body.load_state_dict(sd, strict=True)


_NAME = re.compile(r"Colorize(\w+?)_gen", re.IGNORECASE)
# Globals that fastai v1 learner files may hold besides tensors (the optimiser's settings).
# Creating these objects runs no user code; anything else is refused.
_ALLOWED_GLOBALS = re.compile(r"^(functools\.partial|torch\.optim\.[\w.]+|numpy\.(_core|core)"
                              r"\.multiarray\.(scalar|_reconstruct)|numpy\.(dtype|ndarray)"
                              r"|numpy\.dtypes\.\w+)$")


def _resolve(name: str) -> object:
    import importlib

    mod, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(mod), attr)


def _torch_load(path: Path) -> object:
    """``torch.load(weights_only=True)``, also allowing the few harmless globals (optimiser
    settings, NumPy scalars) that a fastai learner dict may contain."""
    allowed: list[object] = []
    for _ in range(16):
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            m = re.search(r"GLOBAL ([\w.]+)|but got <class '([\w.]+)'>", str(e))
            name = m and (m.group(1) or m.group(2))
            if not name or not _ALLOWED_GLOBALS.match(name):
                raise ValueError(f"{path.name}: not a plain checkpoint (it needs "
                                 f"{name or 'unsupported objects'}); re-save the model's "
                                 "state_dict") from e
            allowed.append(_resolve(name))
    raise ValueError(f"{path.name}: too many non-tensor objects in the checkpoint")


def import_weights(src: str | os.PathLike, weights_dir: str | os.PathLike,
                   name: str | None = None) -> Path:
    """Convert an official DeOldify checkpoint (fastai learner dict ``{'model', 'opt'}`` or a
    bare state_dict) to ``weights_dir/deoldify-<name>.safetensors`` (fp32) and record it in
    ``weights_dir/manifest.json``. The structure is checked by a strict load. Returns the path."""
    from safetensors.torch import save_file

    src, weights_dir = Path(src), Path(weights_dir)
    obj = _torch_load(src)
    sd = obj["model"] if isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping) else obj
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ValueError(f"{src.name}: no state_dict found")
    arch = infer_arch(sd)
    if name is None:
        m = _NAME.search(src.stem)
        name = m.group(1).lower() if m else arch
    if not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"bad weights name {name!r}")
    if arch == "stable" and name == "video":
        arch = "video"
    model = build_generator(arch, "meta")
    model.load_state_dict(sd, strict=True, assign=True)  # runs upstream's versioning hooks
    tensors = {k: v.detach().float().contiguous() if v.is_floating_point() else v.contiguous()
               for k, v in model.state_dict().items()}
    weights_dir.mkdir(parents=True, exist_ok=True)
    out = weights_dir / f"deoldify-{name}.safetensors"
    tmp = out.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"arch": arch, "source": src.name, "format": "deoldify"})
    os.replace(tmp, out)
    _update_manifest(weights_dir, out, {
        "method": "deoldify", "arch": arch, "official": arch != "slim", "source": src.name,
        "params": sum(int(p.numel()) for p in model.parameters()),
    })
    return out


def _update_manifest(weights_dir: Path, file: Path, entry: dict) -> None:
    path = weights_dir / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    manifest[file.stem] = {"file": file.name, "sha256": h.hexdigest(),
                           "bytes": file.stat().st_size, **entry}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- colorize

def predict(model: nn.Module, gray: np.ndarray) -> np.ndarray:
    """One forward pass on a uint8 (S, S) gray image: ImageNet-normalise, predict, denormalise,
    clamp, truncate to uint8 (S, S, 3), as upstream's ``_model_process``."""
    p = next(model.parameters())
    x = torch.tensor(gray, device=p.device).float().div_(255)
    mean = torch.tensor(IMAGENET_MEAN, device=p.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=p.device).view(1, 3, 1, 1)
    x = ((x[None, None].expand(1, 3, *gray.shape) - mean) / std).to(p.dtype)
    with torch.inference_mode():
        y = model(x).float()
        y = ((y * std + mean).clamp_(0, 1) * 255).to(torch.uint8)  # truncation, as upstream
        return y[0].permute(1, 2, 0).cpu().numpy()


def _render(model: nn.Module, img: Image.Image, plan: list[tuple[int, bool]]) -> np.ndarray:
    """The prediction resized to ``img``'s size, averaged over the passes of ``plan`` (the
    mirrored ones mirrored back): uint8 (H, W, 3). One pass is upstream's output exactly.
    The passes run one at a time: on the CPU a batch of two is slower than two of one."""
    w, h = img.size
    total = np.zeros((h, w, 3), np.float32)  # one pass: its uint8 values come back exactly
    for rf, mirrored in plan:
        gray = np.asarray(img.resize((rf * 16, rf * 16), Image.BILINEAR).convert("L"))
        pred = predict(model, np.ascontiguousarray(gray[:, ::-1]) if mirrored else gray)
        total += np.asarray(Image.fromarray(np.ascontiguousarray(pred[:, ::-1]) if mirrored
                                            else pred).resize((w, h), Image.BILINEAR))
    return np.clip(np.rint(total / len(plan)), 0, 255).astype(np.uint8)


def colorize(model: nn.Module, rgb_uint8: np.ndarray, render_factor: int = DEFAULT_RENDER_FACTOR,
             post_process: bool = True, saturation: float = 0.0, passes: int = 0) -> np.ndarray:
    """Upstream's ColorizerFilter: stretch to ``render_factor*16`` square (bilinear), gray it,
    predict, resize back; with ``post_process`` keep the input's Y and take only the
    prediction's U, V. Takes/returns uint8 RGB (H, W, 3); (H, W) gray is accepted.
    ``render_factor=0``: the model's own (``load_generator`` sets it from the weights).
    ``passes`` averages the prediction over the mirror image (2) and render_factor - 2 and + 2
    (4; ``passes.pass_plan``): steadier colour for proportionally more time; 0: the weights'
    own (1, upstream's single pass, unless their metadata says otherwise).
    ``saturation`` scales the chroma (in ``color.keep_luma``'s pass, or ``color.scale_chroma``
    without post-processing); 0: the weights' own (1 unless their metadata says otherwise;
    official checkpoints: 1). V's gain is the saturation to the weights' ``v_exponent`` (1
    unless their metadata says otherwise)."""
    a = np.asarray(rgb_uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[-1] != 3 or min(a.shape[:2]) < 1:
        raise ImageError(f"expected a uint8 (H, W, 3) RGB array, got {a.dtype} {a.shape}")
    if render_factor == 0:
        render_factor = getattr(model, "render_factor", DEFAULT_RENDER_FACTOR)
    if render_factor < 1:
        raise ValueError(f"render_factor must be >= 1 (or 0: the weights' own), got "
                         f"{render_factor}")
    plan = pass_plan(int(render_factor), int(passes or getattr(model, "passes", 1)), step=2)
    color = _render(model, Image.fromarray(a), plan)
    gain = saturation or getattr(model, "saturation", 1.0)
    ve = getattr(model, "v_exponent", 1.0)
    return keep_luma(color, a, gain, ve) if post_process else scale_chroma(color.copy(), gain, ve)
