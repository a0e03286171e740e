"""Our DeOldify generator vs the oracle (PyPI `deoldify` 0.0.1, fastai v1) on identical random
weights: median forward time at each size, speed ratio, max |difference| of the outputs.

"ours" runs as the app does (spectral norm folded, BN fused, Winograd 3x3 convs via NNPACK,
inference_mode); "ours-direct" the same with oneDNN's direct convs in channels_last (closest to
upstream's arithmetic); the oracle as upstream runs it (no_grad, eval, NCHW, spectral-norm hooks).

    python benchmarks/deoldify.py [--arch artistic|stable] [--sizes 256 560] [--repeats 3]

Needs the oracle: pip install --no-deps deoldify==0.0.1 && pip install -r requirements-oracle.txt
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import nn

# This file is named like the oracle package: keep its folder off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))
from recolor.models.deoldify import load_generator  # noqa: E402


def oracle_generator(arch: str) -> nn.Module:
    """Upstream's generator with random weights, calibrated so activations stay realistic."""
    env, root = os.environ.get("CUDA_VISIBLE_DEVICES"), logging.getLogger()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from deoldify.unet import DynamicUnetDeep, DynamicUnetWide
        from fastai.layers import NormType
        from fastai.vision import models
        from fastai.vision.learner import create_body
    if env is None:  # deoldify hides CUDA and turns on INFO logging at import
        os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    root.setLevel(logging.WARNING)
    kw = dict(n_classes=3, blur=True, blur_final=True, self_attention=True, y_range=(-3.0, 3.0),
              norm_type=NormType.Spectral, last_cross=True, bottle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if arch == "artistic":
            m = DynamicUnetDeep(create_body(models.resnet34, pretrained=False), nf_factor=1.5, **kw)
        else:
            m = DynamicUnetWide(create_body(models.resnet101, pretrained=False), nf_factor=2, **kw)
    bns = [b for b in m.modules() if isinstance(b, nn.BatchNorm2d)]
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("gamma"):
                p.fill_(0.5)
        for b in bns:
            b.reset_running_stats()
            b.momentum = None
        m.train()
        for _ in range(3):  # converge spectral norm's power iteration, set BN statistics
            m(torch.randn(2, 3, 64, 64))
        for b in bns:
            b.momentum = 0.1
            b.running_var.clamp_(min=0.25)
    return m.eval()


def _time(fn, x: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """Wall-clock and process CPU seconds of ``fn(x)`` (CPU time ignores time spent descheduled
    on a shared machine; with --threads 1 it is the cleanest measure of work)."""
    t, c = time.perf_counter(), time.process_time()
    y = fn(x)
    return time.perf_counter() - t, time.process_time() - c, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="artistic", choices=["artistic", "stable"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 560])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    oracle = oracle_generator(args.arch)
    variants = {"ours": load_generator(oracle.state_dict(), args.arch),
                "ours-direct": load_generator(oracle.state_dict(), args.arch, winograd=False)}

    def run_oracle(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return oracle(x)

    def runner(model: nn.Module):
        def run(x: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return model(x)
        return run

    print(f"DeOldify {args.arch}, batch 1, {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}, median of {args.repeats} (after 1 warm-up), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'size':>6} | {'model':>11} | {'wall ms':>8} | {'speed-up':>8} | {'CPU ms':>8} | "
          f"{'speed-up':>8} | {'max |diff|':>10}")
    for s in args.sizes:
        x = torch.randn(1, 3, s, s)
        runs = {"oracle": run_oracle, **{k: runner(m) for k, m in variants.items()}}
        for fn in runs.values():
            fn(x)  # warm-up (oneDNN primitive creation)
        wall: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        diff = {k: 0.0 for k in runs}
        for _ in range(args.repeats):  # interleaved, so load changes hit all alike
            want = None
            for k, fn in runs.items():
                w, c, y = _time(fn, x)
                wall[k].append(w)
                cpu[k].append(c)
                want = y if want is None else want
                diff[k] = max(diff[k], (y - want).abs().max().item())
        w0, c0 = statistics.median(wall["oracle"]), statistics.median(cpu["oracle"])
        for k in runs:
            w, c = statistics.median(wall[k]), statistics.median(cpu[k])
            print(f"{s:>5}² | {k:>11} | {w * 1e3:>8.0f} | {w0 / w:>7.2f}x | {c * 1e3:>8.0f} | "
                  f"{c0 / c:>7.2f}x | {diff[k]:>10.2e}", flush=True)


if __name__ == "__main__":
    main()
