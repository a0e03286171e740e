"""Colorize a video frame by frame (DeOldify by default), keeping its audio, and measure flicker.

    python -m recolor video IN.mp4 --out OUT.mp4 [--method deoldify] [--max-seconds 30]

Frames are decoded and encoded by the ffmpeg that ships in the ``imageio-ffmpeg`` wheel (no
system ffmpeg needed). A transfer method uses one reference for the whole clip (given, or picked
once from the first frame) so that colours do not jump between frames.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .api import AUTO, colorize
from .color import rgb_to_lab_t
from .errors import RecolorError
from .images import fit_within, load_image
from .registry import METHODS, get_method

MAX_SIDE = 4096        # frames larger than this are refused (decode cost, memory)
MAX_SECONDS = 600.0    # hard cap of the CLI; the app uses a much smaller one
FLICKER_SIDE = 256     # flicker is measured on frames fitted within this side
# A network's passes for video, unless given: 1. Measured (docs/results/video-benchmark.md,
# `benchmarks/video.py --passes 1 2 4`): DeOldify's 4 passes, the photo default, cut flicker
# by about a fifth for 3-4x the time; the frames before and after average the colour anyway.
VIDEO_PASSES = int(os.environ.get("RECOLOR_VIDEO_PASSES", 1))


class VideoError(RecolorError):
    """A file that is not a readable video, or one outside the limits."""


@dataclass
class VideoResult:
    """What ``colorize_video`` did: frame count, fps, audio kept, and the flicker figures
    (mean frame-to-frame chroma change, see ``chroma_flicker``) of input and output."""
    path: Path
    frames: int
    fps: float
    size: tuple[int, int]
    audio: bool
    flicker_in: float
    flicker_out: float
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def probe(path: str | Path) -> dict[str, Any]:
    """ffmpeg's metadata of a video (size, fps, duration, audio_codec when it has audio);
    raises VideoError for anything ffmpeg cannot read as video."""
    import imageio_ffmpeg  # noqa: PLC0415 - optional at import time of the package

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    gen = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(gen)
    except (OSError, RuntimeError, StopIteration, IndexError, ValueError) as e:
        raise VideoError(f"{path.name}: not a readable video ({str(e).splitlines()[0][:200]})"
                         ) from None
    finally:
        gen.close()
    w, h = meta.get("size") or (0, 0)
    if not w or not h:
        raise VideoError(f"{path.name}: no video stream")
    if max(w, h) > MAX_SIDE:
        raise VideoError(f"{path.name}: {w}x{h} frames are larger than {MAX_SIDE} px")
    return meta


def read_frames(path: str | Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """uint8 RGB frames (H, W, 3) of a video, at most ``max_frames``."""
    import imageio_ffmpeg  # noqa: PLC0415

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    try:
        for i, buf in enumerate(gen):
            if max_frames is not None and i >= max_frames:
                break
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    finally:
        gen.close()


class FlickerMeter:
    """``chroma_flicker`` one frame at a time, keeping only the previous frame's chroma (a long
    clip is never held in memory)."""

    def __init__(self) -> None:
        self.prev: torch.Tensor | None = None
        self.total, self.pairs = 0.0, 0

    def add(self, frame: np.ndarray) -> None:
        small = torch.from_numpy(fit_within(frame, FLICKER_SIDE).astype(np.float32) / 255)
        ab = rgb_to_lab_t(small)[..., 1:]
        if self.prev is not None:
            self.total += float((ab - self.prev).pow(2).sum(-1).sqrt().mean())
            self.pairs += 1
        self.prev = ab

    @property
    def value(self) -> float:
        return self.total / self.pairs if self.pairs else 0.0


def chroma_flicker(frames: list[np.ndarray]) -> float:
    """Mean over consecutive frame pairs of the mean per-pixel chroma change
    ``sqrt(da^2 + db^2)`` in CIE Lab (0 for a B/W clip). Frames are fitted within
    FLICKER_SIDE first, so the figure does not depend much on resolution or noise."""
    meter = FlickerMeter()
    for f in frames:
        meter.add(f)
    return meter.value


def open_writer(dst: str | Path, size: tuple[int, int], fps: float, quality: int = 7,
                audio_from: str | Path | None = None):
    """A started imageio-ffmpeg writer of uint8 RGB frames to an H.264 ``dst`` (odd sizes are
    padded to even by ffmpeg); with ``audio_from``, that file's audio is muxed in (AAC), cut
    to the video's length."""
    import imageio_ffmpeg  # noqa: PLC0415

    audio = str(audio_from) if audio_from is not None else None
    writer = imageio_ffmpeg.write_frames(
        str(dst), size, fps=fps, quality=quality, macro_block_size=2, audio_path=audio,
        audio_codec="aac" if audio else None, output_params=["-shortest"] if audio else None,
        ffmpeg_log_level="error")
    writer.send(None)
    return writer


