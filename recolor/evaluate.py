"""`python -m recolor evaluate`: score every method against ground truth on a folder of colour
photos, write per-image and summary tables, a bar chart and a grid like the paper's table."""
from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from .api import colorize
from .cli import IMAGE_SUFFIXES
from .color import gray_to_rgb, is_grayscale, luma
from .degrade import age, seeded_rng
from .errors import RecolorError
from .images import fit_within, load_image
from .metrics import COLUMNS, LABELS, score
from .registry import METHODS

GRAY = "gray"  # the no-colour baseline: the grayscale input itself, scored as RGB
# file-name prefixes of the photos of people in ../shared/data (its SOURCES.md, second table):
# the summary reports them and the rest apart
PEOPLE = ("ccp_", "humanseg_", "pennfudan_", "nomaskfaces_", "cocomini_", "ultralight_",
          "mmposetest_")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="folder of colour photos (e.g. ../shared/data/val)")
    p.add_argument("--methods", default="all", help="all, or keys separated by commas")
    p.add_argument("--size", type=int, default=0, help="downscale so the long side is at most N")
    p.add_argument("--limit", type=int, default=0, help="use only the first K photos")
    p.add_argument("--half", choices=("even", "odd"), default=None,
                   help="only the even- or odd-indexed photos of the sorted set: pick a setting "
                        "on one half of val, check it on the other")
    p.add_argument("--reference", default="next",
                   help="next (the next photo of the sorted set), auto (the reference picker) or FILE")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="a method option (e.g. render_factor=12), given to the methods that "
                        "have it; repeatable")
    p.add_argument("--degrade", type=float, default=0.0, metavar="S",
                   help="age each gray input at strength S (recolor.degrade; seeded by the file "
                        "name, so every run and method sees the same aged photo) and score "
                        "against the clean colour photo")
    p.add_argument("--grid-rows", type=int, default=4, help="rows in grid.png")
    p.add_argument("--out", required=True, help="output folder")


def main(args: argparse.Namespace) -> int:
    keys = list(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [k for k in keys if k not in METHODS]
    if unknown:
        print(f"error: unknown method(s) {unknown}; choose from {', '.join(METHODS)}", file=sys.stderr)
        return 2
    options = {}
    for item in args.option:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"error: --option {item!r}: expected NAME=VALUE", file=sys.stderr)
            return 2
        options[name.strip()] = value.strip()
    try:
        summary = evaluate(Path(args.data), keys, Path(args.out), size=args.size, limit=args.limit,
                           reference=args.reference, grid_rows=args.grid_rows, options=options,
                           degrade=args.degrade, half=args.half)
    except RecolorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary_markdown(summary))
    return 0


def list_photos(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise RecolorError(f"no such folder: {folder}")
    return sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)


def evaluate(data: Path, keys: list[str], out: Path, size: int = 0, limit: int = 0,
             reference: str = "next", grid_rows: int = 4,
             options: dict[str, Any] | None = None, degrade: float = 0.0,
             half: str | None = None) -> list[dict]:
    """Run and score the methods on every colour photo in `data`; write the report to `out`
    and return the summary rows. `options` go to the methods that have them. `degrade` > 0
    ages each gray input (`recolor.degrade.age`, seeded by the file name); scores stay against
    the clean photo."""
    options = options or {}
    own = {k: {n: v for n, v in options.items() if n in METHODS[k].defaults()} for k in keys}
    unused = set(options) - {n for o in own.values() for n in o}
    if unused:
        raise RecolorError(f"no method among {', '.join(keys)} has option(s) {sorted(unused)}")
    files = list_photos(data)
    if half:
        files = files[{"even": 0, "odd": 1}[half]::2]
    photos, skipped = load_colour_photos(files, size, limit)
    if len(photos) < 2 and reference == "next":
        raise RecolorError(f"{data} needs at least two colour photos for --reference next")
    fixed_ref, picker = None, None
    if reference == "auto":
        try:
            from .references import pick_reference as picker  # noqa: PLC0415
        except ImportError:
            raise RecolorError("--reference auto: the reference picker is not available") from None
    elif reference != "next":
        fixed_ref = load_image(reference, "reference")
    evaluated = photos[:limit] if limit else photos
    rows, grid = [], []
    for i, (name, truth) in enumerate(tqdm(evaluated, desc="evaluate", unit="img", file=sys.stderr)):
        gray = gray_to_rgb(luma(truth))
        if degrade:
            gray = age(gray, degrade, seeded_rng(name))
        if picker is not None:
            ref = picker(gray)
        else:
            ref = fixed_ref if fixed_ref is not None else photos[(i + 1) % len(photos)][1]
        outputs = {GRAY: gray}
        rows.append({"image": name, "method": GRAY, **score(gray, truth), "seconds": 0.0, "error": ""})
        for key in keys:
            start = time.perf_counter()
            try:
                result = colorize(gray, key, reference=ref if METHODS[key].needs_reference else None,
                                  **own[key])
            except Exception as e:  # noqa: BLE001 - record the failure, keep going
                rows.append({"image": name, "method": key, "error": f"{type(e).__name__}: {e}"})
                continue
            seconds = time.perf_counter() - start
            outputs[key] = result
            rows.append({"image": name, "method": key, **score(result, truth), "seconds": seconds,
                         "error": ""})
        if len(grid) < grid_rows:
            grid.append((name, gray, ref, outputs, truth))
    summary = summarize(rows, [GRAY, *keys])
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "per_image.csv", rows)
    _write_csv(out / "summary.csv", summary)
    note = (f"{len(evaluated)} photos from `{data}` (sorted; {skipped} grayscale or unreadable "
            f"skipped{f', {half} half' if half else ''}), reference: {reference}, "
            f"size: {size or 'native'}"
            f"{f', aged at strength {degrade:g} (recolor.degrade)' if degrade else ''}\n\n")
    (out / "summary.md").write_text(note + summary_markdown(summary) + "\n"
                                    + group_markdown(rows, [GRAY, *keys]))
    bar_chart(summary, out / "summary.png")
    if grid:
        grid_image(grid, keys).save(out / "grid.png")
    return summary


