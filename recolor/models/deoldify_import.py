"""Import an official DeOldify checkpoint (``ColorizeArtistic_gen.pth`` and the like, a fastai
v1 learner file or a bare state_dict) as a safetensors file the app loads:
``python -m recolor import-weights FILE``. Pickles are read with ``weights_only=True``; only a
few harmless globals (optimiser settings, NumPy scalars) are allowed besides tensors."""
from __future__ import annotations

import importlib
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from ..weightfiles import update_manifest
from .deoldify_unet import build_generator, infer_arch

_NAME = re.compile(r"Colorize(\w+?)_gen", re.IGNORECASE)
# Globals that fastai v1 learner files may hold besides tensors (the optimiser's settings).
# Creating these objects runs no user code; anything else is refused.
_ALLOWED_GLOBALS = re.compile(r"^(functools\.partial|torch\.optim\.[\w.]+|numpy\.(_core|core)"
                              r"\.multiarray\.(scalar|_reconstruct)|numpy\.(dtype|ndarray)"
                              r"|numpy\.dtypes\.\w+)$")


def _resolve(name: str) -> object:
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
    ``weights_dir/manifest.json``. The structure is checked by a strict load. Returns the path.
    The file gets no inference settings: it runs with upstream's (``deoldify.Settings()``)."""
    from safetensors.torch import save_file  # noqa: PLC0415

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
    update_manifest(weights_dir, out, {
        "method": "deoldify", "arch": arch, "official": arch != "slim", "source": src.name,
        "params": sum(int(p.numel()) for p in model.parameters()),
    })
    return out
