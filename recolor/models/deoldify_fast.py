"""The inference fast path of DeOldify's generator: rewrites applied once, after loading, by
``prepare_for_inference``. Training never runs them (they drop what backpropagation and
upstream's state_dict need); every one is exact up to float rounding in eval mode:

- spectral/weight norm folded into plain weights (no power iteration, no per-call hook);
- each BatchNorm that directly follows a convolution fused into it;
- the blur after each pixel shuffle computed in place as shifted sums, and the residual add in
  place (fewer copies of the largest maps);
- the wide 3x3 convolutions on large maps run by NNPACK's Winograd F(6x6, 3x3), elsewhere
  oneDNN in channels_last.

``python benchmarks/deoldify.py`` measures the result against upstream's generator; its table
is docs/results/deoldify-benchmark.md (1.55x to 1.71x faster on this project's CPU, outputs
within 4e-5 of upstream's).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.nn.utils.spectral_norm import SpectralNorm, remove_spectral_norm
from torch.nn.utils.weight_norm import WeightNorm, remove_weight_norm

from .deoldify_unet import DynamicUnet, PixelShuffleICNR, ResBlock


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
    48x48, error ~1e-5 relative; elsewhere (smaller maps, GPU, other dtypes) a plain conv. On
    an AVX-512 CPU, where oneDNN is fast, NNPACK wins only for wide convs on large maps and
    loses on small ones, hence the size limit here and the channel limit in ``use_winograd``."""

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


def _blur_(x: torch.Tensor) -> torch.Tensor:
    """``AvgPool2d(2, stride=1)(ReplicationPad2d((1, 0, 1, 0))(x))`` without autograd, computed
    in ``x`` (which it overwrites): each pixel averaged with its upper, left and upper-left
    neighbours, the first row and column replicated. Equal to float rounding, with no padded
    copy and no pooling kernel."""
    t = torch.empty_like(x)
    torch.add(x[..., 1:, :], x[..., :-1, :], out=t[..., 1:, :])  # each row plus the one above
    torch.mul(x[..., :1, :], 2, out=t[..., :1, :])
    torch.add(t[..., :, 1:], t[..., :, :-1], out=x[..., :, 1:])  # each column plus the left one
    torch.mul(t[..., :, :1], 2, out=x[..., :, :1])
    return x.mul_(0.25)


class InPlaceBlur(nn.Module):
    """Stands in for a pixel shuffle's pad + pool at inference (``_blur_``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _blur_(x)


class InPlaceResBlock(nn.Module):
    """A ResBlock whose add reuses the branch's output tensor (no autograd to keep)."""

    def __init__(self, block: ResBlock):
        super().__init__()
        self.layers = block.layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[1](self.layers[0](x)).add_(x)


def in_place_ops(model: nn.Module) -> nn.Module:
    """Swap the pixel shuffles' pad + pool for ``InPlaceBlur`` and each ResBlock for an
    ``InPlaceResBlock``. Inference only: in-place ops break backpropagation. In place."""
    for m in list(model.modules()):
        if isinstance(m, PixelShuffleICNR):
            m.pad, m.blur = nn.Identity(), InPlaceBlur()
        for name, c in list(m.named_children()):
            if isinstance(c, ResBlock):
                setattr(m, name, InPlaceResBlock(c))
    return model


def out_of_place_ops(model: nn.Module) -> nn.Module:
    """The inverse of ``in_place_ops``: upstream's pad + pool and plain ResBlocks again, ops
    that an exporter (``recolor.runtime``) can trace. In place."""
    for m in list(model.modules()):
        if isinstance(m, PixelShuffleICNR) and isinstance(m.blur, InPlaceBlur):
            m.pad, m.blur = nn.ReplicationPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1)
        for name, c in list(m.named_children()):
            if isinstance(c, InPlaceResBlock):
                block = ResBlock.__new__(ResBlock)
                nn.Module.__init__(block)
                block.layers = c.layers
                setattr(m, name, block)
    return model


def prepare_for_inference(model: nn.Module, winograd: bool = True) -> nn.Module:
    """eval, fold spectral/weight norm, fuse conv+BN, in-place blur and residual, no grads;
    then with ``winograd`` (and NNPACK available) Winograd 3x3 convs in NCHW, else
    channels_last for oneDNN. The result is for inference only (its state_dict no longer
    matches upstream). In place."""
    model.eval()
    fold_spectral_norm(model)
    fuse_batchnorm(model)
    in_place_ops(model)
    model.requires_grad_(False)
    fmt = torch.channels_last
    if winograd and nnpack_available():
        use_winograd(model)
        fmt = torch.contiguous_format
    if isinstance(model, DynamicUnet):
        model.memory_format = fmt
    return model.to(memory_format=fmt)
