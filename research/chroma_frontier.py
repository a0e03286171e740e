"""PSNR against colourfulness when a method's colour is scaled: where its trade-off curve runs.

The learned methods' val targets ask for two things at once: PSNR at least 1 dB over the gray
baseline and colourfulness within 5 points of the truth's. Scaling a result's chroma as the
`saturation` option does (`color.scale_chroma`: U, V, with the BT.601 luma kept; above 1 about the
photo's mean colour) moves along one curve: more colour, less PSNR. A model is better than
another only if its curve lies above the other's, and this prints the curve. The gains are
absolute: a method with a `saturation` option runs at 1, whatever gain its weight file stores
as its default (the shipped files' gains were read off this curve; `weights/*.md`).

    python research/chroma_frontier.py --data ../shared/data/val --method deoldify \
        --gains 1,1.2,1.4,1.6
    # an ensemble: U, V averaged over the listed passes (flip: the mirrored photo)
    python research/chroma_frontier.py --data ../shared/data/val --method deoldify \
        --pass render_factor=10 --pass flip,render_factor=10
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the recolor package
from recolor.api import colorize  # noqa: E402
from recolor.color import (gray_to_rgb, is_grayscale, luma, rgb_to_yuv, scale_chroma,  # noqa: E402
                           yuv_to_rgb)
from recolor.evaluate import list_photos  # noqa: E402
from recolor.images import load_image  # noqa: E402
from recolor.metrics import colourfulness, psnr  # noqa: E402
from recolor.registry import get_method  # noqa: E402


def parse_pass(text: str) -> tuple[bool, dict[str, str]]:
    """"flip,render_factor=8" -> (True, {"render_factor": "8"})."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    return "flip" in items, dict(t.split("=", 1) for t in items if t != "flip")


def ensemble(gray: np.ndarray, method: str, passes: list[tuple[bool, dict]]) -> np.ndarray:
    """The method's result on `gray`, its U, V averaged over `passes` (mirrored or not, with
    options), Y kept. A method with a `saturation` option runs at 1, so that the gains are
    absolute whatever its weights' default. One plain pass is the method's own result (for
    DeOldify, its weights' own `passes`); several are each one prediction (`passes=1`)."""
    if len(passes) == 1 and not passes[0][0]:  # one plain pass: the method's own result
        names = {o.name for o in get_method(method).options}
        options = {"saturation": "1"} if "saturation" in names else {}
        return colorize(gray, method, **{**options, **passes[0][1]})
    return with_uv(gray, np.mean(pass_uvs(gray, method, passes), axis=0))


