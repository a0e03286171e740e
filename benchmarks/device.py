"""Every method on the CPU and on the GPU, same inputs, one run: median seconds, the speed
ratio, and how far the two outputs are apart (uint8 levels). It checks that the app's
"GPU when present" path gives the CPU's pictures, and what it buys.

    python benchmarks/device.py [--repeats 3] [--methods deoldify pix2pix]

The two sides run in child processes, because `recolor.learned` picks its device at import:
one with CUDA hidden (CUDA_VISIBLE_DEVICES=""), one as the machine is. Inputs are the examples'
B/W photos (their BT.601 luma, as the app feeds a colour upload's gray version) with their
colour references. Without a GPU both sides are the CPU, and the table says so.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "examples"


def inputs() -> list[tuple[str, Path, Path]]:
    return [(p.stem, p, p.with_name(p.stem + "_ref.jpg"))
            for p in sorted(EXAMPLES.glob("0*.jpg")) if not p.stem.endswith("_ref")]


def child(out: Path, methods: list[str], repeats: int) -> None:
    """Colorize every example with every method here; save outputs and times to `out`."""
    import torch

    from recolor import colorize
    from recolor.color import gray_to_rgb, luma
    from recolor.images import load_image
    from recolor.learned import DEVICE

    def sync() -> None:
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()

    photos = [(name, gray_to_rgb(luma(load_image(photo, photo.name))), load_image(ref, ref.name))
              for name, photo, ref in inputs()]  # read once, for every method
    arrays, times = {}, {}
    for m in methods:
        times[m] = []
        for name, gray, refim in photos:
            run = lambda: colorize(gray, m, reference=refim)  # noqa: E731
            arrays[f"{m}/{name}"] = run()  # warm-up: loads the weights, allocates
            sec = []
            for _ in range(repeats):
                sync()
                t = time.perf_counter()
                run()
                sync()
                sec.append(time.perf_counter() - t)
            times[m].append(statistics.median(sec))
    np.savez_compressed(out, **{k.replace("/", "__"): v for k, v in arrays.items()})
    name = torch.cuda.get_device_name() if DEVICE.type == "cuda" else "cpu"
    out.with_suffix(".json").write_text(json.dumps({"device": name, "times": times}))


def run_side(tmp: Path, tag: str, env: dict[str, str], methods: list[str], repeats: int):
    out = tmp / f"{tag}.npz"
    subprocess.run([sys.executable, __file__, "--child", str(out), "--repeats", str(repeats),
                    "--methods", *methods], env=env, check=True)
    meta = json.loads(out.with_suffix(".json").read_text())
    with np.load(out) as z:
        return meta, {k.replace("__", "/"): z[k] for k in z.files}


def main() -> None:
    from recolor import METHODS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return child(a.child, a.methods, a.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        cpu_env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        cpu, cpu_out = run_side(Path(tmp), "cpu", cpu_env, a.methods, a.repeats)
        gpu, gpu_out = run_side(Path(tmp), "gpu", dict(os.environ), a.methods, a.repeats)
    n = len(inputs())
    print(f"{n} examples, median of {a.repeats}; side A: {cpu['device']} "
          f"({os.cpu_count()} cores), side B: {gpu['device']}\n")
    print("| method | A ms/photo | B ms/photo | speed-up | max diff | mean diff |")
    print("|---|---|---|---|---|---|")
    for m in a.methods:
        ta, tb = 1000 * np.mean(cpu["times"][m]), 1000 * np.mean(gpu["times"][m])
        diffs = [np.abs(cpu_out[k].astype(int) - gpu_out[k].astype(int))
                 for k in cpu_out if k.startswith(m + "/")]
        print(f"| {METHODS[m].name} | {ta:.0f} | {tb:.0f} | {ta / tb:.2f}x | "
              f"{max(int(d.max()) for d in diffs)} | {np.mean([d.mean() for d in diffs]):.3f} |")


if __name__ == "__main__":
    main()
