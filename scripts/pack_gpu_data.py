"""Pack ../shared/data (train + val) into one small tar to copy to a GPU machine.

By default every photo is resized to a short side of 144 px and saved as WebP quality 85, enough
for 128 px training crops (it prints the tar's size). Larger crops need larger photos (`--side`);
`--max-aspect` centre-crops the long side and `--val` keeps only the first N val photos (the
trainers' per-epoch check; the real scores are made afterwards with `python -m recolor evaluate`
on the full val set). `scripts/train_gpu.py --data` takes the tar.

The 40 train photos that pick snapshots (sorted train files 128, 257, ..., every 129th) are left
out, so that a snapshot is picked on photos the run never saw.

    python scripts/pack_gpu_data.py runs/data.tar
    python scripts/pack_gpu_data.py runs/data.tar --side 224 --quality 50 --max-aspect 1.334 --val 64
"""
from __future__ import annotations

import argparse
import tarfile
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
HOLDOUT = (129, 128)  # train file i is held out when i % 129 == 128


def selection_photos(train: Path = SHARED / "train") -> list[Path]:
    """The 40 held-out train photos used to choose snapshots."""
    every, offset = HOLDOUT
    return sorted(train.glob("*.jpg"))[offset::every]


def shrink(job: tuple[Path, Path, int, int, float]) -> None:
    """One photo: short side to `side`, long side centre-cropped to `max_aspect` x side."""
    src, dst, side, quality, max_aspect = job
    with Image.open(src) as im:
        im = im.convert("RGB")
        s = side / min(im.size)
        im = im.resize((round(im.width * s), round(im.height * s)), Image.BICUBIC)
        w, h = min(im.width, round(max_aspect * side)), min(im.height, round(max_aspect * side))
        x, y = (im.width - w) // 2, (im.height - h) // 2
        im.crop((x, y, x + w, y + h)).save(dst, "WEBP", quality=quality, method=6)


def main(out: str, side: int = 144, quality: int = 85, max_aspect: float = 10.0,
         val: int | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for part in ("train", "val"):
            (Path(tmp) / part).mkdir()
            held = set(selection_photos()) if part == "train" else set()
            files = [f for f in sorted((SHARED / part).glob("*.jpg")) if f not in held]
            files = files[:val] if part == "val" and val is not None else files
            jobs += [(f, Path(tmp) / part / f"{f.stem}.webp", side, quality, max_aspect)
                     for f in files]
        with ProcessPoolExecutor() as ex:
            list(ex.map(shrink, jobs, chunksize=64))
        with tarfile.open(out, "w") as t:
            for part in ("train", "val"):
                t.add(Path(tmp) / part, part)
    print(f"{len(jobs)} photos -> {out} ({Path(out).stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/data.tar")
    ap.add_argument("--side", type=int, default=144, help="short side, px")
    ap.add_argument("--quality", type=int, default=85, help="WebP quality")
    ap.add_argument("--max-aspect", type=float, default=10.0,
                    help="centre-crop the long side to this multiple of the short one")
    ap.add_argument("--val", type=int, default=None, help="keep the first N val photos")
    a = ap.parse_args()
    main(a.out, a.side, a.quality, a.max_aspect, a.val)
