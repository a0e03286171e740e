"""The two networks through each inference runtime, in one run: whole `recolor.colorize` on a
gray photo with the shipped defaults, per network, photo size and thread count.

    python benchmarks/runtime.py [--sizes 256 512 1024] [--threads 1 2] [--repeats 5]

Runtimes (`recolor.runtime`): torch (`RECOLOR_RUNTIME=torch`), ONNX Runtime (fp32), OpenVINO
(the default: bf16 where the CPU has it, the encoder's stem in f32) and OpenVINO forced to f32
(`RECOLOR_PRECISION=f32`). Each is loaded as the app loads it (`recolor.learned`, exports from
the cache), warmed up once per size, then the runtimes take turns call by call, so that a
shared machine's load falls on all of them alike; the table gives the median seconds, the
speed-up over torch, and the PSNR (dB) of each output against torch's. The photo is the first
example's BT.601 luma, resized to a square of each size.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (label, RECOLOR_RUNTIME, RECOLOR_PRECISION)
CONFIGS = [("torch", "torch", ""), ("ONNX Runtime", "onnxruntime", ""),
           ("OpenVINO", "openvino", ""), ("OpenVINO f32", "openvino", "f32"),
           ("OpenVINO int8", "openvino", "int8")]
NETWORKS = ("deoldify", "pix2pix")


def photo(side: int) -> np.ndarray:
    from recolor.color import gray_to_rgb, luma
    from recolor.images import load_image
    rgb = load_image(ROOT / "examples" / "01_people.jpg", "photo")
    gray = Image.fromarray(luma(rgb)).resize((side, side), Image.BILINEAR)
    return gray_to_rgb(np.asarray(gray))


def load_all(threads: int) -> dict[str, dict]:
    """Each config's loaded networks (`learned._models` as the app would hold them)."""
    import torch

    from recolor import colorize, learned
    torch.set_num_threads(threads)
    loaded = {}
    for label, runtime, precision in CONFIGS:
        os.environ["RECOLOR_RUNTIME"], os.environ["RECOLOR_PRECISION"] = runtime, precision
        learned._models = {}
        for net in NETWORKS:
            colorize(photo(64), net)  # loads (exports on a cold cache)
            model = learned._models[net]
            got = getattr(model, "runtime", "torch")
            if got != runtime:
                raise SystemExit(f"{label}: {net} runs in {got}, not {runtime}")
        loaded[label] = dict(learned._models)
    return loaded


def measure(loaded: dict[str, dict], net: str, side: int, repeats: int) -> dict[str, tuple]:
    """label -> (median seconds, output) for one network and photo size, runtimes in turn."""
    from recolor import colorize, learned
    gray = photo(side)
    outs, times = {}, {label: [] for label in loaded}
    for label, models in loaded.items():  # warm-up: compiles this input shape
        learned._models = models
        outs[label] = colorize(gray, net)
    for _ in range(repeats):
        for label, models in loaded.items():
            learned._models = models
            time.sleep(0.05)  # lets the previous runtime's threads stop spinning
            t = time.perf_counter()
            colorize(gray, net)
            times[label].append(time.perf_counter() - t)
    return {label: (statistics.median(times[label]), outs[label]) for label in loaded}


def row(net: str, threads: int, side: int, res: dict[str, tuple]) -> str:
    from recolor.metrics import psnr
    base, ref = res["torch"]
    cells = [net, str(threads), f"{side}²", f"{base:.3f}"]
    for label, *_ in CONFIGS[1:]:
        sec, out = res[label]
        cells.append(f"{sec:.3f} (**{base / sec:.2f}x**, {psnr(out, ref):.1f} dB)")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import openvino
    import onnxruntime
    import torch
    print(f"# {platform.processor() or platform.machine()}, load average "
          f"{os.getloadavg()[0]:.1f} at start; torch {torch.__version__}, onnxruntime "
          f"{onnxruntime.__version__}, openvino {openvino.__version__.split('-')[0]}")
    print("| network | threads | photo | torch s | " + " | ".join(
        f"{label} s (speed-up, PSNR vs torch)" for label, *_ in CONFIGS[1:]) + " |")
    print("|---" * (4 + len(CONFIGS) - 1) + "|")
    for threads in args.threads:
        loaded = load_all(threads)
        for net in NETWORKS:
            for side in args.sizes:
                print(row(net, threads, side, measure(loaded, net, side, args.repeats)),
                      flush=True)
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
