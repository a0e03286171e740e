"""DeOldify's render-factor sweep: one photo rendered at several render factors, side by side,
as upstream's notebooks show it, and the time it will take, estimated before it starts.

DeOldify resizes the photo to a (16 * render_factor)^2 square for the network, so a render's
time is about that many network pixels times a cost per pixel (its passes included). The cost
is measured once per process and per set of options on a tiny photo (the network's input size
does not depend on the photo's), and refined by every sweep that runs.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Iterator

import numpy as np

from .api import colorize

FACTORS = tuple(range(8, 33, 4))  # 8, 12, ..., 32: seven renders
# a 256 px network input: long enough to time, short enough to wait for; per pixel, smaller
# inputs run cheaper (fixed costs matter less than self-attention's), so a small one would
# underestimate the large factors
CALIBRATION_FACTOR = 16

_lock = threading.Lock()
_cost: dict[str, float] = {}  # options (as a key) -> seconds per network pixel


def network_pixels(render_factor: int) -> int:
    """Pixels of the square DeOldify's network sees at `render_factor`."""
    return (16 * int(render_factor)) ** 2


def _key(options: dict[str, Any]) -> str:
    return repr(sorted((k, v) for k, v in options.items() if k != "render_factor"))


def cost_per_pixel(options: dict[str, Any]) -> float:
    """Seconds per network pixel of one DeOldify render with `options` (all passes): timed
    once on a tiny photo at `CALIBRATION_FACTOR`, then reused (and replaced by what each
    sweep measures)."""
    key = _key(options)
    with _lock:
        if key in _cost:
            return _cost[key]
    y, x = np.mgrid[0:48, 0:64]
    tiny = np.repeat(((x + y) * 2).astype(np.uint8)[..., None], 3, axis=2)
    opts = {k: v for k, v in options.items() if k != "render_factor"}
    colorize(tiny, "deoldify", render_factor=8, **opts)  # loads the model, warms its first pass
    start = time.perf_counter()
    colorize(tiny, "deoldify", render_factor=CALIBRATION_FACTOR, **opts)
    cost = (time.perf_counter() - start) / network_pixels(CALIBRATION_FACTOR)
    with _lock:
        _cost.setdefault(key, cost)
        return _cost[key]


def estimate_seconds(options: dict[str, Any], factors: tuple[int, ...] = FACTORS) -> float:
    """The sweep's expected time: network pixels of every render times the measured cost."""
    c = cost_per_pixel(options)
    return c * sum(network_pixels(f) for f in factors)


def sweep(rgb: np.ndarray, options: dict[str, Any] | None = None,
          factors: tuple[int, ...] = FACTORS) -> Iterator[tuple[int, np.ndarray, float]]:
    """Render `rgb` with DeOldify at each of `factors` (the other options as given), one after
    the other; yield (render factor, uint8 RGB result, seconds) as each finishes. The measured
    times refine the cost per pixel used by the next estimate."""
    opts = {k: v for k, v in (options or {}).items() if k != "render_factor"}
    spent, pixels = 0.0, 0
    for f in factors:
        start = time.perf_counter()
        out = colorize(rgb, "deoldify", render_factor=int(f), **opts)
        secs = time.perf_counter() - start
        spent, pixels = spent + secs, pixels + network_pixels(f)
        yield int(f), out, secs
    with _lock:
        _cost[_key(opts)] = spent / max(pixels, 1)


def caption(render_factor: int, seconds: float) -> str:
    """A sweep image's label: its render factor, the network's input size and its time."""
    side = 16 * render_factor
    return f"render factor {render_factor} · {side}x{side} px · {seconds:.2f} s"
