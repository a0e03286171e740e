"""Run every registered method at once on one photo and stream the five-column gallery.

Used by the app (each column fills as soon as its method finishes) and usable without Gradio.
A method that fails or runs past its time budget fills its column with its message; the
others still finish. Under a burst of visitors (more than BUSY_RUNS runs in flight), the
networks drop to one pass, unless the visitor chose their passes, and their caption says so.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .api import colorize
from .errors import RecolorError
from .registry import METHODS

if TYPE_CHECKING:
    from .outputs import RunFiles

TIME_BUDGET_S = float(os.environ.get("RECOLOR_TIME_BUDGET_S", 120))

# One pool for the whole process, so concurrent users share a bounded number of threads.
_POOL = ThreadPoolExecutor(max_workers=int(os.environ.get("RECOLOR_WORKERS", len(METHODS))),
                           thread_name_prefix="recolor")
# more runs in flight than this: the networks run one pass (their default is several)
BUSY_RUNS = int(os.environ.get("RECOLOR_BUSY_RUNS", 2))
BUSY_NOTE = "1 pass: server busy"
_in_flight = 0
_in_flight_lock = threading.Lock()


@contextmanager
def _counted() -> Iterator[int]:
    """Count this run as in flight; yields how many are (this one included)."""
    global _in_flight
    with _in_flight_lock:
        _in_flight += 1
        depth = _in_flight
    try:
        yield depth
    finally:
        with _in_flight_lock:
            _in_flight -= 1


def in_flight() -> int:
    """Gallery runs started and not finished, in this process."""
    return _in_flight


def _busy_options(options: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], set]:
    """`options` with passes=1 for each network whose passes are left at a default above 1
    (a visitor who chose other passes keeps them); the set of methods changed."""
    out, changed = {k: dict(v) for k, v in options.items()}, set()
    for key, m in METHODS.items():
        default = m.defaults().get("passes")
        if default is not None and default > 1 and out.get(key, {}).get("passes", default) == default:
            out.setdefault(key, {})["passes"] = 1
            changed.add(key)
    return out, changed


@dataclass
class Cell:
    """One gallery column: the method, its image (or a placeholder) and its caption."""
    key: str
    image: np.ndarray
    caption: str
    seconds: float | None = None
    error: str | None = None
    preview: str | None = None  # with `files`: the page's image file and the full-size PNG
    full: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.seconds is not None


@functools.lru_cache(maxsize=64)
def placeholder(text: str, size: tuple[int, int] = (256, 256)) -> np.ndarray:
    """A light gray tile with `text` wrapped on it, for a column that has no image (cached:
    read-only, every run draws the same "running..." tiles)."""
    w, h = size
    im = Image.new("RGB", (w, h), (236, 236, 236))
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=max(12, w // 18))
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) > w - 16 and line:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    y = max(8, h // 2 - len(lines) * font.size // 2)
    for text_line in lines:
        draw.text((8, y), text_line, fill=(90, 90, 90), font=font)
        y += int(font.size * 1.3)
    a = np.asarray(im).copy()
    a.flags.writeable = False
    return a


def _timed(key: str, rgb: np.ndarray, reference: np.ndarray | None,
           options: dict[str, Any], files: RunFiles | None
           ) -> tuple[np.ndarray, float, tuple[str, str] | None]:
    """Colorize, then (outside the timing) write the result's files in this worker thread."""
    start = time.perf_counter()
    out = colorize(rgb, key, reference=reference, **options)
    seconds = time.perf_counter() - start
    return out, seconds, files.result(key, out) if files is not None else None


def run_all(rgb: np.ndarray, reference: np.ndarray | None,
            options: dict[str, dict[str, Any]] | None = None,
            budget_s: float = TIME_BUDGET_S, restore: bool = False,
            files: RunFiles | None = None) -> Iterator[list[Cell]]:
    """Start all methods on `rgb` and yield the list of cells (in registry order) first with
    "running" placeholders and then each time a method finishes.
    `restore=True` restores the photo's luminance once (`recolor.restore`: NL-means, CLAHE)
    and gives every method that restored photo, so each result keeps the restored luminance;
    a caller that shows the input should show `restored(rgb)` then. With `files`, each result
    is also written (preview and full-size PNG, `outputs.RunFiles.result`) by its worker."""
    with _counted() as depth:
        options = options or {}
        if restore:
            rgb = restored(rgb)
        busy: set = set()
        if depth > BUSY_RUNS:
            options, busy = _busy_options(options)
        yield from _run(rgb, reference, options, budget_s, files, busy)


