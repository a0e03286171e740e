"""Reading any image a user may throw at us into a uint8 RGB array, or refusing it clearly.

EXIF orientation is applied; grayscale, RGB, RGBA/LA (composited on white), palette,
16-bit, CMYK and animated (first frame) images are accepted; non-images, truncated files,
tiny images and decompression bombs raise `ImageError` with a message meant for a person.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .color import channels_equal, gray_to_rgb
from .errors import ImageError

ImageLike = Union[str, os.PathLike, bytes, Image.Image, np.ndarray]

MAX_PIXELS = int(os.environ.get("RECOLOR_MAX_PIXELS", 40_000_000))
MAX_BYTES = int(os.environ.get("RECOLOR_MAX_BYTES", 30 * 1024 * 1024))
MIN_SIDE = 8

Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, before decoding, with our limit


def load_image(src: ImageLike, name: str = "image", max_pixels: int | None = None) -> np.ndarray:
    """A path, bytes, PIL image or array -> uint8 RGB array (H, W, 3).

    `name` is used in error messages ("reference", a file name, ...)."""
    max_pixels = MAX_PIXELS if max_pixels is None else max_pixels
    if isinstance(src, np.ndarray):
        rgb = _array_to_rgb(src, name)
    elif isinstance(src, Image.Image):
        rgb = _pil_to_rgb(src, name, max_pixels)
    elif isinstance(src, (bytes, bytearray)):
        rgb = _open(io.BytesIO(src), name, max_pixels, len(src))
    elif isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.is_file():
            raise ImageError(f"{name}: no such file: {path}")
        name = name if name == path.name else f"{name} ({path.name})"
        with open(path, "rb") as f:
            rgb = _open(f, name, max_pixels, path.stat().st_size)
    else:
        raise ImageError(f"{name}: expected a file path, bytes, PIL image or array, "
                         f"got {type(src).__name__}")
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{name}: image is too small ({w}x{h} pixels); "
                         f"at least {MIN_SIDE}x{MIN_SIDE} is needed")
    return rgb


def _open(fp, name: str, max_pixels: int, size: int) -> np.ndarray:
    if size == 0:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    if size > MAX_BYTES:
        raise ImageError(f"{name}: the file is {size / 2**20:.1f} MB; the limit is "
                         f"{MAX_BYTES / 2**20:.0f} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(fp)
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image, or an image format we cannot read") from None
    except Exception as e:  # noqa: BLE001 - any decoder failure is the file's fault
        raise ImageError(f"{name}: cannot read the image ({e})") from None
    with im:
        return _pil_to_rgb(im, name, max_pixels)


def _pil_to_rgb(im: Image.Image, name: str, max_pixels: int) -> np.ndarray:
    w, h = im.size
    if w * h > max_pixels:
        raise ImageError(f"{name}: image is too large ({w}x{h} = {w * h / 1e6:.0f} megapixels); "
                         f"the limit is {max_pixels / 1e6:.0f} megapixels")
    try:
        if getattr(im, "is_animated", False):
            im.seek(0)  # animated GIF/PNG/WebP: the first frame
        im.load()
        im = ImageOps.exif_transpose(im)
    except Exception as e:  # noqa: BLE001 - truncated or corrupt data
        raise ImageError(f"{name}: the image data is truncated or corrupt ({e})") from None
    return _array_to_rgb(_to_array(im), name)


def _to_array(im: Image.Image) -> np.ndarray:
    """PIL image in any mode -> uint8 (H, W) or (H, W, 3); alpha composited on white."""
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, im).convert("RGB"))
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im).astype(np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        if im.mode == "F":
            top = 1.0 if a.max() <= 1.0 else max(255.0, float(a.max()))
        return np.clip(np.rint(a / top * 255.0), 0, 255).astype(np.uint8)
    if im.mode in ("L", "RGB"):
        return np.asarray(im)
    return np.asarray(im.convert("RGB"))  # 1, CMYK, YCbCr, LAB, HSV, ...


def _array_to_rgb(a: np.ndarray, name: str) -> np.ndarray:
    """Array (H, W), (H, W, 1|3|4) of uint8, uint16, bool or float in [0, 1] -> uint8 RGB."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageError(f"{name}: expected an (H, W), (H, W, 3) or (H, W, 4) array, "
                         f"got shape {a.shape}")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = np.rint(a / 257.0).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageError(f"{name}: the array contains NaN or infinite values")
        a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ImageError(f"{name}: unsupported array dtype {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    elif a.shape[2] == 4:
        alpha = a[..., 3:].astype(np.float32) / 255.0
        a = np.rint(a[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(a)


def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 (H, W, C) -> (h, w, C) with a good filter (Lanczos down, bicubic up); size = (w, h)."""
    h, w = rgb.shape[:2]
    down = size[0] * size[1] < w * h
    how = Image.LANCZOS if down else Image.BICUBIC
    if rgb.ndim == 3 and rgb.shape[2] == 3 and channels_equal(rgb):
        # a gray photo: one channel resized (PIL filters each band alike: the same values), 3x faster
        g = np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., 0])).resize(size, how))
        return gray_to_rgb(g)
    return np.asarray(Image.fromarray(rgb).resize(size, how))


def fit_within(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the long side is at most `max_side`; smaller images are returned as is."""
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return rgb
    return resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))))
