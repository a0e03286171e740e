"""Pack ../shared/data (train + val) small enough to travel with the working tree to a lent GPU
(the device tool sends at most 64 MiB): short side 144 px, WebP quality 85, one tar (about 42 MB).

The 40 train photos that pick snapshots (sorted train files 128, 257, ..., every 129th: the
`/tmp/rfsel` of weights/README.md) are left out, so that the pick is made on photos the GPU run
never saw. (The lease of 2026-11-30 still trained on them; that choice was biased, see there.)

    python scripts/pack_gpu_data.py .gpu/data.tar     # then see scripts/gpu_lease.py
"""
from __future__ import annotations

import sys
import tarfile
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SIDE, QUALITY = 144, 85
HOLDOUT = (129, 128)  # train file i is held out when i % 129 == 128


def selection_photos(train: Path = SHARED / "train") -> list[Path]:
    """The 40 held-out train photos used to choose snapshots."""
    every, offset = HOLDOUT
    return sorted(train.glob("*.jpg"))[offset::every]


def shrink(job: tuple[Path, Path]) -> None:
    src, dst = job
    with Image.open(src) as im:
        im = im.convert("RGB")
        s = SIDE / min(im.size)
        im = im.resize((round(im.width * s), round(im.height * s)), Image.BICUBIC)
        im.save(dst, "WEBP", quality=QUALITY, method=6)


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for part in ("train", "val"):
            (Path(tmp) / part).mkdir()
            held = set(selection_photos()) if part == "train" else set()
            jobs += [(f, Path(tmp) / part / f"{f.stem}.webp")
                     for f in sorted((SHARED / part).glob("*.jpg")) if f not in held]
        with ProcessPoolExecutor() as ex:
            list(ex.map(shrink, jobs, chunksize=64))
        with tarfile.open(out, "w") as t:
            for part in ("train", "val"):
                t.add(Path(tmp) / part, part)
    print(f"{len(jobs)} photos -> {out} ({Path(out).stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".gpu/data.tar")
