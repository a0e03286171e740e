"""The two learned methods, pix2pix and DeOldify: shipped weights loaded once, then inference.

Weights live in `weights/` (or `RECOLOR_WEIGHTS`). Each model is loaded on first use, by one
thread, and then shared by all threads (inference keeps no state). A missing or unreadable
weight file is a `ModelUnavailable` error with the file it looked for, never a crash.
`settings(method)` reads what the file that would load runs with from its header alone,
without building the network: the registry's option defaults.
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
from .models import deoldify as dd
from .models import pix2pix as p2p

WEIGHTS = Path(os.environ.get("RECOLOR_WEIGHTS", Path(__file__).resolve().parents[1] / "weights"))
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# which files each method tries, in order of preference
PIX2PIX_FILES = ("pix2pix-mnv2.safetensors", "pix2pix-classic.safetensors")
DEOLDIFY_FILES = ("deoldify-artistic.safetensors", "deoldify-stable.safetensors",
                  "deoldify-slim.safetensors")
_FILES = {"pix2pix": PIX2PIX_FILES, "deoldify": DEOLDIFY_FILES}
_SETTINGS = {"pix2pix": (p2p.Settings, p2p.settings_of),
             "deoldify": (dd.Settings, dd.settings_of)}

CHANNELS = {"pix2pix": 1, "deoldify": 3}  # network input: pix2pix's L, DeOldify's gray RGB

_lock = threading.Lock()
_models: dict[str, torch.nn.Module] = {}


def weight_file(method: str) -> Path | None:
    """The first of `method`'s files present in WEIGHTS (the one its model loads), or None."""
    return next((WEIGHTS / f for f in _FILES[method] if (WEIGHTS / f).is_file()), None)


def settings(method: str) -> p2p.Settings | dd.Settings:
    """The settings of the file `method` would load, read from its header; the settings
    class's defaults when there is no file or its header cannot be read (the model then
    reports why when it is asked to run)."""
    default, read = _SETTINGS[method]
    path = weight_file(method)
    if path is None:
        return default()
    try:
        return read(path)
    except (OSError, ValueError):  # unreadable or bad values: loading will say so
        return default()


def _model(method: str, load: Callable[[Path], torch.nn.Module]) -> torch.nn.Module:
    """The loaded model for `method` from its `weight_file`."""
    with _lock:
        if method in _models:
            return _models[method]
        path = weight_file(method)
        if path is None:
            raise ModelUnavailable(f"model not available yet: none of "
                                   f"{', '.join(_FILES[method])} in {WEIGHTS}")
        try:
            model = runtime.accelerate(load(path), path, channels=CHANNELS[method],
                                       calibrate=_calibration(method))
        except Exception as e:  # noqa: BLE001 - a corrupt or mismatched file is the file's fault
            raise ModelUnavailable(f"cannot load {path.name}: {type(e).__name__}: {e}") from None
        _models[method] = model
        return model


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _calibration(method: str) -> Callable[[torch.nn.Module], None] | None:
    """What an int8 network is calibrated on (`recolor.quantize`): the method colorizing the
    14 example photos (gray, at most 512 px a side) with its defaults; None without them.
    Four of them gave activation ranges too narrow for the rarer, stronger colours (pix2pix's
    colourfulness 2.1 below torch's on the examples, against 0.6 with all 14)."""
    paths = sorted(EXAMPLES.glob("*.jpg"))
    if not paths:
        return None
    colorize = {"pix2pix": p2p.colorize, "deoldify": dd.colorize}[method]

    def run(model: torch.nn.Module) -> None:
        from .color import gray_to_rgb, luma  # noqa: PLC0415
        from .images import fit_within, load_image  # noqa: PLC0415
        for path in paths:
            colorize(model, gray_to_rgb(luma(fit_within(load_image(path, "photo"), 512))))
    return run


def pix2pix(rgb: np.ndarray, reference: np.ndarray | None = None,
            saturation: float | None = None, passes: int | None = None,
            working_size: int | None = None) -> np.ndarray:
    """pix2pix U-Net generator: predicts ab from L at `working_size` (short side), keeps the
    input's luma; `saturation` scales the colour, `passes` averages predictions. None: the
    weights' own (`models.pix2pix.Settings`)."""
    model = _model("pix2pix", lambda p: p2p.load_generator(p).to(DEVICE))
    return p2p.colorize(model, rgb, size=working_size, saturation=saturation, passes=passes)


def deoldify(rgb: np.ndarray, reference: np.ndarray | None = None,
             render_factor: int | None = None, post_process: bool = True,
             saturation: float | None = None, passes: int | None = None) -> np.ndarray:
    """DeOldify generator with upstream's render_factor resize and luminance post-processing;
    an official checkpoint imported with `python -m recolor import-weights` is preferred.
    None: the weights' own (`models.deoldify.Settings`)."""
    model = _model("deoldify", lambda p: dd.load_generator(p, device=DEVICE))
    return dd.colorize(model, rgb, render_factor=render_factor, post_process=post_process,
                       saturation=saturation, passes=passes)
