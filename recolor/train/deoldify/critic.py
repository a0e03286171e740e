"""DeOldify's critic: a spectral-norm patch critic on RGB images (fastai's
``custom_gan_critic``)."""
from __future__ import annotations

from torch import nn
from torch.nn.utils.spectral_norm import spectral_norm

from ...models.deoldify import SelfAttention


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
