"""Run control shared by the trainers: the flags every training run has, and their set-up."""
from __future__ import annotations

import argparse

import numpy as np
import torch


def add_run_arguments(p: argparse.ArgumentParser, ckpt_minutes: float) -> None:
    """Device, threads, data workers, checkpoint interval, time/step limits, logging, seed."""
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--workers", type=int, default=1, help="data loader processes")
    p.add_argument("--ckpt-minutes", type=float, default=ckpt_minutes, help="checkpoint interval")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop (and save) after this")
    p.add_argument("--max-steps", type=int, default=0, help="stop (and save) at this step")
    p.add_argument("--limit", type=int, default=None, help="use only the first N photos")
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
