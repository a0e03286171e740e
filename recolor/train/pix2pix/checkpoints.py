"""A pix2pix run's files: the resumable checkpoint and the exported generator (fp16
safetensors, its config and inference settings in the metadata)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..blend import blend
from .model import Pix2Pix


def save_checkpoint(path: str | Path, model: Pix2Pix, config: dict[str, Any],
                    progress: dict[str, Any]) -> None:
    """Everything needed to resume, written atomically (tmp file, then rename)."""
    path = Path(path)
    state = {**model.state_dict(), "config": config, "progress": progress,
             "rng": torch.get_rng_state()}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def export(ckpt: str | Path, out_path: str | Path, infer_size: int | None = None,
           mix: tuple[str | Path, float] | None = None, saturation: float | None = None) -> None:
    """Write the generator of a checkpoint (full or G-only) as fp16 safetensors, with its
    config (JSON, including `infer_size`, the working short side for inference, and
    `saturation`, the default chroma gain, when given) in metadata.
    ``mix=(other_ckpt, alpha)`` writes ``blend(ckpt, other_ckpt, alpha)`` instead."""
    from safetensors.torch import save_file
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    if mix is not None:
        other = torch.load(mix[0], map_location="cpu", weights_only=False)
        state = {**other, "G": blend(state["G"], other["G"], float(mix[1])),
                 "progress": {"blend": [str(ckpt), str(mix[0]), float(mix[1])]}}
    config = dict(state["config"])
    if infer_size is not None:
        config["infer_size"] = int(infer_size)
    config.setdefault("infer_size", config.get("train_size", 256))
    if saturation is not None:
        config["saturation"] = float(saturation)
    sd = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state["G"].items()}
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(out_path), metadata={"config": json.dumps(config), "source": str(ckpt),
                                           "progress": json.dumps(state.get("progress", {}))})
