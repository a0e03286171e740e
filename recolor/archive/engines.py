"""Where the workers run. Each engine takes the jobs and the `Colorizer` arguments and yields
each job's results (a list, one per method) as soon as that job is finished, in any order."""
from __future__ import annotations

import importlib.util
from typing import Any, Iterable, Iterator

from .worker import Colorizer

ENGINES = ("local", "ray")
RAY_INSTALL = 'Ray is not installed: pip install "recolor[ray]" (or pip install "ray[data]")'


class EngineUnavailable(RuntimeError):
    """The engine's package is missing; the message says how to install it (one line)."""


def local(jobs: Iterable[dict[str, Any]], worker: dict[str, Any], **_: Any
          ) -> Iterator[list[dict[str, Any]]]:
    """In this process, one job after another (the command's behaviour before engines)."""
    colorizer = Colorizer(**worker)
    for job in jobs:
        yield colorizer(job)


def get(name: str):
    """The engine function called `name` (the ray one needs `ray[data]`)."""
    if name == "local":
        return local
    if name == "ray":
        # found, not imported: ray reads its settings from the environment when imported
        if any(importlib.util.find_spec(m) is None for m in ("ray", "pyarrow")):
            raise EngineUnavailable(RAY_INSTALL)
        from . import ray_engine  # noqa: PLC0415 - ray is optional
        return ray_engine.run
    raise ValueError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