def load_colour_photos(files: list[Path], size: int = 0,
                       limit: int = 0) -> tuple[list[tuple[str, np.ndarray]], int]:
    """(name, RGB) of the colour photos among `files` (downscaled to `size` if given), at most
    `limit` + 1 of them (the last one as the previous photo's "next" reference), and how many
    were skipped as grayscale or unreadable."""
    photos: list[tuple[str, np.ndarray]] = []
    skipped = 0
    for f in files:
        try:
            rgb = load_image(f, f.name)
        except RecolorError as e:
            print(f"skipping: {e}", file=sys.stderr)
            skipped += 1
            continue
        if is_grayscale(rgb):
            skipped += 1
            continue
        photos.append((f.name, fit_within(rgb, size) if size else rgb))
        if limit and len(photos) >= limit + 1:
            break
    return photos, skipped


def summarize(rows: list[dict], methods: list[str]) -> list[dict]:
    """Mean and standard deviation per method over the images it succeeded on."""
    summary = []
    for m in methods:
        ok = [r for r in rows if r["method"] == m and not r.get("error")]
        entry = {"method": m, "images": len(ok),
                 "failed": sum(1 for r in rows if r["method"] == m and r.get("error"))}
        for col in (*COLUMNS, "seconds"):
            vals = np.array([r[col] for r in ok], dtype=np.float64)
            entry[col] = float(vals.mean()) if len(vals) else math.nan
            entry[col + "_std"] = float(vals.std()) if len(vals) else math.nan
        summary.append(entry)
    return summary


def is_people(name: str) -> bool:
    return name.startswith(PEOPLE)


def group_markdown(rows: list[dict], methods: list[str]) -> str:
    """The summary again for the photos of people and for the rest, when both are present."""
    people = [r for r in rows if is_people(r["image"])]
    rest = [r for r in rows if not is_people(r["image"])]
    if not people or not rest:
        return ""
    n = lambda rs: len({r["image"] for r in rs})  # noqa: E731
    return (f"\n## People ({n(people)} photos)\n\n{summary_markdown(summarize(people, methods))}\n"
            f"\n## The rest ({n(rest)} photos)\n\n{summary_markdown(summarize(rest, methods))}\n")


def summary_markdown(summary: list[dict]) -> str:
    cols = (*COLUMNS, "seconds")
    head = "| method | images | " + " | ".join(LABELS[c] for c in cols) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    for e in summary:
        name = METHODS[e["method"]].name if e["method"] in METHODS else "gray (no colour)"
        digits = {"ssim": 3}
        cells = ["—" if math.isnan(e[c]) else
                 f"{e[c]:.{digits.get(c, 2)}f} ± {e[c + '_std']:.{digits.get(c, 2)}f}" for c in cols]
        failed = f" ({e['failed']} failed)" if e["failed"] else ""
        lines.append(f"| {name} | {e['images']}{failed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_csv(path: Path, rows: list[dict]) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})


def bar_chart(summary: list[dict], path: Path) -> None:
    """One bar panel per metric, methods side by side, error bars = standard deviation."""
    import matplotlib  # noqa: PLC0415 - only the report needs it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    cols = (*COLUMNS, "seconds")
    fig, axes = plt.subplots(1, len(cols), figsize=(3.2 * len(cols), 3.4))
    names = [e["method"] for e in summary]
    for ax, c in zip(axes, cols):
        vals = [0 if math.isnan(e[c]) or math.isinf(e[c]) else e[c] for e in summary]
        errs = [0 if math.isnan(e[c + "_std"]) or math.isinf(e[c + "_std"]) else e[c + "_std"]
                for e in summary]
        ax.bar(names, vals, yerr=errs, color=plt.cm.tab10(np.arange(len(names))), capsize=3)
        ax.set_title(LABELS[c])
        ax.tick_params(axis="x", rotation=60, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def grid_image(rows: list, keys: list[str], tile: int = 160) -> Image.Image:
    """Rows like the paper's table: grayscale input, reference, each method, ground truth."""
    headers = ["input", "reference", *[METHODS[k].name for k in keys], "ground truth"]
    label_h = 22
    sheet = Image.new("RGB", (tile * len(headers), label_h + tile * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for j, h in enumerate(headers):
        draw.text((j * tile + 4, 4), h, fill="black", font=font)
    for i, (_name, gray, ref, outputs, truth) in enumerate(rows):
        images = [gray, ref, *[outputs.get(k) for k in keys], truth]
        for j, im in enumerate(images):
            x, y = j * tile, label_h + i * tile
            if im is None:
                draw.text((x + 8, y + tile // 2), "failed", fill="red", font=font)
                continue
            thumb = Image.fromarray(fit_within(im, tile))
            sheet.paste(thumb, (x + (tile - thumb.width) // 2, y + (tile - thumb.height) // 2))
    return sheet
