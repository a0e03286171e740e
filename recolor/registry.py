"""The one ordered registry of colorization methods.

The app, the CLI, the evaluation and the tests all iterate `METHODS`. Adding a method is one
new module with a `run(rgb, reference, **options)` function and one line in `_ALL` below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import transfer
from . import learned
from .models.passes import PASSES

RunFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Option:
    """A user-settable option of a method, enough to build a UI control or a CLI flag."""
    name: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None  # the only values allowed (a menu rather than a range)

    def parse(self, value: Any) -> Any:
        """Coerce `value` to the default's type and check the bounds (or the choices)."""
        kind = type(self.default)
        if kind is bool and isinstance(value, str):
            value = value.strip().lower() in ("1", "true", "yes", "on")
        value = kind(value)
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"option {self.name}={value} is not one of "
                             f"{', '.join(map(str, self.choices))}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"option {self.name}={value} is below its minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"option {self.name}={value} is above its maximum {self.maximum}")
        return value


@dataclass(frozen=True)
class Method:
    """One colorization method: `run(rgb, reference, **options)` maps a uint8 RGB array
    (a gray photo is given as three equal channels) to a uint8 RGB array of the same size."""
    key: str
    name: str
    run: RunFn
    needs_reference: bool
    options: tuple[Option, ...] = field(default_factory=tuple)
    description: str = ""

    def defaults(self) -> dict[str, Any]:
        return {o.name: o.default for o in self.options}

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with `options`; unknown names are an error."""
        known = {o.name: o for o in self.options}
        unknown = set(options) - set(known)
        if unknown:
            raise ValueError(f"method {self.key!r} has no option(s) {sorted(unknown)}; "
                             f"it has {sorted(known)}")
        return {**self.defaults(), **{k: known[k].parse(v) for k, v in options.items()}}


_KEEP_L = Option("keep_luminance", True,
                 "Keep the input's Lab lightness and take only the colour from the transfer "
                 "(applied by default to B/W inputs; colour inputs default to the plain transfer).")
_SEED = Option("seed", 0, "Seed of the random rotations (results are deterministic given it).",
               0, 2**31 - 1, 1)

_SATURATION = Option("saturation", 0.0, "Colour strength, the luminance kept: below 1 the colour "
                     "fades toward gray; above 1 the colours spread apart about the photo's mean "
                     "colour, which stays. 0: the weights' own default (1 unless their file sets "
                     "one). A file may also spend more of the gain on red-cyan than on "
                     "blue-yellow (its v_exponent).", 0.0, 3.0, 0.05)


def _passes(sizes: str, own: str) -> Option:
    """A network's `passes` option (`recolor.models.passes.pass_plan`)."""
    return Option("passes", 0, f"Predictions averaged: 1, the photo once; 2, with its mirror "
                  f"image; 4, both at {sizes}. Steadier colour, proportionally slower. 0: the "
                  f"weights' own ({own}).", choices=(0, *PASSES))


_ALL = [
    Method("mean_std", "Mean/StD transfer", transfer.mean_std, True, (_KEEP_L,),
           "Per-channel RGB mean and standard deviation matched to the reference."),
    Method("lab_mean", "Lab mean transfer", transfer.lab_mean, True, (_KEEP_L,),
           "Reinhard et al. 2001: mean and standard deviation matched per channel in CIE Lab."),
    Method("pdf", "PDF transfer", transfer.pdf, True,
           (Option("iterations", 10, "Rotations of the N-D PDF transfer.", 1, 50, 1),
            Option("regrain", True, "Regrain (Pitie 2005): keep the input's grain and edges."),
            _KEEP_L, _SEED),
           "Pitie et al. 2005/2007: iterative distribution transfer with rotations, then regrain."),
    Method("pix2pix", "pix2pix", learned.pix2pix, False,
           (_passes("working sizes 32 px smaller and larger", "ours: 1"), _SATURATION),
           "Conditional GAN: a U-Net maps L to ab, trained against a PatchGAN."),
    Method("deoldify", "DeOldify", learned.deoldify, False,
           (Option("render_factor", 0, "Network input is render_factor x 16 pixels square; "
                   "0: the weights' own (35 for official checkpoints, ours: what it was "
                   "trained for).", 0, 64, 1),
            Option("post_process", True, "Keep the input's luminance, take only the chroma."),
            _passes("render_factor - 2 and + 2", "ours: 4; official checkpoints: 1"),
            _SATURATION),
           "U-Net on a pretrained encoder with self-attention, trained the NoGAN way."),
]

METHODS: dict[str, Method] = {m.key: m for m in _ALL}


def get_method(key: str) -> Method:
    """The method registered under `key`, or a ValueError that lists the valid keys."""
    try:
        return METHODS[key]
    except KeyError:
        raise ValueError(f"unknown method {key!r}; choose one of {', '.join(METHODS)}") from None
