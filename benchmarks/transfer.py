"""Our three transfers vs the reference implementation (PyPI `python-color-transfer`), same
inputs, one run: median seconds, speed ratio, and the mean CIEDE2000 between the two outputs.

    python benchmarks/transfer.py [--sizes 512 1024] [--repeats 3]

The reference works on BGR uint8 and has no luminance option; ours runs with
keep_luminance=False and, for PDF, its six optimised rotations (iterations=6) and regrain,
which is what the reference does. Quality: "dist" is each output's sliced Wasserstein distance
to the reference photo's colour distribution (recolor.metrics.sliced_distance; lower = the
transfer matched it better); "dE2000 ours-ref." how far the two outputs are from each other.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from recolor import transfer  # noqa: E402
from recolor.metrics import sliced_distance  # noqa: E402
from recolor.color import gray_to_rgb, luma  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_pair(size: int, gray: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A photo (colour, or its BT.601 grayscale as three channels) and a different colour
    reference, both resized to size x size."""
    a = np.asarray(Image.open(EXAMPLES / "03_landscape_ref.jpg").convert("RGB").resize((size, size)))
    b = Image.open(EXAMPLES / "01_people_ref.jpg").convert("RGB").resize((size, size))
    if gray:
        a = gray_to_rgb(luma(a))
    return a, np.asarray(b)


def cv2_lab(bgr: np.ndarray) -> np.ndarray:
    import cv2  # noqa: PLC0415 - the reference's own Lab conversion
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB).astype(np.float64)


def median_time(fn, repeats: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    from python_color_transfer.color_transfer import ColorTransfer

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for ours (the reference's NumPy code runs on one core)")
    p.add_argument("--inputs", nargs="+", default=["gray", "colour"], choices=["gray", "colour"],
                   help="gray: a B/W photo, the app's case; colour: a colour photo, the paper's")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    ref_impl = ColorTransfer()
    bgr = lambda x: np.ascontiguousarray(x[..., ::-1])  # noqa: E731
    cases = [
        ("mean_std", lambda s, r: transfer.mean_std(s, r, keep_luminance=False),
         lambda s, r: bgr(ref_impl.mean_std_transfer(bgr(s).astype(np.float32), bgr(r).astype(np.float32)))),
        ("lab_mean", lambda s, r: transfer.lab_mean(s, r, keep_luminance=False),
         lambda s, r: bgr(ref_impl.lab_transfer(bgr(s), bgr(r)))),
        ("pdf+regrain", lambda s, r: transfer.pdf(s, r, iterations=6, regrain=True, keep_luminance=False),
         lambda s, r: bgr(ref_impl.pdf_transfer(bgr(s), bgr(r), regrain=True))),
    ]
    print(f"{'method':<12} {'input':<7} {'size':>6} {'ours s':>9} {'reference s':>12} {'speed-up':>9} "
          f"{'dE2000 ours-ref.':>16} {'dist ours':>9} {'dist ref.':>9} {'ref. 0/0':>8}")
    for size, kind in [(s, k) for s in args.sizes for k in args.inputs]:
        src, ref = load_pair(size, gray=kind == "gray")
        for name, ours, theirs in cases:
            ours(src, ref)  # warm-up
            t_ours, out_ours = median_time(lambda: ours(src, ref), args.repeats)
            with np.errstate(all="ignore"):
                t_ref, out_ref = median_time(lambda: theirs(src, ref), args.repeats)
            # the reference's lab_transfer divides by each Lab channel's spread: 0/0 on gray
            nan = name == "lab_mean" and bool((cv2_lab(bgr(src)).std(axis=(0, 1)) == 0).any())
            de = deltaE_ciede2000(rgb2lab(out_ours), rgb2lab(out_ref)).mean()
            print(f"{name:<12} {kind:<7} {size:>4}^2 {t_ours:>9.3f} {t_ref:>12.3f} {t_ref / t_ours:>8.1f}x "
                  f"{de:>16.2f} {sliced_distance(out_ours, ref):>9.1f} {sliced_distance(out_ref, ref):>9.1f} "
                  f"{'yes' if nan else 'no':>8}", flush=True)


if __name__ == "__main__":
    main()
