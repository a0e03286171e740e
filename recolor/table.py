"""The app's results table, without Gradio: a run (`job`, then `frames` as the methods
finish), one column per method (its header, its PNG with provenance, its scores) and the
"Download all" ZIP with a `settings.json`.

Data flow: photo array -> `Job` (gray, maybe restored; reference) -> `gallery.run_all` cells
(arrays; each result written once by its worker, `outputs.RunFiles`: a preview for the page,
the full-size PNG with the provenance chunk for download) -> the column texts and the
ZIP here -> the UI.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .color import gray_to_rgb, is_grayscale, luma
from .errors import RecolorError
from .gallery import Cell, restored, run_all
from .images import load_image
from .metrics import COLUMNS, LABELS, score
from .outputs import RunFiles, shared_image
from .references import top_references
from .registry import METHODS

READ_ME = ("**How to read this table:** the first column is what every method starts from: the "
           "grayscale input, the colour reference (the three transfers borrow its colours; the "
           "two networks ignore it) and, for a colour upload, the original. Then one column per "
           "method: how it works, its time and, given the original, its scores (higher PSNR "
           "and SSIM, lower ΔE2000: closer; CF: colourfulness). Click a result to compare it "
           "with the input; ← → step through the five.")


def method_settings(options: dict[str, dict[str, Any]], restore: bool) -> dict[str, dict]:
    """Each method's full options (the registry's defaults overlaid with `options`), and
    whether the input was restored: what its PNG chunk and `settings.json` record."""
    return {k: {**m.parse_options(options.get(k, {})), "restore": bool(restore)}
            for k, m in METHODS.items()}


def header(cell: Cell) -> str:
    """The Markdown above a method's column: name, how it works, and what ran (the settings of
    its caption, e.g. "rf 16 · 4 passes · colour ×1.5 · 1.10 s") or its state."""
    m = METHODS[cell.key]
    if cell.error:
        state = f"**failed:** {cell.error}"
    elif cell.seconds is None:
        state = "*running…*"
    else:
        state = f"**{cell.caption.removeprefix(m.name + ' · ')}**"
    return f"### {m.name}\n{m.description}\n\n{state}"


def scores_of(image: np.ndarray, truth: np.ndarray, seconds: float | None = None) -> dict:
    """The scores of `image` against `truth` (`recolor.metrics.score`), rounded as shown."""
    s = score(image, truth)
    out = {c: round(s[c], 3 if c == "ssim" else 2) for c in COLUMNS}
    if seconds is not None:
        out["seconds"] = round(seconds, 2)
    return out


def score_text(scores: dict | None) -> str:
    """One method's scores as the line under its column ("" without ground truth)."""
    if not scores:
        return ""
    return " · ".join(f"{LABELS[c]} {scores[c]:g}" for c in COLUMNS if c in scores)


def score_row(name: str, scores: dict) -> list:
    """A row of the API's score table: method name, the metrics, seconds."""
    return [name, *[scores[c] for c in COLUMNS], scores.get("seconds", 0.0)]


def settings_doc(cells: list[Cell], settings: dict[str, dict], scores: dict[str, dict],
                 photo: str, reference: str, mark: bool) -> dict[str, Any]:
    """`settings.json` of the ZIP: what was run on what, each method's options, time and,
    given ground truth, scores (the "gray" entry: the input itself, the baseline)."""
    methods = {}
    for c in cells:
        entry: dict[str, Any] = {"name": METHODS[c.key].name,
                                 "description": METHODS[c.key].description,
                                 "options": settings[c.key], "seconds": c.seconds}
        if c.error:
            entry["error"] = c.error
        if c.key in scores:
            entry["scores"] = scores[c.key]
        methods[c.key] = entry
    doc: dict[str, Any] = {"software": "recolor", "photo": photo, "reference": reference,
                           "corner_mark": mark, "methods": methods}
    if "gray" in scores:
        doc["gray_scores"] = scores["gray"]
    return doc


