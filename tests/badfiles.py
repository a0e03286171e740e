"""Makers of the awkward and hostile files the loaders must survive (shared by several tests)."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 30000) -> bytes:
    """A PNG header claiming side x side pixels, a few hundred bytes on disk."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def photo(w: int = 64, h: int = 48) -> np.ndarray:
    """A smooth colourful test pattern (uint8 RGB)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1),
                     (x + y) * 127 // max(1, w + h - 2)], -1).astype(np.uint8)


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def write_bad_files(folder: Path) -> dict[str, Path]:
    """Each awkward case as a file in `folder`: name -> path."""
    rgb = photo()
    jpeg = encode(Image.fromarray(rgb), "JPEG", quality=90)
    rgba = np.dstack([rgb, np.where(np.arange(64)[None, :] < 32, 0, 255).repeat(48, 0)])
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    frames = [Image.fromarray(np.full((20, 30, 3), c, np.uint8)) for c in (30, 200)]
    anim = io.BytesIO()
    frames[0].save(anim, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    cases = {
        "empty.jpg": b"",
        "text.jpg": b"this is not an image, only text pretending\n" * 20,
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "one_pixel.png": encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"),
        "bomb.png": bomb_png(),
        "sixteen_bit.png": encode(Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 21)
                                                  .astype(np.uint16)), "PNG"),
        "cmyk.jpg": encode(Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        "rgba.png": encode(Image.fromarray(rgba.astype(np.uint8), "RGBA"), "PNG"),
        "palette.gif": encode(Image.fromarray(rgb).convert("P"), "GIF"),
        "animated.gif": anim.getvalue(),
        "rotated.jpg": encode(Image.fromarray(rgb), "JPEG", exif=exif.tobytes()),
    }
    out = {}
    for name, data in cases.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    return out


# which cases must be refused, and a word their message must contain
REFUSED = {"empty.jpg": "empty", "text.jpg": "not an image", "truncated.jpg": "truncated",
           "one_pixel.png": "too small", "bomb.png": "too large"}
ACCEPTED = ["sixteen_bit.png", "cmyk.jpg", "rgba.png", "palette.gif", "animated.gif",
            "rotated.jpg"]
