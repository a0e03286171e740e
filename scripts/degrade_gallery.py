"""A gallery of `recolor.degrade.age`: one photo at several strengths (top row, one random mix)
and several random mixes at strength 1 (bottom row), labelled.

    python scripts/degrade_gallery.py examples/01_people.jpg docs/degrade-gallery.jpg
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from recolor.color import luma  # noqa: E402
from recolor.degrade import age  # noqa: E402
from recolor.images import fit_within, load_image  # noqa: E402


def tile(gray: np.ndarray, label: str, font: ImageFont.ImageFont) -> Image.Image:
    im = Image.fromarray(gray).convert("RGB")
    draw = ImageDraw.Draw(im)
    x0, y0, x1, y1 = draw.textbbox((6, 6), label, font=font)
    draw.rectangle((x0 - 4, y0 - 4, x1 + 4, y1 + 4), fill="white")
    draw.text((6, 6), label, fill="black", font=font)
    return im


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("photo")
    p.add_argument("out")
    p.add_argument("--strengths", default="0,0.5,1,1.5")
    p.add_argument("--seeds", default="1,2,3,4", help="random mixes shown at strength 1")
    p.add_argument("--side", type=int, default=320, help="long side of each tile")
    args = p.parse_args()
    gray = luma(fit_within(load_image(args.photo), args.side))
    font = ImageFont.load_default(size=16)
    strengths = [float(s) for s in args.strengths.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    top = [tile(age(gray, s, np.random.default_rng(seeds[0])), f"strength {s:g}", font)
           for s in strengths]
    bottom = [tile(age(gray, 1.0, np.random.default_rng(k)), f"strength 1, mix {k}", font)
              for k in seeds]
    h, w = gray.shape
    cols = max(len(top), len(bottom))
    sheet = Image.new("RGB", (cols * w, 2 * h), "white")
    for row, tiles in enumerate((top, bottom)):
        for j, t in enumerate(tiles):
            sheet.paste(t, (j * w, row * h))
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
