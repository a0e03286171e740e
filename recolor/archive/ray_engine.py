"""The Ray engine: Ray Data streams the jobs through a pool of actors, each of which builds
one `Colorizer` (so each method loads once per actor); results stream back to the driver,
which alone writes the manifest.

Embedded (no address): `ray.init` on this machine with every Ray process bound to 127.0.0.1.
With an address: an existing cluster, whose nodes must see the input and output folders at the
same paths (a shared file system) and have recolor installed.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
from typing import Any, Iterator

import numpy as np

from .worker import Colorizer

# Read by ray when it is imported: "0" makes a node started here take 127.0.0.1 as its address
# (not the machine's network address), so every server it starts binds the loopback only.
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

MAX_BLOCKS = 10_000   # one job per block up to this many jobs: a result returns as soon as its
                      # job is done; beyond it, jobs share blocks (fewer objects to track)
OBJECT_STORE = 200 * 2**20  # embedded: jobs and results are short JSON strings


def _actor(worker: dict[str, Any]) -> type:
    """A Ray Data map_batches class: batch {"job": JSON strings} -> {"result": JSON strings}.
    The worker arguments are part of the class, not constructor arguments, so an actor that
    dies is restarted from the class alone."""

    class Colorize:
        def __init__(self):
            self.colorizer = Colorizer(**worker)

        def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            out = [json.dumps(self.colorizer(json.loads(j))) for j in batch["job"]]
            return {"result": np.array(out, dtype=object)}

    return Colorize


def _import_ray(address: str | None):
    """ray, imported after the loopback setting for an embedded run (an --address run keeps
    the machine's address: the cluster's other nodes must reach this driver)."""
    if not address:
        os.environ.setdefault(LOOPBACK_ENV, "0")
        if not {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"} & set(os.environ):
            # token auth with a token of this run's own (inherited by the processes it
            # starts), rather than ray's default of one saved in ~/.ray
            os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    import ray  # noqa: PLC0415
    import ray.data  # noqa: PLC0415,F401
    return ray


def _connect(ray, address: str | None, workers: int | None) -> int:
    """ray.init, embedded or onto `address`; returns the actor count to use."""
    quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # its plans and notes: our bar says it
    if address:
        ray.init(address=address, **quiet)
        return workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    n = workers or os.cpu_count() or 1
    ray.init(num_cpus=n, include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=OBJECT_STORE, **quiet)
    return n


def run(jobs: list[dict[str, Any]], worker: dict[str, Any], workers: int | None = None,
        address: str | None = None) -> Iterator[list[dict[str, Any]]]:
    """Yield each job's results as it arrives; shuts Ray down (or disconnects) at the end,
    on Ctrl-C too."""
    if not jobs:
        return
    ray = _import_ray(address)
    try:
        n = _connect(ray, address, workers)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the command draws its own
        items = [{"job": json.dumps(j)} for j in jobs]
        ds = ray.data.from_items(items, override_num_blocks=min(len(items), MAX_BLOCKS))
        # one CPU per actor: Ray sets OMP_NUM_THREADS=1 in it, so torch and BLAS use one
        # thread each (no spinning threads fighting over a core)
        ds = ds.map_batches(_actor(worker), batch_size=1, batch_format="numpy", num_cpus=1,
                            compute=ray.data.ActorPoolStrategy(size=n))
        for row in ds.iter_rows():
            yield json.loads(row["result"])
    finally:
        ray.shutdown()