def _run(rgb, reference, options, budget_s, files, busy) -> Iterator[list[Cell]]:
    tile = _tile_size(rgb)
    cells = [Cell(k, placeholder(f"{m.name}: running...", tile), f"{m.name} · running...")
             for k, m in METHODS.items()]
    futures: dict[Future, int] = {}
    for i, (key, m) in enumerate(METHODS.items()):
        if m.needs_reference and reference is None:
            cells[i] = _failed(key, "needs a colour reference image", tile)
            continue
        futures[_POOL.submit(_timed, key, rgb, reference, options.get(key, {}), files)] = i
    yield list(cells)
    deadline = time.monotonic() + budget_s
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=max(0.0, deadline - time.monotonic()),
                             return_when=FIRST_COMPLETED)
        if not done:  # time budget spent: the stragglers report it, the thread runs out alone
            for f in pending:
                f.cancel()
                cells[futures[f]] = _failed(cells[futures[f]].key,
                                            f"timed out after {budget_s:.0f} s", tile)
            yield list(cells)
            return
        for f in done:
            i, key = futures[f], cells[futures[f]].key
            cells[i] = _finished(key, f, tile, options.get(key, {}), key in busy)
        yield list(cells)


def _finished(key: str, f: Future, tile: tuple[int, int], options: dict[str, Any],
              busy: bool) -> Cell:
    try:
        out, secs, paths = f.result()
    except RecolorError as e:
        return _failed(key, str(e), tile)
    except Exception as e:  # noqa: BLE001 - one method's bug must not sink the others
        return _failed(key, f"internal error: {type(e).__name__}: {e}", tile)
    text = caption(key, options, secs) + (f" · {BUSY_NOTE}" if busy else "")
    return Cell(key, out, text, secs, preview=paths[0] if paths else None,
                full=paths[1] if paths else None)


def restored(rgb: np.ndarray) -> np.ndarray:
    """`rgb` with its luminance restored (`recolor.restore.restore`), as `run_all` sees it."""
    from .restore import restore  # noqa: PLC0415 - only the restore path needs OpenCV
    return restore(rgb)


def caption(key: str, options: dict[str, Any], seconds: float) -> str:
    """What ran and how long it took: the method's name, the settings `options` (over its
    defaults) ran with, and the time, e.g. "DeOldify · rf 16 · 4 passes · colour ×1.5 · 1.10 s"."""
    m = METHODS[key]
    settings = m.describe(options)
    return f"{m.name} · {settings + ' · ' if settings else ''}{seconds:.2f} s"


def warm_up() -> list[Cell]:
    """Run every method once on a tiny photo, so that the first visitor does not wait for the
    networks to load and for their first forward pass (about 2 s on this project's CPU).
    Returns the cells; a method that cannot run says why in its cell's `error`."""
    y, x = np.mgrid[0:32, 0:32]
    gray = np.repeat(((x + y) * 4).astype(np.uint8)[..., None], 3, axis=2)
    reference = np.stack([x * 8, y * 8, 255 - x * 8], -1).astype(np.uint8)
    *_, last = run_all(gray, reference)
    return last


def _failed(key: str, message: str, tile: tuple[int, int]) -> Cell:
    name = METHODS[key].name
    return Cell(key, placeholder(f"{name}: {message}", tile), f"{name} · {message}", error=message)


def _tile_size(rgb: np.ndarray) -> tuple[int, int]:
    """Placeholder size with the photo's aspect ratio, 256 px on the long side."""
    h, w = rgb.shape[:2]
    s = 256 / max(h, w)
    return max(64, round(w * s)), max(64, round(h * s))
