"""research/chroma_frontier.py: the PSNR / colourfulness curve of a method's scaled chroma."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recolor.api import colorize
from recolor.color import gray_to_rgb, luma, rgb_to_yuv
from recolor.metrics import colourfulness, psnr

ROOT = Path(__file__).resolve().parents[2]  # the repository
SCRIPT = ROOT / "research" / "chroma_frontier.py"
spec = importlib.util.spec_from_file_location("chroma_frontier", SCRIPT)
cf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cf)


@pytest.mark.skipif(not (ROOT / "weights" / "pix2pix-mnv2.safetensors").is_file(),
                    reason="needs the shipped pix2pix weights")
def test_frontier_rows_match_the_metrics(tmp_path: Path, colour_photos):
    for i, rgb in enumerate(colour_photos[:2]):
        Image.fromarray(rgb[:96, :128]).save(tmp_path / f"{i}.png")
    rows = cf.frontier(sorted(tmp_path.glob("*.png")), "pix2pix", [0.0, 1.0, 1.5])
    truths = [np.asarray(Image.open(f).convert("RGB")) for f in sorted(tmp_path.glob("*.png"))]
    outs = [colorize(gray_to_rgb(luma(t)), "pix2pix", saturation=1) for t in truths]
    assert rows[1]["psnr"] == pytest.approx(np.mean([psnr(o, t) for o, t in zip(outs, truths)]))
    assert rows[1]["cf"] == pytest.approx(np.mean([colourfulness(o) for o in outs]))
    gray = np.mean([psnr(gray_to_rgb(luma(t)), t) for t in truths])
    assert rows[0]["gray_psnr"] == pytest.approx(gray)
    assert rows[0]["psnr"] == pytest.approx(gray, abs=0.3)  # gain 0: the gray input, up to YUV rounding
    assert rows[0]["cf"] < 1.0 < rows[1]["cf"] < rows[2]["cf"]


def test_cli_prints_a_table(tmp_path: Path, colour_photos):
    for i, rgb in enumerate(colour_photos[:2]):
        Image.fromarray(rgb[:64, :64]).save(tmp_path / f"{i}.png")
    Image.fromarray(gray_to_rgb(luma(colour_photos[0][:64, :64]))).save(tmp_path / "gray.png")
    res = subprocess.run([sys.executable, str(SCRIPT), "--data", str(tmp_path), "--method",
                          "mean_std", "--gains", "1,2"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "2 photos" in res.stdout  # the gray one is skipped
    assert res.stdout.count("\n| 1.00 |") == 1 and res.stdout.count("\n| 2.00 |") == 1
    assert "score: PSNR at colourfulness" in res.stdout


def test_psnr_at_target_interpolates_between_the_gains_that_straddle_it():
    row = lambda g, p, c: {"gain": g, "psnr": p, "cf": c, "truth_cf": 45.0}  # noqa: E731
    rows = [row(1.0, 23.0, 30.0), row(1.5, 22.0, 38.0), row(2.0, 21.0, 42.0)]
    assert cf.psnr_at_target(rows) == pytest.approx(21.5)  # 40 = truth - 5: 38 -> 42, half-way
    assert cf.psnr_at_target(rows, margin=15.0) == pytest.approx(23.0)  # exactly at a row
    assert cf.psnr_at_target(rows, margin=1.0) is None  # 44: more colour than any gain gave


def test_parse_pass():
    assert cf.parse_pass("flip,render_factor=8") == (True, {"render_factor": "8"})
    assert cf.parse_pass("render_factor=10") == (False, {"render_factor": "10"})


@pytest.mark.skipif(not (ROOT / "weights" / "deoldify-slim.safetensors").is_file(),
                    reason="needs the shipped DeOldify weights")
def test_ensemble_averages_the_passes_chroma(colour_photos):
    gray = gray_to_rgb(luma(colour_photos[0][:96, :120]))
    one = colorize(gray, "deoldify", render_factor=8, saturation=1, passes=1)  # passes: gain 1
    assert np.array_equal(cf.ensemble(gray, "deoldify", [(False, {"render_factor": "8",
                                                                  "passes": "1"})]), one)
    own = colorize(gray, "deoldify", render_factor=8, saturation=1)  # the weights' own passes
    assert np.array_equal(cf.ensemble(gray, "deoldify", [(False, {"render_factor": "8"})]), own)
    assert not np.array_equal(own, one)  # the shipped weights average several passes
    twice = cf.ensemble(gray, "deoldify", [(False, {"render_factor": "8"})] * 2)
    assert np.abs(twice.astype(int) - one).max() <= 2  # the mean of one pass twice: itself
    mirror = colorize(np.ascontiguousarray(gray[:, ::-1]), "deoldify", render_factor=8,
                      saturation=1, passes=1)[:, ::-1]
    both = cf.ensemble(gray, "deoldify", [(False, {"render_factor": "8"}),
                                          (True, {"render_factor": "8"})])
    uv = lambda a: rgb_to_yuv(np.ascontiguousarray(a))[..., 1:].astype(float)  # noqa: E731
    err = np.abs(uv(both) - (uv(one) + uv(mirror)) / 2)
    assert err.max() <= 2.0 and err.mean() < 0.5  # up to rounding in and out of YUV
    assert np.abs(uv(one) - uv(mirror)).mean() > 0.1  # the mirror pass differs, so it counts
    assert np.abs(rgb_to_yuv(both)[..., 0].astype(int) - gray[..., 0]).max() <= 1  # Y kept
