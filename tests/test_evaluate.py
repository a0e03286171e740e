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