def colorize_video(src: str | Path, dst: str | Path, method: str = "deoldify",
                   reference: Any = AUTO, max_seconds: float = MAX_SECONDS,
                   progress: Callable[[int, int], None] | None = None, workers: int = 1,
                   **options: Any) -> VideoResult:
    """Colorize every frame of ``src`` (up to ``max_seconds``) with ``method`` and write
    ``dst`` (H.264 MP4) with ``src``'s audio. Returns counts and the flicker figures.
    ``workers`` frames are colorized at once, in threads (frames are independent; the output
    keeps their order): with one torch thread each, that uses the cores better than one frame
    on several threads (``benchmarks/video.py --workers``). The networks run VIDEO_PASSES
    passes unless ``passes`` is given."""
    import time

    t0 = time.time()
    workers = max(1, workers)
    m = get_method(method)
    if any(o.name == "passes" for o in m.options) and not options.get("passes"):
        options = {**options, "passes": VIDEO_PASSES}  # not the photo default (see VIDEO_PASSES)
    meta = probe(src)
    fps = float(meta.get("fps") or 25.0)
    w, h = meta["size"]
    max_frames = max(1, int(round(max_seconds * fps)))
    expected = min(max_frames, int(round(float(meta.get("duration") or 0) * fps)) or max_frames)
    has_audio = bool(meta.get("audio_codec"))
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ref, writer = None, None
    flicker_in, flicker_out = FlickerMeter(), FlickerMeter()
    n = 0
    pending: deque = deque()  # (frame, future of its colorization), in frame order

    def write_oldest() -> None:
        nonlocal writer, n
        frame, future = pending.popleft()
        out = future.result()
        if writer is None:  # opened after the first frame worked (model there, etc.)
            writer = open_writer(dst, (w, h), fps, audio_from=src if has_audio else None)
        writer.send(np.ascontiguousarray(out))
        flicker_in.add(frame)
        flicker_out.add(out)
        n += 1
        if progress is not None:
            progress(n, expected)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recolor-video")
    try:
        for frame in read_frames(src, max_frames):
            if m.needs_reference and ref is None:  # one reference for the whole clip
                if isinstance(reference, str) and reference == AUTO:
                    from .references import pick_reference  # noqa: PLC0415
                    ref = pick_reference(fit_within(frame, 512))
                else:
                    ref = load_image(reference, "reference")
            pending.append((frame, pool.submit(colorize, frame, method, reference=ref,
                                               **options)))
            if len(pending) > 2 * workers or n == 0:  # the first frame alone
                write_oldest()
        while pending:
            write_oldest()
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        if writer is not None:
            writer.close()
    if n == 0:  # nothing was written: the writer opens after the first frame
        raise VideoError(f"{Path(src).name}: no frames could be decoded")
    notes = []
    if n >= max_frames and float(meta.get("duration") or 0) * fps > max_frames + 1:
        notes.append(f"only the first {max_seconds:g} s ({n} frames) were colorized")
    return VideoResult(dst, n, fps, (w, h), has_audio, flicker_in.value, flicker_out.value,
                       time.time() - t0, notes)


# ----------------------------------------------------------------------------- command line

def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``video`` subcommand's flags (method options as in ``colorize``)."""
    from .cli import _option_flags  # noqa: PLC0415

    p.add_argument("input", help="video file (anything ffmpeg reads: mp4, mov, webm, avi, ...)")
    p.add_argument("--out", required=True, help="output .mp4")
    p.add_argument("--method", default="deoldify", choices=list(METHODS))
    p.add_argument("--reference", default=AUTO,
                   help="reference image for a transfer method (default: picked from frame 1)")
    p.add_argument("--max-seconds", type=float, default=MAX_SECONDS,
                   help="colorize at most this many seconds from the start")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="frames colorized at once, one torch thread each (default: the CPU "
                        "count)")
    _option_flags(p)


def main(args: argparse.Namespace) -> int:
    """Run ``colorize_video`` with a progress bar and print the flicker figures."""
    from tqdm import tqdm  # noqa: PLC0415

    m = get_method(args.method)
    options = {o.name: getattr(args, o.name) for o in m.options
               if getattr(args, o.name, None) is not None}
    bars: list[Any] = []

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit="frame", mininterval=2))
        bars[0].total = max(total, done)
        bars[0].update(done - bars[0].n)

    if args.workers > 1:
        torch.set_num_threads(1)
    try:
        r = colorize_video(args.input, args.out, args.method, args.reference,
                           args.max_seconds, progress, args.workers, **options)
    except (RecolorError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        for bar in bars:
            bar.close()
    for note in r.notes:
        print(f"note: {note}")
    print(f"wrote {r.path}: {r.frames} frames, {r.size[0]}x{r.size[1]} at {r.fps:g} fps, "
          f"audio {'kept' if r.audio else 'none in input'}, {r.seconds:.1f} s")
    print(f"flicker (mean frame-to-frame chroma change, Lab): input {r.flicker_in:.3f}, "
          f"output {r.flicker_out:.3f}")
    return 0