def with_uv(gray: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """uint8 RGB with `gray`'s Y and the (float) U, V `uv`, rounded and clipped."""
    yuv = rgb_to_yuv(gray)
    yuv[..., 1:] = np.clip(np.rint(uv), 0, 255).astype(np.uint8)
    return yuv_to_rgb(yuv)


def pass_uvs(gray: np.ndarray, method: str, passes: list[tuple[bool, dict]]) -> np.ndarray:
    """Each pass's U, V (float64, passes x H x W x 2): one prediction each (`passes=1` for a
    method with that option), mirrored back where the pass mirrored the photo, at gain 1."""
    names = {o.name for o in get_method(method).options}
    fixed = {k: v for k, v in (("saturation", "1"), ("passes", "1")) if k in names}
    uv = []
    for flip, options in passes:
        x = np.ascontiguousarray(gray[:, ::-1]) if flip else gray
        out = colorize(x, method, **{**fixed, **options})
        uv.append(rgb_to_yuv(np.ascontiguousarray(out[:, ::-1]) if flip else out)[..., 1:]
                  .astype(np.float64))
    return np.stack(uv)


def frontier(files: list[Path], method: str, gains: list[float],
             passes: list[tuple[bool, dict]] | None = None, v_exponent: float = 1.0
             ) -> list[dict]:
    """Mean PSNR and colourfulness per gain over the colour photos in `files`, with the gray
    baseline's PSNR and the truth's colourfulness alongside. `passes`: see `ensemble`;
    `v_exponent`: V's gain is the gain to this power (`color.scale_chroma`)."""
    psnrs = {g: [] for g in gains}
    cfs = {g: [] for g in gains}
    gray_psnr, truth_cf = [], []
    for f in files:
        truth = load_image(f, f.name)
        if is_grayscale(truth):
            continue
        gray = gray_to_rgb(luma(truth))
        out = ensemble(gray, method, passes or [(False, {})])
        gray_psnr.append(psnr(gray, truth))
        truth_cf.append(colourfulness(truth))
        for g in gains:
            scaled = out if g == 1 else scale_chroma(out, g, v_exponent)
            psnrs[g].append(psnr(scaled, truth))
            cfs[g].append(colourfulness(scaled))
    base, cf_truth = float(np.mean(gray_psnr)), float(np.mean(truth_cf))
    return [{"gain": g, "images": len(gray_psnr), "psnr": float(np.mean(psnrs[g])),
             "gray_psnr": base, "cf": float(np.mean(cfs[g])), "truth_cf": cf_truth}
            for g in gains]


TARGET_MARGIN = 5.0  # the issues' colour target: colourfulness within 5 of the truth's


def psnr_at_target(rows: list[dict], margin: float = TARGET_MARGIN) -> float | None:
    """PSNR where the curve reaches colourfulness = truth - `margin` (the issues' colour target),
    linear between the two gains that straddle it; None when no pair of rows does."""
    target = rows[0]["truth_cf"] - margin
    pts = sorted((r["cf"], r["psnr"]) for r in rows)
    for (c0, p0), (c1, p1) in zip(pts, pts[1:]):
        if c0 <= target <= c1 and c1 > c0:
            return p0 + (p1 - p0) * (target - c0) / (c1 - c0)
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder of colour photos")
    p.add_argument("--method", required=True, help="a method key, e.g. deoldify")
    p.add_argument("--gains", default="0.8,0.9,1,1.1,1.2,1.3,1.4,1.5,1.6,1.7")
    p.add_argument("--start", type=int, default=0, help="first photo of the sorted folder")
    p.add_argument("--every", type=int, default=1, help="use every N-th photo (2: a half)")
    p.add_argument("--pass", dest="passes", action="append", default=[], metavar="[flip,]OPT=V",
                   help="average U, V over several passes (repeatable), e.g. "
                        "flip,render_factor=8")
    p.add_argument("--v-exponent", type=float, default=1.0,
                   help="V's gain is each gain to this power (1: one gain for U and V)")
    a = p.parse_args()
    files = list_photos(Path(a.data))[a.start::a.every]
    passes = [parse_pass(t) for t in a.passes] or None
    rows = frontier(files, a.method, [float(g) for g in a.gains.split(",")], passes,
                    a.v_exponent)
    print(f"{a.method}: {rows[0]['images']} photos of {a.data} (from {a.start}, every "
          f"{a.every}; passes: {' | '.join(a.passes) or 'one, plain'}; V exponent "
          f"{a.v_exponent:g}); gray {rows[0]['gray_psnr']:.2f} dB, truth colourfulness "
          f"{rows[0]['truth_cf']:.2f}\n")
    print("| chroma gain | PSNR dB | vs gray | CF | ΔCF |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['gain']:.2f} | {r['psnr']:.2f} | {r['psnr'] - r['gray_psnr']:+.2f} | "
              f"{r['cf']:.2f} | {r['cf'] - r['truth_cf']:+.2f} |")
    at = psnr_at_target(rows)
    target = rows[0]["truth_cf"] - TARGET_MARGIN
    print(f"\nscore: PSNR at colourfulness {target:.2f} (truth - {TARGET_MARGIN:g}): "
          + (f"{at:.3f} dB ({at - rows[0]['gray_psnr']:+.3f} vs gray)" if at is not None
             else "not reached by these gains"))


if __name__ == "__main__":
    main()
