"""Video flicker and speed: a B/W 'camera pan' clip made from colour photos is colorized frame by
frame with each method (`recolor.video.colorize_video`); the table gives the output's flicker
(mean frame-to-frame chroma change in CIE Lab) next to the colour original's, which is what a
perfectly stable colorization of the pan would show, and the seconds per frame.

    python benchmarks/video.py [--methods deoldify pix2pix lab_mean] [--frames 48] [--side 320]
    python benchmarks/video.py --methods deoldify --threads 1 --workers 2   # frames in parallel
    python benchmarks/video.py --methods deoldify --passes 1 2 4   # flicker against time
    python benchmarks/video.py --example --passes 1 2 4 --workers 2   # the app's example clip

The clips are made from the examples' colour reference photos (from ../shared/data/val).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from recolor import METHODS, color, colorize  # noqa: E402
from recolor.color import gray_to_rgb, luma  # noqa: E402
from recolor.video import (VIDEO_PASSES, chroma_flicker, colorize_video, open_writer,  # noqa: E402
                           read_frames)


def pan(photo: Path, frames: int, side: int) -> list[np.ndarray]:
    """A horizontal pan over the photo, 2 px a frame: frames of side x (3/4 side)."""
    h, need = side * 3 // 4, side + 2 * (frames - 1)
    im = Image.open(photo).convert("RGB")
    scale = max(h / im.height, need / im.width)
    im = im.resize((max(need, round(im.width * scale)), max(h, round(im.height * scale))),
                   Image.BICUBIC)
    top = (im.height - h) // 2
    a = np.asarray(im)[top:top + h]
    return [a[:, 2 * i:2 * i + side].copy() for i in range(frames)]


def write(path: Path, frames: list[np.ndarray], fps: int = 24, quality: int = 9) -> None:
    h, w = frames[0].shape[:2]
    wr = open_writer(path, (w, h), fps, quality)
    for f in frames:
        wr.send(np.ascontiguousarray(f))
    wr.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", default=["deoldify", "pix2pix", "lab_mean"],
                   choices=list(METHODS))
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--side", type=int, default=320)
    p.add_argument("--clips", type=int, default=3, help="examples used (one clip each)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workers", type=int, default=1, help="frames colorized at once")
    p.add_argument("--passes", type=int, nargs="+", default=[0],
                   help="the networks' passes, one row each (0: the video default, "
                        "recolor.video.VIDEO_PASSES)")
    p.add_argument("--example", action="store_true",
                   help="time examples/03_landscape_pan.mp4 (the app's example) instead")
    args = p.parse_args()
    if args.example:
        return example(args)
    torch.set_num_threads(args.threads)
    warm_up(args.methods)
    photos = sorted((ROOT / "examples").glob("*_ref.jpg"))[:args.clips]
    runs = [(m, n) for m in args.methods for n in (args.passes if _has_passes(m) else [0])]
    rows: dict[tuple[str, int], list[tuple[float, float]]] = {r: [] for r in runs}
    truth, gray_f = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for photo in photos:
            colour = pan(photo, args.frames, args.side)
            gray = [gray_to_rgb(luma(f)) for f in colour]
            src = Path(tmp) / f"{photo.stem}.mp4"
            write(src, gray)
            truth.append(chroma_flicker(colour))
            gray_f.append(chroma_flicker(list(read_frames(src))))
            for m, n in runs:
                t = time.perf_counter()
                r = colorize_video(src, Path(tmp) / f"{photo.stem}_{m}.mp4", m,
                                   workers=args.workers, **_passes(m, n))
                rows[m, n].append((r.flicker_out, (time.perf_counter() - t) / r.frames))
    print(f"{len(photos)} clips x {args.frames} frames, {args.side}x{args.side * 3 // 4}, "
          f"torch threads {args.threads}, frames at once {args.workers}, load average "
          f"{os.getloadavg()[0]:.1f}\n")
    print("| clip source | passes | flicker (chroma change / frame) | ratio to the colour original "
          "| s / frame |")
    print("|---|---|---|---|---|")
    t = float(np.mean(truth))
    print(f"| colour original (truth) | | {t:.3f} | 1.00 | |")
    print(f"| gray input | | {np.mean(gray_f):.3f} | {np.mean(gray_f) / t:.2f} | |")
    for (m, n), vals in rows.items():
        f = float(np.mean([v[0] for v in vals]))
        print(f"| {METHODS[m].name} | {_label(m, n)} | {f:.3f} | {f / t:.2f} | "
              f"{np.mean([v[1] for v in vals]):.3f} |")
    return 0


def warm_up(methods: list[str]) -> None:
    """Load each method's model (and the reference bank) before anything is timed."""
    y, x = np.mgrid[0:48, 0:64]
    frame = gray_to_rgb(((x + y) * 2).astype(np.uint8))
    for m in methods:
        colorize(frame, m)


def _has_passes(method: str) -> bool:
    return any(o.name == "passes" for o in METHODS[method].options)


def _passes(method: str, n: int) -> dict:
    return {"passes": n} if n and _has_passes(method) else {}


def _label(method: str, n: int) -> str:
    if not _has_passes(method):
        return ""
    return str(n) if n else f"{VIDEO_PASSES} (video default)"


def example(args: argparse.Namespace) -> int:
    """The app's Video tab on its example clip: first as before (4 passes, the photo default,
    and the torch colour conversions), then for each --passes with the fast conversions:
    seconds, frames a second, and the speed against the first row."""
    clip = ROOT / "examples" / "03_landscape_pan.mp4"
    print(f"{clip.name}, torch threads {args.threads}, frames at once {args.workers}, load "
          f"average {os.getloadavg()[0]:.1f}\n")
    print("| method | passes | colour conversions | frames | seconds | frames / s | speed vs "
          "before | flicker |")
    print("|---|---|---|---|---|---|---|---|")
    for m in args.methods:
        before = None
        plan = [(4, False)] + [(n, True) for n in sorted(set(args.passes), reverse=True)]
        for n, fast in plan if _has_passes(m) else [(0, False), (0, True)]:
            color.USE_OPENCV = fast  # the first row: as before (torch conversions, 4 passes)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    t = time.perf_counter()
                    r = colorize_video(clip, Path(tmp) / "out.mp4", m, workers=args.workers,
                                       **_passes(m, n))
                    secs = time.perf_counter() - t
            finally:
                color.USE_OPENCV = True
            fps = r.frames / secs
            before = before or fps
            print(f"| {METHODS[m].name} | {_label(m, n)} | {'OpenCV' if fast else 'torch'} | "
                  f"{r.frames} | {secs:.1f} | {fps:.2f} | {fps / before:.1f}x | "
                  f"{r.flicker_out:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
