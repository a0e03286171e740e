"""DeOldify's generator architecture in plain PyTorch (no fastai), state_dict-compatible with
upstream: what training runs and what checkpoints hold.

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
runs through ``scaled_dot_product_attention``. The inference-only rewrites (norms folded,
BatchNorm fused, Winograd convs, in-place blur and residual) are in ``deoldify_fast``.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.spectral_norm import spectral_norm
from torch.nn.utils.weight_norm import weight_norm


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
        return self.blur(self.pad(self.shuf(self.relu(self.conv(x)))))


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
        return x + self.layers[1](self.layers[0](x))


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
    import torchvision.models as tvm  # noqa: PLC0415 - only when a network is built

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
