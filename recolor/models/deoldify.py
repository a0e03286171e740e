"""DeOldify for inference: the settings a weight file runs with, loading it, and ``colorize``,
upstream's ``ColorizerFilter`` in NumPy and PyTorch (no fastai).

The generator itself (``DynamicUnet``, state_dict-compatible with upstream, what training runs)
is in ``deoldify_unet``; the rewrites that make it fast for inference (folded norms, fused
BatchNorm, in-place blur, Winograd convs; measured in docs/results/deoldify-benchmark.md by
``python benchmarks/deoldify.py``) in ``deoldify_fast``; the import of official checkpoints in
``deoldify_import``. Their public names are re-exported here.

    model = load_generator("weights/deoldify-slim.safetensors")  # model.settings from the file
    rgb = colorize(model, gray_uint8)                              # (H, W, 3) uint8
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..color import keep_luma, scale_chroma
from ..errors import ImageError
from ..weightfiles import read_metadata, read_safetensors
from .deoldify_fast import (WinogradConv2d, fold_spectral_norm, fuse_batchnorm,  # noqa: F401
                            nnpack_available, prepare_for_inference, use_winograd)
from .deoldify_import import import_weights  # noqa: F401
from .deoldify_unet import (ARCHS, ArchConfig, DynamicUnet, PixelShuffleICNR,  # noqa: F401
                            ResBlock, SelfAttention, build_generator, infer_arch,
                            load_encoder_state)
from .imagenet import IMAGENET_MEAN, IMAGENET_STD, denormalize, normalize  # noqa: F401
from .passes import check_settings, pass_plan

__all__ = ["ARCHS", "ArchConfig", "DynamicUnet", "PixelShuffleICNR", "ResBlock", "SelfAttention",
           "Settings", "build_generator",
           "fold_spectral_norm", "fuse_batchnorm", "nnpack_available", "use_winograd",
           "WinogradConv2d", "prepare_for_inference", "load_generator", "load_encoder_state",
           "infer_arch", "import_weights", "settings_of", "predict", "colorize",
           "IMAGENET_MEAN", "IMAGENET_STD"]


@dataclass(frozen=True)
class Settings:
    """What a DeOldify weight file runs with unless told otherwise: the registry's option
    defaults. The field defaults are upstream's, which the official checkpoints get; our
    exports store theirs in the file's metadata (keys named as the fields)."""
    render_factor: int = 35  # the network sees the photo stretched to render_factor x 16 square
    passes: int = 1          # predictions averaged (passes.pass_plan, render_factor -2 and +2)
    saturation: float = 1.0  # colour gain: 0 gray, 1 the network's own colour, above 1 stronger
    v_exponent: float = 1.0  # V (red-cyan) is scaled by saturation ** v_exponent, U by saturation

    def __post_init__(self) -> None:
        if self.render_factor < 1:
            raise ValueError(f"render_factor must be >= 1, got {self.render_factor}")
        check_settings(self.passes, self.saturation, self.v_exponent)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str]) -> Settings:
        """The settings a file's metadata states; a key it lacks keeps upstream's value."""
        up = cls()
        return cls(render_factor=int(meta.get("render_factor") or up.render_factor),
                   passes=int(meta.get("passes") or up.passes),
                   saturation=float(meta.get("saturation") or up.saturation),
                   v_exponent=float(meta.get("v_exponent") or up.v_exponent))


def settings_of(path: str | os.PathLike) -> Settings:
    """A weight file's settings, from its header alone (no tensor read, no network built)."""
    return Settings.from_metadata(read_metadata(path))


def load_generator(src: str | os.PathLike | Mapping[str, torch.Tensor], arch: str | None = None,
                   *, optimize: bool = True, winograd: bool = True,
                   device: str | torch.device = "cpu",
                   dtype: torch.dtype = torch.float32) -> DynamicUnet:
    """A generator from a safetensors file (or an in-memory state_dict), loaded strictly, with
    the file's ``Settings`` as ``model.settings``. ``arch`` defaults to the file's ``arch``
    metadata, else is inferred from the shapes. With ``optimize`` (default) it is ready for
    inference: see ``prepare_for_inference`` (``winograd=False`` keeps oneDNN's direct convs:
    slower, bit-closer to upstream). ``dtype=torch.float16`` suits a GPU; CPU float32 is the
    tested path."""
    meta: dict[str, str] = {}
    if isinstance(src, Mapping):
        sd = {k: v.detach().clone() for k, v in src.items()}
    else:
        sd, meta = read_safetensors(Path(src))
    settings = Settings.from_metadata(meta)  # a bad value fails here, before the build
    arch = arch or meta.get("arch") or infer_arch(sd)
    sd = {k: (v.float() if v.is_floating_point() else v).to(device) for k, v in sd.items()}
    model = build_generator(arch, "meta")
    model.load_state_dict(sd, strict=True, assign=True)
    model.eval()
    model.settings = settings
    if optimize:
        prepare_for_inference(model, winograd=winograd)
    return model.to(dtype)


# ----------------------------------------------------------------------------- colorize

def predict(model: nn.Module, gray: np.ndarray) -> np.ndarray:
    """One forward pass on a uint8 (S, S) gray image: ImageNet-normalise, predict, denormalise,
    clamp, truncate to uint8 (S, S, 3), as upstream's ``_model_process``."""
    p = next(model.parameters())
    x = torch.tensor(gray, device=p.device).float().div_(255)
    x = normalize(x[None, None].expand(1, 3, *gray.shape)).to(p.dtype)
    with torch.inference_mode():
        y = model(x).float()  # (1, 3, S, S), ImageNet-normalised RGB
        y = (denormalize(y) * 255).to(torch.uint8)  # truncation, as upstream
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


def colorize(model: nn.Module, rgb_uint8: np.ndarray, render_factor: int | None = None,
             post_process: bool = True, saturation: float | None = None,
             passes: int | None = None) -> np.ndarray:
    """Upstream's ColorizerFilter: stretch to ``render_factor*16`` square (bilinear), gray it,
    predict, resize back; with ``post_process`` keep the input's Y and take only the
    prediction's U, V. Takes/returns uint8 RGB (H, W, 3); (H, W) gray is accepted.

    ``render_factor``, ``passes`` and ``saturation`` left as None are the model's
    ``settings`` (upstream's for a model without). ``passes`` 2 averages the prediction with
    its mirror image's, 4 also over render_factor - 2 and + 2 (``passes.pass_plan``).
    ``saturation`` scales the chroma (0 gray, 1 the network's own, above 1 spread about the
    photo's mean colour; ``color.keep_luma``, or ``color.scale_chroma`` without
    post-processing); V's gain is it to the settings' ``v_exponent``."""
    a = np.asarray(rgb_uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[-1] != 3 or min(a.shape[:2]) < 1:
        raise ImageError(f"expected a uint8 (H, W, 3) RGB array, got {a.dtype} {a.shape}")
    given = {"render_factor": render_factor, "passes": passes, "saturation": saturation}
    run = replace(getattr(model, "settings", Settings()),
                  **{k: v for k, v in given.items() if v is not None})
    color = _render(model, Image.fromarray(a), pass_plan(run.render_factor, run.passes, step=2))
    if post_process:
        return keep_luma(color, a, run.saturation, run.v_exponent)
    return scale_chroma(color.copy(), run.saturation, run.v_exponent)
