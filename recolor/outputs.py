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
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .provenance import corner_mark, save_png

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
    """One run's folder of PNGs, each written once. `result` writes a method's output: the
    full-size PNG for download, `<stem>_<name>.png` with the provenance chunk (and, with
    `mark`, the visible corner mark), and a preview for the page; `image` writes an image the
    page shows (a preview, plain); `original` a plain full-size copy (the "Download all" ZIP's
    input, reference and truth). Thread-safe: the gallery's worker threads write their own
    results as they finish. `close` removes the folder (Gradio keeps its own copies).

    `settings` (method -> its options) is what each result's provenance chunk records when
    `result` is given none."""

    def __init__(self, stem: str = "photo", mark: bool = False,
                 settings: dict[str, dict[str, Any]] | None = None,
                 preview_side: int = PREVIEW_SIDE) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="recolor-"))
        (self.dir / "shown").mkdir()
        self.stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:60] or "photo"
        self.mark, self.settings, self.side = mark, settings or {}, preview_side
        self._lock = threading.Lock()
        self._paths: dict[str, str] = {}

    def _claim(self, key: str, folder: Path, name: str = "") -> tuple[str, bool]:
        """(the path of `key`, True if this call must write it): the first claim wins. Without
        `name` the file is numbered in claim order and named after `key`."""
        with self._lock:
            if key in self._paths:
                return self._paths[key], False
            label = re.sub(r"[^A-Za-z0-9_-]+", "_", key.split(":", 1)[-1])[:40]
            path = str(folder / (name or f"{len(self._paths)}-{label}.png"))
            self._paths[key] = path
            return path, True

    def known(self, key: str) -> str | None:
        """The page image already written for `key`, if any."""
        return self._paths.get(f"image:{key}")

    def image(self, key: str, rgb: np.ndarray | None) -> str | None:
        """A page image, as a preview PNG; the same `key` gives the same file, written once."""
        if rgb is None:
            return None
        path, new = self._claim(f"image:{key}", self.dir / "shown")
        if new:
            Image.fromarray(preview(rgb, self.side)).save(path, compress_level=COMPRESS_LEVEL)
        return path

    def original(self, key: str, rgb: np.ndarray | None) -> str | None:
        """A plain full-size PNG of `rgb`, written once per `key`; for an image no larger than
        the preview, its page image (`image`), which is then the same file."""
        if rgb is None:
            return None
        if preview(rgb, self.side) is rgb:
            return self.image(key, rgb)
        path, new = self._claim(f"original:{key}", self.dir)
        if new:
            Image.fromarray(rgb).save(path, compress_level=COMPRESS_LEVEL)
        return path

    def result(self, method: str, rgb: np.ndarray, settings: dict[str, Any] | None = None,
               name: str = "") -> tuple[str, str]:
        """(preview path, full-size path) of `method`'s output, named `<stem>_<name or
        method>.png`. A result no larger than the preview is one file, used for both."""
        name = f"{self.stem}_{name or method}"
        full, new = self._claim(f"full:{name}", self.dir, f"{name}.png")
        rgb = corner_mark(rgb) if self.mark else rgb  # the preview shows the mark too
        if new:
            settings = settings if settings is not None else self.settings.get(method)
            save_png(rgb, full, method, settings, compress_level=COMPRESS_LEVEL)
        small = preview(rgb, self.side)
        if small is rgb:
            return full, full
        shown, new = self._claim(f"preview:{name}", self.dir / "shown", f"{name}.png")
        if new:
            Image.fromarray(small).save(shown, compress_level=COMPRESS_LEVEL)
        return shown, full

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
