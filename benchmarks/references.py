"""Latency of the reference picker (`recolor.references.pick_reference`) on the installed bank:
median milliseconds over N runs per input size, for the descriptor alone, the ranking
(`top_references`) and the whole pick (including reading the chosen JPEG).

    python benchmarks/references.py [--sizes 512x512 1024x768 ...] [--repeats 30]

The index is loaded once before timing, as in the app.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from recolor import references  # noqa: E402
from recolor.color import gray_to_rgb, luma  # noqa: E402

PHOTO = Path(__file__).resolve().parents[1] / "examples" / "03_landscape.jpg"


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["512x512", "256x256", "1024x768", "2048x1536",
                                                   "8x8", "1x500"])
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    bank = references.load_bank()
    photo = Image.open(PHOTO).convert("RGB")
    print(f"bank: {len(bank.files)} photos in {bank.folder}; median of {args.repeats} runs\n")
    print("| input (W x H) | descriptor ms | top_references(k=6) ms | pick_reference ms |")
    print("|---|---|---|---|")
    for size in args.sizes:
        w, h = map(int, size.split("x"))
        gray = gray_to_rgb(luma(np.asarray(photo.resize((w, h)))))
        cells = [median_ms(lambda: references.describe(gray), args.repeats),
                 median_ms(lambda: references.top_references(gray, 6), args.repeats),
                 median_ms(lambda: references.pick_reference(gray), args.repeats)]
        print(f"| {w} x {h} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
