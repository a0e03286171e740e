"""The one ordered registry of colorization methods.

The app, the CLI, the evaluation and the tests all iterate `METHODS`. Adding a method is one
new module with a `run(rgb, reference, **options)` function and one line in `_ALL` below.

The networks' option defaults are what their loaded weights run with (`learned.settings`,
read from the weight file's header at import), so the options panel, `--help` and the HTTP
API show what runs, and `colorize(img, key)` equals `colorize(img, key, **defaults)`.
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
    label: Callable[[Any], str] | None = None  # a value as a caption shows it ("rf 16")

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

    def describe(self, options: dict[str, Any] | None = None) -> str:
        """The settings that `options` (over the defaults) run with, as a caption shows them:
        e.g. "rf 16 · 4 passes · colour ×1.5"; "" for a method whose options have no label."""
        values = self.parse_options(options or {})
        parts = (o.label(values[o.name]) for o in self.options if o.label is not None)
        return " · ".join(p for p in parts if p)


_KEEP_L = Option("keep_luminance", True,
                 "Keep the input's Lab lightness and take only the colour from the transfer "
                 "(applied by default to B/W inputs; colour inputs default to the plain transfer).")
_SEED = Option("seed", 0, "Seed of the random rotations (results are deterministic given it).",
               0, 2**31 - 1, 1)


def _saturation(s: learned.p2p.Settings | learned.dd.Settings) -> Option:
    """A network's colour strength, default the gain its weights were chosen with."""
    ve = (f" V (red-cyan) gets the gain to the power {s.v_exponent:g}, a property of the "
          f"weights." if s.v_exponent != 1 else "")
    return Option("saturation", float(s.saturation),
                  "Colour strength: 0 is gray, 1 the network's own colour, above 1 stronger "
                  "(the colours spread apart about the photo's mean colour, which stays)." + ve,
                  0.0, max(3.0, s.saturation), 0.05, label=lambda v: f"colour ×{v:g}")


def _passes(sizes: str, default: int) -> Option:
    """A network's `passes` option (`recolor.models.passes.pass_plan`)."""
    return Option("passes", int(default), f"Predictions averaged: 1, the photo once; 2, with "
                  f"its mirror image; 4, both at {sizes}. Steadier colour, proportionally "
                  f"slower.", choices=PASSES,
                  label=lambda v: f"{v} pass" if v == 1 else f"{v} passes")


def _pix2pix_options(s: learned.p2p.Settings) -> tuple[Option, ...]:
    return (Option("working_size", int(s.size), "Short side, in pixels, at which the network "
                   "sees the photo (its colour is then resized to the photo's size): higher, "
                   "more detail and slower.", min(32, s.size), max(512, s.size), 32,
                   label=lambda v: f"{v} px"),
            _passes("working sizes 32 px smaller and larger", s.passes), _saturation(s))


def _deoldify_options(s: learned.dd.Settings) -> tuple[Option, ...]:
    return (Option("render_factor", int(s.render_factor), "The network sees the photo "
                   "stretched to render_factor x 16 pixels square: higher, more detail and "
                   "slower.", 1, max(64, s.render_factor), 1, label=lambda v: f"rf {v}"),
            Option("post_process", True, "Keep the input's luminance, take only the chroma.",
                   label=lambda v: "" if v else "raw output"),
            _passes("render_factor - 2 and + 2", s.passes), _saturation(s))


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
           _pix2pix_options(learned.settings("pix2pix")),
           "Conditional GAN: a U-Net maps L to ab, trained against a PatchGAN."),
    Method("deoldify", "DeOldify", learned.deoldify, False,
           _deoldify_options(learned.settings("deoldify")),
           "U-Net on a pretrained encoder with self-attention, trained the NoGAN way."),
]

METHODS: dict[str, Method] = {m.key: m for m in _ALL}


def get_method(key: str) -> Method:
    """The method registered under `key`, or a ValueError that lists the valid keys."""
    try:
        return METHODS[key]
    except KeyError:
        raise ValueError(f"unknown method {key!r}; choose one of {', '.join(METHODS)}") from None
