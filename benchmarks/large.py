"""How each method's cost grows with the photo's pixels: `recolor.colorize` on a gray photo at
0.25, 1, 4 and 16 MP, on one thread, with the CPU fast paths (OpenCV, lookup tables) and, in the
same run, the torch path they replaced (`recolor.color.USE_OPENCV = False`).

    python benchmarks/large.py                      # all sizes, both paths, every method
    python benchmarks/large.py --sides 4000 --new-only

Wall seconds are shown next to this thread's CPU seconds (time.thread_time): on a shared,
loaded machine the CPU seconds are what the work costs, the wall seconds what it waited.
"PSNR old/new" is between the two paths' outputs (dB; inf: identical). Targets for 16 MP:
a transfer <= 1 s; a network <= its 512^2 time + 1 s.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from recolor import METHODS, colorize, color  # noqa: E402

NETWORKS = ("pix2pix", "deoldify")


def photo(side: int) -> tuple[np.ndarray, np.ndarray]:
    """A real gray photo upscaled to side x side (three equal channels), and its reference."""
    g = Image.open(ROOT / "examples" / "01_people.jpg").convert("L").resize((side, side),
                                                                             Image.BICUBIC)
    ref = np.asarray(Image.open(ROOT / "examples" / "01_people_ref.jpg").convert("RGB"))
    return color.gray_to_rgb(np.asarray(g)), ref


def timed(rgb: np.ndarray, method: str, ref: np.ndarray, fast: bool) -> tuple[np.ndarray, float, float]:
    color.USE_OPENCV = fast
    try:
        wall, cpu = time.perf_counter(), time.thread_time()
        out = colorize(rgb, method, reference=ref)
        return out, time.perf_counter() - wall, time.thread_time() - cpu
    finally:
        color.USE_OPENCV = True


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sides", type=int, nargs="+", default=[512, 1024, 2048, 4000])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--new-only", action="store_true", help="skip the old (torch) path")
    args = p.parse_args()
    torch.set_num_threads(1)
    color.cv2.setNumThreads(1)
    print(f"load average {os.getloadavg()[0]:.1f} at start; one thread (torch and OpenCV)\n")
    print("| MP | method | new s (CPU s) | old s (CPU s) | old / new (CPU) | PSNR old/new |")
    print("|---|---|---|---|---|---|")
    base: dict[str, float] = {}
    for side in args.sides:
        rgb, ref = photo(side)
        for m in args.methods:
            colorize(rgb[:64, :64], m, reference=ref)  # models loaded, first call done
            new, wall, cpu = timed(rgb, m, ref, True)
            if side == 512:
                base[m] = cpu
            row = f"| {side * side / 1e6:.2f} | {METHODS[m].name} | {wall:.2f} ({cpu:.2f}) |"
            if args.new_only:
                print(row + " | | |", flush=True)
                continue
            old, owall, ocpu = timed(rgb, m, ref, False)
            print(f"{row} {owall:.2f} ({ocpu:.2f}) | {ocpu / cpu:.1f}x | {psnr(old, new):.1f} |",
                  flush=True)
            if side >= 4000:
                limit = 1.0 if m not in NETWORKS else base.get(m, float("nan")) + 1.0
                print(f"|  | target for {METHODS[m].name}: CPU s <= {limit:.2f}: "
                      f"{'met' if cpu <= limit else 'NOT met'} | | | | |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
