"""The two learned methods, pix2pix and DeOldify: shipped weights loaded once, then inference.

Weights live in `weights/` (or `RECOLOR_WEIGHTS`). Each model is loaded on first use, by one
thread, and then shared by all threads (inference keeps no state). A missing or unreadable
weight file is a `ModelUnavailable` error with the file it looked for, never a crash.
On the CPU each network then runs through an inference runtime (`recolor.runtime`: OpenVINO
unless `RECOLOR_RUNTIME` says otherwise), behind the same call as the torch model.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import runtime
from .errors import ModelUnavailable

WEIGHTS = Path(os.environ.get("RECOLOR_WEIGHTS", Path(__file__).resolve().parents[1] / "weights"))
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# which files each method tries, in order of preference
PIX2PIX_FILES = ("pix2pix-mnv2.safetensors", "pix2pix-classic.safetensors")
DEOLDIFY_FILES = ("deoldify-artistic.safetensors", "deoldify-stable.safetensors",
                  "deoldify-slim.safetensors")

CHANNELS = {"pix2pix": 1, "deoldify": 3}  # network input: pix2pix's L, DeOldify's gray RGB

_lock = threading.Lock()
_models: dict[str, torch.nn.Module] = {}


def _model(method: str, files: tuple[str, ...], load: Callable[[Path], torch.nn.Module]):
    """The loaded model for `method` from the first of `files` present in WEIGHTS."""
    with _lock:
        if method in _models:
            return _models[method]
        path = next((WEIGHTS / f for f in files if (WEIGHTS / f).is_file()), None)
        if path is None:
            raise ModelUnavailable(f"model not available yet: none of {', '.join(files)} "
                                   f"in {WEIGHTS}")
        try:
            model = runtime.accelerate(load(path), path, channels=CHANNELS[method])
        except Exception as e:  # noqa: BLE001 - a corrupt or mismatched file is the file's fault
            raise ModelUnavailable(f"cannot load {path.name}: {type(e).__name__}: {e}") from None
        _models[method] = model
        return model


def pix2pix(rgb: np.ndarray, reference: np.ndarray | None = None,
            saturation: float = 0.0, passes: int = 0) -> np.ndarray:
    """pix2pix U-Net generator: predicts ab from L, keeps the input's luma; ``saturation``
    scales the colour, ``passes`` averages predictions (0: the weights' own)."""
    from .models import pix2pix as p2p  # noqa: PLC0415 - torch models load on first use

    model = _model("pix2pix", PIX2PIX_FILES, lambda p: p2p.load_generator(str(p)).to(DEVICE))
    return p2p.colorize(model, rgb, saturation=saturation, passes=passes)


def deoldify(rgb: np.ndarray, reference: np.ndarray | None = None, render_factor: int = 0,
             post_process: bool = True, saturation: float = 0.0, passes: int = 0) -> np.ndarray:
    """DeOldify generator with upstream's render_factor resize and luminance post-processing;
    an official checkpoint imported with `python -m recolor import-weights` is preferred.
    ``render_factor=0``, ``passes=0``: the loaded weights' own (35 and 1 for official
    checkpoints)."""
    from .models import deoldify as dd  # noqa: PLC0415

    model = _model("deoldify", DEOLDIFY_FILES, lambda p: dd.load_generator(p, device=DEVICE))
    return dd.colorize(model, rgb, render_factor=render_factor, post_process=post_process,
                       saturation=saturation, passes=passes)
