"""Run control shared by the trainers: the flags every training run has, and their set-up."""
from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from .data import CROPS


def add_run_arguments(p: argparse.ArgumentParser, ckpt_minutes: float) -> None:
    """Device, threads, data workers, checkpoint interval, time/step limits, logging, seed."""
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--workers", type=int, default=1, help="data loader processes")
    p.add_argument("--ckpt-minutes", type=float, default=ckpt_minutes, help="checkpoint interval")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop (and save) after this")
    p.add_argument("--max-steps", type=int, default=0, help="stop (and save) at this step")
    p.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    p.add_argument("--crop", choices=CROPS, default="random",
                   help="training inputs: random-resized crops, or whole photos stretched to "
                        "the --size square (as DeOldify's filter infers)")
    p.add_argument("--degrade", type=float, default=0.0, metavar="P",
                   help="probability that a training input is aged (recolor.degrade: blur, "
                        "fading, grain, dust, JPEG...) at a random strength; the target stays "
                        "the clean colour")
    p.add_argument("--log-every", type=int, default=20, help="steps per CSV loss row")
    p.add_argument("--seed", type=int, default=0)


def set_up(args: argparse.Namespace) -> None:
    """Apply --threads and seed torch and NumPy with --seed."""
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)


def one_thread(_: int) -> None:
    """DataLoader worker_init_fn: one torch thread per worker process."""
    torch.set_num_threads(1)


def write_config(out: Path, config: dict[str, Any], args: argparse.Namespace) -> None:
    """OUT/config.json: the model config and every flag of the run. Values JSON cannot hold
    (the CLI's handler function in the namespace) are written as their str()."""
    (out / "config.json").write_text(json.dumps({"config": config, "args": vars(args)},
                                                indent=2, default=str))


def open_log(path: Path, header: Sequence[str]) -> tuple[TextIO, Any]:
    """The run's CSV log opened for appending (a resumed run continues it), and its writer;
    the header row is written when the file is new."""
    new = not path.exists()
    f = open(path, "a", newline="")
    writer = csv.writer(f)
    if new:
        writer.writerow(header)
    return f, writer


class RunClock:
    """A run's training time summed over its resumes, its checkpoint interval
    (``--ckpt-minutes``) and its stop (``--max-minutes``, ``--max-steps``)."""

    def __init__(self, args: argparse.Namespace, seconds0: float = 0.0):
        self.args, self.seconds0 = args, seconds0
        self.t_run = self.t_ckpt = time.time()

    def seconds(self) -> float:
        """Training seconds so far, the earlier invocations of a resumed run included."""
        return self.seconds0 + time.time() - self.t_run

    def checkpoint_due(self) -> bool:
        """True once every ``--ckpt-minutes`` (the interval restarts then)."""
        if time.time() - self.t_ckpt > self.args.ckpt_minutes * 60:
            self.checkpointed()
            return True
        return False

    def checkpointed(self) -> None:
        """A checkpoint was just written (e.g. at an epoch's end): restart the interval."""
        self.t_ckpt = time.time()

    def must_stop(self, step: int) -> bool:
        """This invocation's ``--max-minutes`` or the run's ``--max-steps`` is reached."""
        a = self.args
        return bool((a.max_minutes and time.time() - self.t_run > a.max_minutes * 60)
                    or (a.max_steps and step >= a.max_steps))
