"""A DeOldify run's files: the resumable checkpoint, the exported generator (fp16 safetensors,
entered in the weights folder's manifest) and what ``--init`` starts from."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...models.deoldify import build_generator, load_generator
from ...weightfiles import read_safetensors, update_manifest
from .nogan import NoGAN


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
    from safetensors.torch import save_file  # noqa: PLC0415

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
    update_manifest(path.parent, path, {
        "method": "deoldify", "arch": arch, "official": False, "render_factor": render_factor,
        "source": source,
        "params": sum(int(p.numel()) for p in build_generator(arch, "meta").parameters())})


def read_init(path: str | Path) -> dict[str, Any]:
    """An ``--init`` source as ``{"G": state_dict, "config": {...}}``: a run's ckpt.pt or
    G_*.pt, or an exported (fp16) safetensors file such as the shipped weights, in fp32."""
    if str(path).endswith(".safetensors"):
        sd, meta = read_safetensors(path)
        return {"G": {k: v.float() if v.is_floating_point() else v for k, v in sd.items()},
                "config": {"arch": meta.get("arch", "")}}
    return torch.load(path, map_location="cpu", weights_only=False)
