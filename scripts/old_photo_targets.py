"""The old-photo targets of a network, from `python -m recolor evaluate` reports on clean and
aged val (`--degrade 1`): per half of val (sorted, even / odd index) and on the whole set.

    python scripts/old_photo_targets.py --clean runs/base-clean --aged runs/base-aged \
        [--baseline-clean runs/base-clean] [--methods pix2pix,deoldify]

Targets (per network): T1 gain on aged >= 0.8 x gain on clean (gain: the gray output's mean ab
error minus the method's); T2 colourfulness on aged >= 0.9 x on clean; T3 on the people photos
(clean): PSNR >= gray + 0.5 dB and mean CIEDE2000 below gray's; T4 on the rest (clean): PSNR at
most 0.1 dB and ab error at most 0.2 worse than `--baseline-clean` (the shipped file's report).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from recolor.evaluate import is_people  # noqa: E402


def load(report: Path) -> dict[tuple[str, str], dict[str, float]]:
    with open(report / "per_image.csv") as f:
        return {(r["image"], r["method"]): {k: float(r[k]) for k in ("psnr", "de2000", "ab_err", "cf")}
                for r in csv.DictReader(f) if not r.get("error")}


def mean(rows: dict, images: list[str], method: str, col: str) -> float:
    return float(np.mean([rows[(i, method)][col] for i in images]))


def targets(clean: dict, aged: dict, base: dict, images: list[str], m: str) -> dict[str, object]:
    people = [i for i in images if is_people(i)]
    rest = [i for i in images if not is_people(i)]
    gain_c = mean(clean, images, "gray", "ab_err") - mean(clean, images, m, "ab_err")
    gain_a = mean(aged, images, "gray", "ab_err") - mean(aged, images, m, "ab_err")
    cf_c, cf_a = mean(clean, images, m, "cf"), mean(aged, images, m, "cf")
    p_psnr = mean(clean, people, m, "psnr") - mean(clean, people, "gray", "psnr")
    p_de = mean(clean, people, m, "de2000") - mean(clean, people, "gray", "de2000")
    r_psnr = mean(clean, rest, m, "psnr") - mean(base, rest, m, "psnr")
    r_ab = mean(clean, rest, m, "ab_err") - mean(base, rest, m, "ab_err")
    return {"gain clean": gain_c, "gain aged": gain_a, "T1 aged/clean gain": gain_a / gain_c,
            "CF clean": cf_c, "CF aged": cf_a, "T2 aged/clean CF": cf_a / cf_c,
            "T3 people PSNR - gray": p_psnr, "T3 people dE - gray": p_de,
            "T4 rest PSNR - shipped": r_psnr, "T4 rest ab - shipped": r_ab,
            "met": sum([gain_a >= 0.8 * gain_c, cf_a >= 0.9 * cf_c, p_psnr >= 0.5 and p_de < 0,
                        r_psnr >= -0.1 and r_ab <= 0.2])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clean", type=Path, required=True)
    p.add_argument("--aged", type=Path, required=True)
    p.add_argument("--baseline-clean", type=Path, default=None,
                   help="the shipped file's clean report (default: --clean)")
    p.add_argument("--methods", default="pix2pix,deoldify")
    args = p.parse_args()
    clean, aged = load(args.clean), load(args.aged)
    base = load(args.baseline_clean) if args.baseline_clean else clean
    images = sorted({i for i, m in clean if m == "gray"} & {i for i, m in aged if m == "gray"})
    all_images = sorted({i for i, m in base if m == "gray"})
    halves = {"even": all_images[0::2], "odd": all_images[1::2], "all": all_images}
    for m in args.methods.split(","):
        cols = {h: targets(clean, aged, base, [i for i in imgs if i in images], m)
                for h, imgs in halves.items() if any(i in images for i in imgs)}
        print(f"\n{m}\n| target | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
        for k in next(iter(cols.values())):
            print(f"| {k} | " + " | ".join(f"{c[k]:.3f}" if isinstance(c[k], float) else str(c[k])
                                          for c in cols.values()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
