"""The files of one gallery run: a small preview for the page, and the full-size PNG (with its
provenance chunk, fast compression) for download, each written once.

A 4 MP result takes about 0.25 s to write as a PNG at compress_level 1 and several times that
at PIL's default; the page needs no more than PREVIEW_SIDE pixels a side to show it, so the
page gets a preview and the full-size file is offered for download only.
"""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .provenance import save_png

PREVIEW_SIDE = int(os.environ.get("RECOLOR_PREVIEW_SIDE", 1024))
COMPRESS_LEVEL = 1  # zlib level of every PNG written here: fast, files about 1.5x the smallest


def preview(rgb: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """`rgb` fitted within `side` (area filter: fast, no aliasing); smaller ones as they are."""
    h, w = rgb.shape[:2]
    s = side / max(h, w)
    if s >= 1:
        return rgb
    size = (max(1, round(w * s)), max(1, round(h * s)))
    try:
        import cv2  # noqa: PLC0415
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    except ImportError:  # pragma: no cover - opencv-python-headless is a requirement
        return np.asarray(Image.fromarray(rgb).resize(size, Image.BOX))


class RunFiles:
    """One run's folder. `result` writes a method's output (full size + preview), `image` an
    image shown on the page only (preview). Thread-safe: the gallery's worker threads write
    their own results as they finish. `close` removes the folder (Gradio keeps its own copies)."""

    def __init__(self, preview_side: int = PREVIEW_SIDE) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="recolor-"))
        self.side = preview_side
        self._lock = threading.Lock()
        self._paths: dict[str, str] = {}
        self._n = 0

    def _name(self, key: str, suffix: str) -> tuple[Path, bool]:
        with self._lock:
            if key in self._paths:
                return Path(self._paths[key]), False
            self._n += 1
            path = self.dir / f"{self._n}-{suffix}.png"
            self._paths[key] = str(path)
            return path, True

    def image(self, key: str, rgb: np.ndarray | None) -> str | None:
        """A page image, as a preview PNG; the same `key` gives the same file, written once."""
        if rgb is None:
            return None
        path, new = self._name(f"image:{key}", "shown")
        if new:
            Image.fromarray(preview(rgb, self.side)).save(path, compress_level=COMPRESS_LEVEL)
        return str(path)

    def result(self, method: str, rgb: np.ndarray,
               settings: dict[str, Any] | None = None) -> tuple[str, str]:
        """(preview path, full-size path) of `method`'s output; the full-size PNG carries the
        provenance chunk. A result no larger than the preview is one file, used for both."""
        full, _ = self._name(f"full:{method}", f"{method}-full")
        save_png(rgb, full, method, settings, compress_level=COMPRESS_LEVEL)
        small = preview(rgb, self.side)
        if small is rgb:
            return str(full), str(full)
        shown, _ = self._name(f"preview:{method}", f"{method}-preview")
        Image.fromarray(small).save(shown, compress_level=COMPRESS_LEVEL)
        return str(shown), str(full)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


_SHARED: Path | None = None  # one folder per process for images every run shows alike


@functools.lru_cache(maxsize=64)
def _shared_file(key: str, shape: tuple[int, ...]) -> Path:
    global _SHARED
    if _SHARED is None:
        _SHARED = Path(tempfile.mkdtemp(prefix="recolor-shared-"))
        atexit.register(shutil.rmtree, _SHARED, ignore_errors=True)
    return _SHARED / f"{len(list(_SHARED.iterdir()))}-{os.getpid()}.png"


_shared_lock = threading.Lock()


def shared_image(key: str, rgb: np.ndarray) -> str:
    """A PNG of `rgb` written once per process for `key` (a "running..." placeholder: every run
    shows the same ones, so none writes its own)."""
    with _shared_lock:
        path = _shared_file(key, rgb.shape)
        if not path.is_file():
            tmp = path.with_suffix(".part")
            Image.fromarray(rgb).save(tmp, format="PNG", compress_level=COMPRESS_LEVEL)
            os.replace(tmp, path)
    return str(path)
