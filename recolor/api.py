"""`colorize`: the one entry point the app, the CLI and the evaluation share."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .color import is_grayscale
from .errors import RecolorError, ReferenceRequired
from .images import ImageLike, fit_within, load_image, resize
from .fullres import upsample_chroma, upsample_uv
from .provenance import save_png
from .registry import get_method

WORK_SIDE = int(os.environ.get("RECOLOR_WORK_SIDE", 1024))
AUTO = "auto"  # reference="auto": pick one from the bundled reference bank


def colorize(image: ImageLike, method: str, reference: ImageLike | None = AUTO,
             work_side: int | None = None, restore: bool = False,
             **options: Any) -> np.ndarray:
    """Colorize `image` (uint8 RGB or gray array, PIL image, path or bytes) with `method`
    (a key of `recolor.METHODS`) and return uint8 RGB of the input's size.

    Inputs larger than `work_side` pixels on their long side are processed at that size; the
    colour is then upsampled to the original size and combined with the original lightness
    (Lab L for the transfers, BT.601 luma for the networks, as each does at full size).
    `keep_luminance`, where a method has it, defaults to True for B/W inputs and False for
    colour ones (a colour photo gets the paper's plain transfer).
    `reference` is used by the three transfers only: "auto" (the default) picks a photo from
    the bundled reference bank by the input's luminance; None refuses to guess.
    `restore=True` first denoises the photo's luminance and normalises its contrast
    (`recolor.restore`); the result then keeps that restored luminance.
    """
    m = get_method(method)
    rgb = load_image(image, "image")
    if restore:
        from .restore import restore as restore_photo  # noqa: PLC0415 - needs OpenCV
        rgb = restore_photo(rgb)
    small = fit_within(rgb, work_side or WORK_SIDE)
    ref = None
    if m.needs_reference:
        if reference is None:
            raise ReferenceRequired(f"{m.name} transfers colours from a reference photo: "
                                    "give a colour reference image (or reference='auto')")
        if isinstance(reference, str) and reference == AUTO:
            from .references import pick_reference  # noqa: PLC0415 - loads the bank lazily
            reference = pick_reference(small)
        ref = fit_within(load_image(reference, "reference"), work_side or WORK_SIDE)
    opts = m.parse_options(options)
    if "keep_luminance" in opts and "keep_luminance" not in options:
        opts["keep_luminance"] = is_grayscale(rgb)
    out = m.run(small, ref, **opts)
    if out.shape != small.shape or out.dtype != np.uint8:
        raise RecolorError(f"{m.name} returned {out.shape} {out.dtype}, expected "
                           f"{small.shape} uint8")
    if small is rgb:
        return out
    if "keep_luminance" not in opts:  # the networks keep the input's luma (color.keep_luma)
        return upsample_uv(out, rgb)
    if opts["keep_luminance"]:
        return upsample_chroma(out, rgb)
    return resize(out, (rgb.shape[1], rgb.shape[0]))


def save(rgb: np.ndarray, path: str | Path, method: str,
         settings: dict[str, Any] | None = None, mark: bool = False) -> Path:
    """Write a colorization made by `method` (a key of `recolor.METHODS`) with `settings` (its
    options) as a PNG whose text chunk says so (`recolor.provenance`); `mark=True` also draws a
    small visible "recolor" mark in a corner. The pixels are otherwise written unchanged."""
    get_method(method)  # an unknown method is an error, not a chunk naming nothing
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"recolor.save writes PNG files (the provenance is a PNG text chunk), "
                         f"got {path.name!r}")
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3:
        raise ValueError("recolor.save takes a uint8 (H, W, 3) RGB array, as colorize returns")
    return save_png(rgb, path, method, settings, mark=mark)

