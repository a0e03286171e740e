"""Provenance: every PNG recolor writes says, in a PNG text chunk, that its colours were made by
recolor, with which method and settings. The pixels are not touched (an optional visible corner
mark is separate: `corner_mark`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

KEY = "recolor"  # the text chunk's keyword; its value is JSON (see `provenance`)
LEARNED = {"pix2pix", "deoldify"}


def provenance(method: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the chunk holds: the method key, its settings and a plain statement."""
    from .registry import METHODS  # noqa: PLC0415 - the registry imports torch models lazily
    name = METHODS[method].name if method in METHODS else method
    kind = "a neural network" if method in LEARNED else "a statistical colour transfer"
    return {"software": "recolor", "method": method, "settings": dict(settings or {}),
            "statement": f"The colours of this image were made by recolor ({name}, {kind}); "
                         "they are a guess, not a record of the original colours."}


def png_info(method: str, settings: dict[str, Any] | None = None) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    meta = provenance(method, settings)
    info.add_text(KEY, json.dumps(meta, default=str))
    info.add_text("Software", "recolor")
    info.add_text("Description", meta["statement"])
    return info


def save_png(rgb: np.ndarray, path: str | Path, method: str,
             settings: dict[str, Any] | None = None, compress_level: int = 1,
             mark: bool = False) -> Path:
    """Write `rgb` as a PNG carrying the provenance chunk (fast compression by default);
    `mark=True` also draws a small visible "recolor" mark in the bottom-right corner."""
    path = Path(path)
    im = Image.fromarray(corner_mark(rgb) if mark else rgb)
    im.save(path, format="PNG", pnginfo=png_info(method, settings), compress_level=compress_level)
    return path


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The chunk of a PNG written by `save_png`, or None if it has none."""
    with Image.open(path) as im:
        text = getattr(im, "text", {}) or {}
    return json.loads(text[KEY]) if KEY in text else None


def corner_mark(rgb: np.ndarray, text: str = "recolor") -> np.ndarray:
    """A copy of `rgb` with a small semi-transparent label in its bottom-right corner."""
    im = Image.fromarray(rgb).convert("RGBA")
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(10, min(im.size) // 30)
    font = ImageFont.load_default(size=size)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    pad = size // 3
    w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    x, y = im.width - w - pad, im.height - h - pad
    draw.rectangle((x, y, x + w, y + h), fill=(0, 0, 0, 110))
    draw.text((x + pad - x0, y + pad - y0), text, fill=(255, 255, 255, 200), font=font)
    return np.asarray(Image.alpha_composite(im, layer).convert("RGB"))
