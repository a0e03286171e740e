import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recolor import METHODS, metrics, registry
from recolor.cli import main
from recolor.color import gray_to_rgb, luma

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def photo_dir(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    for p in sorted(EXAMPLES.glob("*_ref.jpg"))[:3]:
        Image.open(p).resize((96, 64)).save(d / p.name)
    Image.open(EXAMPLES / "01_people.jpg").resize((96, 64)).save(d / "zz_gray.jpg")  # skipped
    return d


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_reports_have_the_right_rows(photo_dir, tmp_path):
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(photo_dir), "--methods", "mean_std,lab_mean",
                 "--out", str(out)]) == 0
    rows = _rows(out / "per_image.csv")
    assert len(rows) == 3 * 3  # 3 colour photos x (gray + 2 methods); the gray photo skipped
    assert {r["method"] for r in rows} == {"gray", "mean_std", "lab_mean"}
    summary = _rows(out / "summary.csv")
    assert [r["method"] for r in summary] == ["gray", "mean_std", "lab_mean"]
    md = (out / "summary.md").read_text()
    assert "Mean/StD transfer" in md and "1 grayscale" in md
    for name in ("summary.png", "grid.png"):
        assert Image.open(out / name).size[0] > 100


def test_gray_baseline_equals_the_metric(photo_dir, tmp_path):
    out = tmp_path / "r"
    main(["evaluate", "--data", str(photo_dir), "--methods", "lab_mean", "--out", str(out)])
    first = sorted(photo_dir.glob("*_ref.jpg"))[0]
    truth = np.asarray(Image.open(first).convert("RGB"))
    expected = metrics.delta_e(gray_to_rgb(luma(truth)), truth)
    row = next(r for r in _rows(out / "per_image.csv")
               if r["image"] == first.name and r["method"] == "gray")
    assert float(row["de2000"]) == pytest.approx(expected, abs=1e-3)


def test_a_failing_method_is_recorded_not_fatal(photo_dir, tmp_path, monkeypatch):
    calls = []

    def flaky(rgb, reference, **_):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("flaky failure")
        return rgb

    monkeypatch.setitem(registry.METHODS, "mean_std", replace(METHODS["mean_std"], run=flaky))
    out = tmp_path / "r"
    assert main(["evaluate", "--data", str(photo_dir), "--methods", "mean_std",
                 "--out", str(out)]) == 0
    rows = [r for r in _rows(out / "per_image.csv") if r["method"] == "mean_std"]
    assert sum(bool(r["error"]) for r in rows) == 1 and "flaky" in "".join(r["error"] for r in rows)
    assert _rows(out / "summary.csv")[1]["failed"] == "1"


def test_limit_and_fixed_reference(photo_dir, tmp_path):
    out = tmp_path / "r"
    assert main(["evaluate", "--data", str(photo_dir), "--methods", "pdf", "--limit", "1",
                 "--reference", str(EXAMPLES / "06_food_ref.jpg"), "--out", str(out)]) == 0
    assert len(_rows(out / "per_image.csv")) == 2


def test_options_reach_the_methods_that_have_them(photo_dir, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["evaluate", "--data", str(photo_dir), "--methods", "pdf,lab_mean", "--limit", "2"]
    assert main([*common, "--out", str(a)]) == 0
    assert main([*common, "--option", "iterations=1", "--option", "regrain=false",
                 "--out", str(b)]) == 0
    ra, rb = _rows(a / "per_image.csv"), _rows(b / "per_image.csv")
    pick = lambda rows, m: [r["psnr"] for r in rows if r["method"] == m]  # noqa: E731
    assert pick(ra, "lab_mean") == pick(rb, "lab_mean")  # no such options: unchanged
    assert pick(ra, "pdf") != pick(rb, "pdf")
    assert main([*common, "--option", "render_factor=9", "--out", str(b)]) == 2  # nobody has it
    assert main([*common, "--option", "iterations", "--out", str(b)]) == 2


def test_ab_error_is_chroma_only_and_gray_scores_the_truths_chroma():
    from skimage.color import rgb2lab
    truth = np.asarray(Image.open(EXAMPLES / "06_food_ref.jpg").convert("RGB"))
    gray = gray_to_rgb(luma(truth))
    lab = rgb2lab(truth)
    assert metrics.ab_error(gray, truth) == pytest.approx(
        np.hypot(lab[..., 1], lab[..., 2]).mean(), abs=0.3)  # gray: a = b = 0 (within rounding)
    assert metrics.ab_error(truth, truth) == 0.0
    darker = np.clip(truth.astype(int) - 30, 0, 255).astype(np.uint8)  # L moves, chroma less
    assert metrics.ab_error(darker, truth) < 0.5 * metrics.delta_e(darker, truth) + 5
    assert metrics.score(gray, truth)["ab_err"] == pytest.approx(metrics.ab_error(gray, truth))


def test_degrade_ages_the_input_and_scores_against_the_clean_photo(photo_dir, tmp_path):
    """--degrade 1: the gray baseline is the aged gray, so its PSNR falls while its ab error
    (no colour either way) stays; the same run twice gives the same numbers (seeded by name);
    people photos get their own table."""
    for p in sorted(photo_dir.glob("*_ref.jpg"))[:1]:
        (photo_dir / ("ccp_" + p.name)).write_bytes(p.read_bytes())
    clean, aged, again = tmp_path / "c", tmp_path / "a", tmp_path / "a2"
    base = ["evaluate", "--data", str(photo_dir), "--methods", "lab_mean"]
    assert main([*base, "--out", str(clean)]) == 0
    assert main([*base, "--degrade", "1", "--out", str(aged)]) == 0
    assert main([*base, "--degrade", "1", "--out", str(again)]) == 0
    c, a = _rows(clean / "summary.csv"), _rows(aged / "summary.csv")
    assert float(a[0]["psnr"]) < float(c[0]["psnr"]) - 1
    assert float(a[0]["ab_err"]) == pytest.approx(float(c[0]["ab_err"]), abs=0.5)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(_rows(aged / "per_image.csv")) == strip(_rows(again / "per_image.csv"))
    md = (aged / "summary.md").read_text()
    assert "aged at strength 1" in md and "## People (1 photos)" in md and "## The rest (3" in md


def test_halves_split_the_sorted_set(photo_dir, tmp_path):
    names = {}
    for half in ("even", "odd"):
        out = tmp_path / half
        assert main(["evaluate", "--data", str(photo_dir), "--methods", "lab_mean",
                     "--half", half, "--reference", str(EXAMPLES / "06_food_ref.jpg"),
                     "--out", str(out)]) == 0
        names[half] = {r["image"] for r in _rows(out / "per_image.csv")}
    files = sorted(p.name for p in photo_dir.glob("*.jpg") if p.name != "zz_gray.jpg")
    assert names["even"] == set(files[0::2]) and names["odd"] == set(files[1::2])
