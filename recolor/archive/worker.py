"""The work itself, the same in every engine: a job (one input file and its methods) -> PNGs
in the output folder, written with the provenance chunk, and one result per method."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..api import colorize
from ..errors import RecolorError
from ..images import load_image
from ..provenance import save_png
from ..registry import METHODS


def _reason(e: Exception) -> str:
    if isinstance(e, (RecolorError, ValueError)):
        return str(e)
    return f"internal error: {type(e).__name__}: {e}"  # a bug must not sink the other files


class Colorizer:
    """Holds what every job shares: the reference and the loaded methods (a Ray actor builds
    one and keeps it, so each network loads once per actor)."""

    def __init__(self, out_dir: str, reference: str | None = None, methods: tuple[str, ...] = ()):
        self.out_dir = Path(out_dir)
        self.reference: Any = "auto" if reference in (None, "auto") else \
            load_image(reference, "reference")
        self.pid = os.getpid()
        for key in methods:
            self._warm(key)

    def _warm(self, key: str) -> None:
        """Run `key` once on a tiny photo: loads its network (or the reference bank) now.
        A method that cannot run fails its jobs later, each with the reason."""
        y, x = np.mgrid[0:32, 0:32]
        gray = np.repeat(((x + y) * 4).astype(np.uint8)[..., None], 3, axis=2)
        try:
            colorize(gray, key, reference=self.reference)
        except Exception:  # noqa: BLE001,S110 - reported per job instead
            pass

    def __call__(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        """One result per task: {path, method, status, error, output, worker_pid, seconds}."""
        t0 = time.perf_counter()
        name = Path(job["path"]).name
        try:
            rgb, error = load_image(job["path"], name), None
        except Exception as e:  # noqa: BLE001
            rgb, error = None, _reason(e)
        load_s = time.perf_counter() - t0
        results = []
        for task in job["tasks"]:
            t1 = time.perf_counter()
            err = error if rgb is None else self._one(rgb, name, task)
            results.append({"path": job["path"], "method": task["method"],
                            "status": "failed" if err else "done", "error": err,
                            "output": None if err else task["output"], "worker_pid": self.pid,
                            "seconds": load_s / len(job["tasks"]) + time.perf_counter() - t1})
        return results

    def _one(self, rgb: np.ndarray, name: str, task: dict[str, Any]) -> str | None:
        """Colorize and write one output; None, or why it failed."""
        key = task["method"]
        kwargs = {k: v for k, v in task["options"].items() if k != "reference"}
        try:
            out = colorize(rgb, key, reference=self.reference, **kwargs)
            final = self.out_dir / task["output"]
            tmp = final.with_name(f".{final.name}.{self.pid}.tmp")
            save_png(out, tmp, key, task["options"])
            os.replace(tmp, final)  # a killed worker never leaves half a PNG under the name
        except Exception as e:  # noqa: BLE001
            return f"{name}: {METHODS[key].name}: {_reason(e)}"
        return None