def write_zip(path: str | Path, results: dict[str, str], extras: dict[str, str | None],
              doc: dict[str, Any]) -> Path:
    """The "Download all" archive: the results' PNGs (under their own names), `extras`
    (archive name -> file: input, reference, ground truth) and `settings.json`."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:  # PNGs: compressed
        for src in results.values():
            z.write(src, Path(src).name)
        for name, src in extras.items():
            if src:
                z.write(src, name)
        z.writestr("settings.json", json.dumps(doc, indent=2, default=str))
    return path


@dataclass
class Job:
    """One run's inputs, as the methods see them: the grayscale (maybe restored) photo, the
    reference (given or picked), the original when it was a colour photo, the options."""
    gray: np.ndarray
    ref: np.ndarray | None
    truth: np.ndarray | None
    options: dict[str, dict[str, Any]]
    restore: bool
    mark: bool
    stem: str
    ref_name: str
    candidates: list[str]
    note: str


def job(rgb: np.ndarray, ref: np.ndarray | None, options: dict[str, dict[str, Any]],
        restore: bool = False, mark: bool = False, stem: str = "photo", ref_name: str = "",
        suggestions: int = 6) -> Job:
    """A run of the table on uint8 RGB `rgb`: its grayscale version (restored when asked:
    every method then gets it), and a reference picked from the bank when none is given (the
    `suggestions` best kept as candidates; 0: no reference is picked)."""
    gray = gray_to_rgb(luma(rgb))
    if restore:
        gray = restored(gray)
    candidates, notes = [], []
    if ref is None and suggestions > 0:
        try:
            candidates = [str(p) for p, _ in top_references(gray, k=suggestions)]
            ref = load_image(candidates[0], "reference")
            ref_name = f"picked from the reference bank: {Path(candidates[0]).name}"
            notes.append("No reference given: picked one from the reference bank by the "
                         "photo's layout (others below; click one to use it).")
        except RecolorError as e:
            notes.append(f"No reference given, and none could be picked: {e}")
    colour = not is_grayscale(rgb)
    if colour:
        notes.append("Colour upload: the methods see its grayscale version; the original is "
                     "shown as ground truth and each result is scored against it.")
    if restore:
        notes.append("Restore is on: every method got the denoised, contrast-normalised input "
                     "shown in the first column, and the results keep its luminance.")
    return Job(gray, ref, rgb if colour else None, options, restore, mark, stem, ref_name,
               candidates, " ".join(notes))


@dataclass
class Frame:
    """One update of a run: the cells so far, their PNG files and scores."""
    cells: list[Cell]
    files: RunFiles
    settings: dict[str, dict]
    scores: dict[str, dict]
    done: bool

    def path(self, i: int) -> str | None:
        """The page image of column `i`: the result's preview (written by the worker that
        made it), or its "running" / failure tile."""
        c = self.cells[i]
        if c.ok:
            return c.preview
        if c.error:
            return self.files.image(f"{c.key}-{c.caption}", c.image)
        return shared_image(f"{c.caption} {c.image.shape}", c.image)  # every run shows these

    def full(self, i: int) -> str | None:
        """The full-size PNG of column `i`'s result, for download (None before it exists)."""
        return self.cells[i].full if self.cells[i].ok else None


def frames(j: Job) -> Iterator[Frame]:
    """Run every method on `j`, one Frame each time a method finishes; the last has
    done=True. The PNGs are removed when the run ends (the UI has its own copies by then)."""
    settings = method_settings(j.options, j.restore)
    files = RunFiles(j.stem, j.mark, settings)
    scores: dict[str, dict] = {}
    if j.truth is not None:
        scores["gray"] = scores_of(j.gray, j.truth, 0.0)
    try:
        for cells in run_all(j.gray, j.ref, j.options, files=files):
            for c in cells:
                if j.truth is not None and c.ok and c.key not in scores:
                    scores[c.key] = scores_of(c.image, j.truth, c.seconds)
            yield Frame(cells, files, settings, scores, all(c.ok or c.error for c in cells))
    finally:
        files.close()


def status(j: Job, f: Frame) -> str:
    """The line under the table: how many methods are done, notes, and each failure."""
    done = sum(c.ok for c in f.cells)
    text = f"{done} of {len(f.cells)} methods done. {j.note}"
    failed = [c.caption for c in f.cells if c.error]
    return text + ("\n\n" + "\n".join(f"- {x}" for x in failed) if failed else "")


def input_files(j: Job, files: RunFiles) -> dict[str, str | None]:
    """The first column's page images (previews, plain: no colours of ours in them)."""
    return {"input": files.image("input", j.gray), "reference": files.image("reference", j.ref),
            "truth": files.image("ground truth", j.truth)}


def suggestion_files(j: Job, files: RunFiles) -> list[str]:
    """The suggested references as served PNGs (each bank photo read once per run)."""
    return [files.known(c) or files.image(c, load_image(c, "reference")) for c in j.candidates]


def gray_scores(f: Frame) -> str:
    """The input's own scores (the baseline), under the first column."""
    s = f.scores.get("gray")
    return f"The input itself, as a baseline: {score_text(s)}" if s else ""


def zip_all(j: Job, f: Frame) -> str:
    """The "Download all" ZIP of a finished run (full-size PNGs), next to its PNGs."""
    doc = settings_doc(f.cells, f.settings, f.scores, j.stem, j.ref_name, j.mark)
    results = {c.key: f.full(i) for i, c in enumerate(f.cells) if c.ok}
    extras = {"input.png": f.files.original("input", j.gray),
              "reference.png": f.files.original("reference", j.ref),
              "ground_truth.png": f.files.original("ground truth", j.truth)}
    return str(write_zip(f.files.dir / f"{j.stem}_recolor.zip", results, extras, doc))
