"""An archive to colorize in tests: small gray photos in two folders with the same file names,
broken files among them, and a small colour reference (fast transfers)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from PIL import Image

from .badfiles import REFUSED, write_bad_files


def make_archive(root: Path, per_folder: int = 47) -> dict:
    """root/a and root/b each hold `per_folder` 48x48 gray JPEGs named p00.jpg...; root/bad
    holds the refused files of `badfiles`. Returns the folders, the good files and the
    reference."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:48, 0:48]
    good = []
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
        for i in range(per_folder):
            g = np.clip((x + y) * 2 + rng.normal(0, 20, (48, 48)) + i, 0, 255).astype(np.uint8)
            path = root / folder / f"p{i:02d}.jpg"
            Image.fromarray(g).save(path, quality=90)
            good.append(path.absolute())
    scratch = root / "scratch"
    scratch.mkdir()
    cases = write_bad_files(scratch)
    (root / "bad").mkdir()
    bad = {}
    for name in REFUSED:
        bad[name] = (root / "bad" / name).absolute()
        bad[name].write_bytes(cases[name].read_bytes())
    ref = root / "ref.png"
    Image.fromarray(np.stack([x * 5, y * 5, 255 - x * 5], -1).astype(np.uint8)).save(ref)
    return {"inputs": [root / "a", root / "b", root / "bad"], "good": good, "bad": bad,
            "reference": ref}


def rows(out: Path) -> dict[tuple[str, str], dict]:
    """The manifest's rows, (path, method) -> row as a dict."""
    db = sqlite3.connect(out / "manifest.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return {(r["path"], r["method"]): dict(r) for r in db.execute("SELECT * FROM files")}
    finally:
        db.close()


def mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
