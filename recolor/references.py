"""Build the reference bank, and pick a colour reference for a B/W photo from it.

The picker uses the input's luminance only (it has no colour).

The bank is a folder of small colour JPEGs plus `index.npz`, built by
`python -m recolor build-references`. Retrieval has two stages:

1. Nearest neighbours by cosine similarity of luminance descriptors (coarse luminance layout,
   luminance histogram, gradient-orientation histograms), standardised with the statistics of
   the photos the bank was built from, each feature group scaled to unit length and weighted.
2. The `CANDIDATES` nearest are re-ranked by how well each one's colour statistics (mean and
   spread of a and b, and the mean a, b of each image quarter) match those predicted for the
   query from its luminance descriptor by a ridge regression, fitted on the photos the bank
   was built from.
   Most of the colour is not predictable from luminance, so this favours plausible, moderate
   palettes over striking ones, which is what a statistical transfer needs. A near copy of
   the input in the bank (cosine >= DUPLICATE) always comes first.

The bank folder is a `bank` argument, else `RECOLOR_REFERENCES`, else `weights/references`.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .color import is_grayscale, luma, rgb_to_lab, to_uint8
from .errors import RecolorError
from .images import fit_within, load_image

DEFAULT_BANK = Path(__file__).resolve().parents[1] / "weights" / "references"
INDEX = "index.npz"
SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}

SIDE = 64      # the descriptor's working resolution (aspect ratio is not kept)
LAYOUT = 8     # LAYOUT x LAYOUT grid of mean luminance
CELLS = 4      # CELLS x CELLS grid of gradient-orientation histograms
ORIENT = 8     # unsigned orientation bins
BINS = 16      # luminance histogram bins
# feature group -> (length, weight in the cosine similarity)
GROUPS: dict[str, tuple[int, float]] = {
    "layout": (LAYOUT * LAYOUT, 1.0),
    "histogram": (BINS, 1.0),
    "orientation": (CELLS * CELLS * ORIENT, 1.0),
    "energy": (CELLS * CELLS, 1.0),
}
CANDIDATES = 20  # cosine neighbours re-ranked by predicted colour
DUPLICATE = 0.98  # a bank photo this similar is (a copy of) the input itself
RIDGE = 1000.0   # ridge penalty of the colour regression (on standardised descriptors)
_EPS = 1e-6


class BankMissing(RecolorError):
    """The reference bank (its index) is not installed."""


# --------------------------------------------------------------------------- descriptor

def _gray(image: np.ndarray) -> np.ndarray:
    """uint8 (or float in [0, 1]) RGB, RGBA or gray array -> uint8 (H, W) luma."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[..., :3]
    elif a.ndim != 2:
        raise RecolorError(f"image: expected an (H, W) or (H, W, 3) array, got shape {a.shape}")
    if a.size == 0:
        raise RecolorError("image: the array is empty")
    if a.dtype != np.uint8:
        a = to_uint8(np.nan_to_num(a.astype(np.float32)) * (255.0 if a.dtype.kind == "f" else 1.0))
    return luma(a) if a.ndim == 3 else a


