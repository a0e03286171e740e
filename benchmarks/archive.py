"""Archive throughput: `python -m recolor colorize` on a folder of photos with the local engine
and with Ray (embedded on this machine, 1 and 2 actors), for DeOldify and the PDF transfer;
Ray's overhead per task; and the manifest's commit rate (the driver's own ceiling).

    python benchmarks/archive.py [--photos 40] [--side 512] [--methods deoldify pdf]

Photos: the first --photos of ../shared/data/val, made gray and --side px on the long side.
Each run is the real command in a fresh process with a fresh output folder:
  wall img/s    images / the command's whole wall time (start-up, Ray, model loading included)
  s/img worker  the mean seconds a worker spent on one image (read, colorize, write the PNG)
  worker img/s  processes / s/img worker: the rate once running, which a long run approaches
  x local       a rate over the local engine's, same method, same run of this script
(Results reach the driver in bursts as Ray Data hands over blocks, so the gaps between the
manifest's timestamps do not measure the rate; the workers' own seconds do.)
Every process runs torch and BLAS on one thread (OMP_NUM_THREADS=1, as Ray gives each
one-CPU actor), so the engines differ only in how many processes work and what Ray adds.
Overhead per task: 200 tiny photos (16x16, Lab mean transfer, a 16x16 reference) through the
local engine and through Ray with 1 actor; the difference of their seconds per result (last
result - first result, over 199: a long burst-free stretch at this size) is what Ray adds to
each task (scheduling, moving the job and its result, the block bookkeeping).
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from recolor.archive.manifest import Manifest, Row  # noqa: E402

VAL = ROOT.parent / "shared" / "data" / "val"
REFERENCE = ROOT / "examples" / "03_landscape_ref.jpg"
ENGINES = [("local", [], 1), ("ray, 1 worker", ["--engine", "ray", "--workers", "1"], 1),
           ("ray, 2 workers", ["--engine", "ray", "--workers", "2"], 2)]


def photos(folder: Path, n: int, side: int) -> Path:
    """The first n val photos as gray JPEGs, `side` px on the long side, in `folder`."""
    folder.mkdir(parents=True)
    for f in sorted(VAL.glob("*.jpg"))[:n]:
        im = Image.open(f).convert("L")
        s = side / max(im.size)
        im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS).save(
            folder / f.name, quality=90)
    return folder


def tiny(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (16, 16), np.uint8)).save(folder / f"t{i:03d}.png")
    return folder


def run(inputs: Path, out: Path, method: str, reference: Path, extra: list[str]) -> dict:
    """One command; its wall time and the manifest's figures."""
    cmd = [sys.executable, "-m", "recolor", "colorize", str(inputs), "--out", str(out),
           "--method", method, "--reference", str(reference), *extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    db = sqlite3.connect(out / "manifest.sqlite")
    done = db.execute("SELECT finished, seconds FROM files WHERE status = 'done' "
                      "ORDER BY finished").fetchall()
    db.close()
    first, last = done[0][0], done[-1][0]
    return {"n": len(done), "wall": wall, "interval": (last - first) / max(1, len(done) - 1),
            "busy": float(np.mean([s for _, s in done]))}


def commit_rate(folder: Path, n: int = 2000) -> float:
    """Manifest records per second (one commit each), as the driver writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    m = Manifest(folder)
    t0 = time.perf_counter()
    for i in range(n):
        m.record(Row(f"/x/{i}.jpg", "pdf", "done", None, f"{i}.png", 1, "0" * 64, "{}", 0.5,
                     1, 1, None))
    m.close()
    return n / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--methods", nargs="+", default=["deoldify", "pdf"])
    args = ap.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["OMP_NUM_THREADS"] = "1"  # the local engine too (see the docstring)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = photos(tmp / "in", args.photos, args.side)
        print(f"{args.photos} photos from {VAL}, gray, {args.side} px long side; "
              f"{os.cpu_count()} CPUs, one thread per process; load average before: {os.getloadavg()[0]:.1f}\n")
        print("| method | engine | images | wall s | wall img/s | x local | s/img worker | "
              "worker img/s | x local |")
        print("|---|---|---|---|---|---|---|---|---|")
        for method in args.methods:
            base = None
            for i, (name, extra, procs) in enumerate(ENGINES):
                r = run(folder, tmp / f"{method}-{i}", method, REFERENCE, extra)
                wall, rate = r["n"] / r["wall"], procs / r["busy"]
                base = base or (wall, rate)
                print(f"| {method} | {name} | {r['n']} | {r['wall']:.1f} | {wall:.2f} | "
                      f"{wall / base[0]:.2f} | {r['busy']:.3f} | {rate:.2f} | "
                      f"{rate / base[1]:.2f} |", flush=True)
        small = tiny(tmp / "tiny", 200)
        ref = small / "t000.png"
        loc = run(small, tmp / "tiny-local", "lab_mean", ref, [])
        ray1 = run(small, tmp / "tiny-ray", "lab_mean", ref, ENGINES[1][1])
        print(f"\nper task, 200 tiny photos: local {loc['interval'] * 1e3:.1f} ms, "
              f"ray (1 worker) {ray1['interval'] * 1e3:.1f} ms; Ray's overhead per task "
              f"{(ray1['interval'] - loc['interval']) * 1e3:.1f} ms")
        print(f"manifest: {commit_rate(tmp / 'commits'):.0f} records/s (one commit each)")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