def describe(image: np.ndarray) -> np.ndarray:
    """The raw luminance descriptor (float32) of an image of any size: a coarse grid of mean
    luminance, a luminance histogram, gradient-orientation histograms on a coarse grid
    (their shares of the image's total gradient) and the mean gradient magnitude per cell."""
    gray = Image.fromarray(np.ascontiguousarray(_gray(image)))
    g = np.asarray(gray.resize((SIDE, SIDE), Image.BILINEAR), dtype=np.float32) / 255.0
    step = SIDE // LAYOUT
    layout = g.reshape(LAYOUT, step, LAYOUT, step).mean(axis=(1, 3)).ravel()
    hist = np.bincount(np.minimum(g * BINS, BINS - 1).astype(np.intp).ravel(), minlength=BINS)
    gy, gx = np.gradient(g)
    mag = np.hypot(gx, gy)
    orient = np.minimum(np.mod(np.arctan2(gy, gx), np.pi) * (ORIENT / np.pi), ORIENT - 1)
    cell = np.arange(SIDE) * CELLS // SIDE
    index = (cell[:, None] * CELLS + cell[None, :]) * ORIENT + orient.astype(np.intp)
    per_cell = np.bincount(index.ravel(), weights=mag.ravel(), minlength=CELLS * CELLS * ORIENT)
    energy = per_cell.reshape(CELLS * CELLS, ORIENT).sum(axis=1) / (SIDE // CELLS) ** 2
    return np.concatenate([layout, np.sqrt(hist / g.size), np.sqrt(per_cell / (per_cell.sum() + _EPS)),
                           np.sqrt(energy)]).astype(np.float32)


def embed(raw: np.ndarray, mean: np.ndarray, std: np.ndarray,
          groups: dict[str, tuple[int, float]] | None = None) -> np.ndarray:
    """Raw descriptors (..., D) -> unit vectors for cosine similarity: standardised, each
    group scaled to unit length times the square root of its weight."""
    z = (raw - mean) / std
    parts, start = [], 0
    for length, weight in (groups or GROUPS).values():
        part = z[..., start:start + length]
        parts.append(part / (np.linalg.norm(part, axis=-1, keepdims=True) + _EPS) * np.sqrt(weight))
        start += length
    v = np.concatenate(parts, axis=-1)
    return (v / (np.linalg.norm(v, axis=-1, keepdims=True) + _EPS)).astype(np.float32)


# --------------------------------------------------------------------------- the bank

@dataclass(frozen=True)
class Bank:
    """A loaded bank: photo file names and, per photo, its unit descriptor vector and its
    standardised colour statistics; the descriptor standardisation and the colour regression."""
    folder: Path
    files: tuple[str, ...]
    vectors: np.ndarray   # (N, D) unit vectors for cosine similarity
    colours: np.ndarray   # (N, C) standardised colour statistics
    mean: np.ndarray      # (D,) descriptor mean and spread of the build set
    std: np.ndarray
    ridge: np.ndarray     # (D + 1, C): [standardised descriptor, 1] -> standardised colour stats


_banks: dict[Path, Bank] = {}
_lock = threading.Lock()
_FIELDS = ("files", "descriptors", "colours", "mean", "std", "ridge", "colour_mean", "colour_std")


def bank_folder(bank: str | os.PathLike | None = None) -> Path:
    """`bank`, else `RECOLOR_REFERENCES`, else `weights/references` of the repository."""
    return Path(bank or os.environ.get("RECOLOR_REFERENCES") or DEFAULT_BANK).resolve()


def load_bank(bank: str | os.PathLike | None = None) -> Bank:
    """The bank's index, read once per folder (thread-safe) and cached."""
    folder = bank_folder(bank)
    with _lock:
        if folder not in _banks:
            path = folder / INDEX
            if not path.is_file():
                raise BankMissing(f"no reference bank at {folder} (missing {INDEX}): build one with "
                                  "`python -m recolor build-references --data DIR --count N "
                                  f"--out {folder}`, or give a reference photo")
            with np.load(path, allow_pickle=False) as z:
                if any(f not in z for f in _FIELDS):
                    raise BankMissing(f"the reference bank index {path} is out of date: rebuild it "
                                      "with `python -m recolor build-references`")
                a = {f: z[f] for f in _FIELDS}
            files = tuple(str(f) for f in a["files"])
            size = sum(n for n, _ in GROUPS.values())
            if (not files or a["descriptors"].shape != (len(files), size)
                    or a["ridge"].shape[0] != size + 1):
                raise BankMissing(f"the reference bank index {path} is empty or inconsistent: "
                                  "rebuild it with `python -m recolor build-references`")
            colours = (a["colours"] - a["colour_mean"]) / a["colour_std"]
            _banks[folder] = Bank(folder, files, embed(a["descriptors"], a["mean"], a["std"]),
                                  colours.astype(np.float32), a["mean"], a["std"], a["ridge"])
        return _banks[folder]


def top_references(image: np.ndarray, k: int = 6,
                   bank: str | os.PathLike | None = None) -> list[tuple[Path, float]]:
    """The `k` best bank photos for `image` (uint8 RGB or gray; only its luminance is used):
    (path, cosine similarity of the descriptors), best first. The best are the
    max(k, CANDIDATES) cosine neighbours ordered by the distance between their colour
    statistics and those predicted for `image`, after any near copy of `image` (cosine >=
    DUPLICATE: its own colours are the best reference); ties go to the more similar, then
    the earlier file."""
    b = load_bank(bank)
    raw = describe(image)
    sims = b.vectors @ embed(raw, b.mean, b.std)
    near = np.argsort(-sims, kind="stable")[:max(k, CANDIDATES)]
    predicted = np.append((raw - b.mean) / b.std, 1.0) @ b.ridge
    distance = ((b.colours[near] - predicted) ** 2).sum(axis=1)
    order = near[np.lexsort((distance, sims[near] < DUPLICATE))]
    return [(b.folder / b.files[i], float(sims[i])) for i in order[:max(0, k)]]


def pick_reference(image: np.ndarray, bank: str | os.PathLike | None = None) -> np.ndarray:
    """The best bank photo for `image` (uint8 RGB or gray), as uint8 RGB."""
    path, _ = top_references(image, 1, bank)[0]
    return load_image(path, "reference")


# --------------------------------------------------------------------------- building

def _colour(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Of a photo, measured at 64 pixels: (sqrt of its 6x6 a-b histogram, its colour statistics
    [mean a, mean b, std a, std b, mean a and b per quarter], mean chroma, L spread)."""
    lab = rgb_to_lab(fit_within(rgb, 64))
    a, b = lab[..., 1], lab[..., 2]
    hist, _, _ = np.histogram2d(a.ravel(), b.ravel(), bins=6, range=[[-60, 60], [-60, 60]])
    h, w = a.shape[0] // 2, a.shape[1] // 2
    quarters = [x[rows, cols].mean() for rows in (np.s_[:max(h, 1)], np.s_[h:])
                for cols in (np.s_[:max(w, 1)], np.s_[w:]) for x in (a, b)]
    stats = np.array([a.mean(), b.mean(), a.std(), b.std(), *quarters], dtype=np.float32)
    return np.sqrt(hist.ravel() / a.size), stats, float(np.hypot(a, b).mean()), float(lab[..., 0].std())


def _quotas(sizes: dict[str, int], count: int) -> dict[str, int]:
    """Split `count` over groups in proportion to the square root of their sizes (so small
    sources such as street or scene sets are not drowned), capped at each group's size:
    Sainte-Lague seat allocation, one photo at a time."""
    quotas = {g: 0 for g in sizes}
    for _ in range(min(count, sum(sizes.values()))):
        g = max((g for g in sorted(sizes) if quotas[g] < sizes[g]),
                key=lambda g: np.sqrt(sizes[g]) / (quotas[g] + 0.5))
        quotas[g] += 1
    return quotas


def _kmeans_pick(x: np.ndarray, k: int, seed: int = 0, iterations: int = 25) -> list[int]:
    """Indices of `k` distinct rows of `x`, one nearest each k-means centroid (k-means++ start)."""
    if k >= len(x):
        return list(range(len(x)))
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(k - 1):
        centres.append(x[rng.choice(len(x), p=d2 / d2.sum()) if d2.sum() > 0 else rng.integers(len(x))])
        d2 = np.minimum(d2, ((x - centres[-1]) ** 2).sum(1))
    c = np.array(centres)
    for _ in range(iterations):
        dist = ((x ** 2).sum(1)[:, None] - 2 * x @ c.T + (c ** 2).sum(1)[None])
        label = dist.argmin(1)
        for j in range(k):
            if (label == j).any():
                c[j] = x[label == j].mean(0)
    dist = ((x ** 2).sum(1)[:, None] - 2 * x @ c.T + (c ** 2).sum(1)[None])
    chosen: list[int] = []
    for j in range(k):  # the nearest not yet chosen member to each centre
        chosen.append(next(int(i) for i in np.argsort(dist[:, j], kind="stable") if i not in chosen))
    return sorted(chosen)


def build_bank(data_dir: str | os.PathLike, out_dir: str | os.PathLike, count: int,
               side: int = 160, quality: int = 85) -> int:
    """Choose `count` diverse colour photos from `data_dir`, save them to `out_dir` as JPEGs
    (long side `side`) with `index.npz`; return the number saved.

    Gray, near-gray and flat photos are skipped; the rest are stratified by source (the file
    name before its last `_`), and within a source picked by k-means over colour (a-b
    histogram) and luminance-layout features, one photo per cluster. All usable photos fit
    the descriptor standardisation and the luminance -> colour regression."""
    data, out = Path(data_dir), Path(out_dir)
    if not data.is_dir():
        raise RecolorError(f"no such folder: {data}")
    names, thumbs, hists, stats, raws = [], [], [], [], []
    photos = sorted(p for p in data.iterdir() if p.suffix.lower() in SUFFIXES)
    total = len(photos)
    for f in photos:
        try:
            rgb = fit_within(load_image(f, f.name), side)
        except RecolorError as e:
            print(f"skipping: {e}", file=sys.stderr)
            continue
        hist, stat, chroma, l_std = _colour(rgb)
        if is_grayscale(rgb, tol=8) or chroma < 6.0 or l_std < 8.0:
            continue
        names.append(f.name)
        thumbs.append(rgb)
        hists.append(hist)
        stats.append(stat)
        raws.append(describe(rgb))
    if not names:
        raise RecolorError(f"{data}: no usable colour photos for a reference bank")
    print(f"{len(names)} usable colour photos of {total} in {data}", file=sys.stderr)
    raw, stat = np.array(raws), np.array(stats)
    mean, std = raw.mean(axis=0), raw.std(axis=0) + 1e-3
    colour_mean, colour_std = stat.mean(axis=0), stat.std(axis=0) + 1e-3
    z = np.c_[(raw - mean) / std, np.ones(len(raw))]
    target = (stat - colour_mean) / colour_std
    ridge = np.linalg.solve(z.T @ z + RIDGE * np.eye(z.shape[1]), z.T @ target)
    hist = np.array(hists)
    feats = np.c_[hist / (np.linalg.norm(hist, axis=1, keepdims=True) + _EPS), embed(raw, mean, std)]
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        groups.setdefault(n.rsplit("_", 1)[0], []).append(i)
    quotas = _quotas({g: len(ix) for g, ix in groups.items()}, count)
    chosen = sorted(ix[j] for g, ix in groups.items() for j in _kmeans_pick(feats[ix], quotas[g]))
    out.mkdir(parents=True, exist_ok=True)
    index = out / INDEX
    if index.is_file():  # remove the photos of a previous build
        with np.load(index, allow_pickle=False) as old:
            for f in old["files"]:
                (out / str(f)).unlink(missing_ok=True)
    files, descriptors, colours = [], [], []
    for i in chosen:  # descriptors and colours of the saved JPEGs, as the picker will see them
        name = Path(names[i]).stem + ".jpg"
        Image.fromarray(thumbs[i]).save(out / name, quality=quality, optimize=True)
        saved = load_image(out / name)
        files.append(name)
        descriptors.append(describe(saved))
        colours.append(_colour(saved)[1])
    np.savez(index, files=np.array(files), descriptors=np.array(descriptors, dtype=np.float32),
             colours=np.array(colours, dtype=np.float32), mean=mean.astype(np.float32),
             std=std.astype(np.float32), ridge=ridge.astype(np.float32),
             colour_mean=colour_mean.astype(np.float32), colour_std=colour_std.astype(np.float32))
    with _lock:
        _banks.pop(out.resolve(), None)
    return len(files)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="folder of colour photos (e.g. ../shared/data/train)")
    p.add_argument("--count", type=int, default=400, help="number of photos in the bank")
    p.add_argument("--side", type=int, default=160, help="long side of the saved photos, pixels")
    p.add_argument("--out", default=str(DEFAULT_BANK), help="bank folder (default weights/references)")


def main(args: argparse.Namespace) -> int:
    """`python -m recolor build-references`: build the reference bank."""
    if args.count < 1:
        print("error: --count must be at least 1", file=sys.stderr)
        return 2
    try:
        n = build_bank(args.data, args.out, args.count, args.side)
    except RecolorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in Path(args.out).iterdir()) / 2 ** 20
    print(f"{n} reference photos and {INDEX} written to {args.out} ({size:.1f} MB)")
    return 0
