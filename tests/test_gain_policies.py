"""scripts/gain_policies.py: other ways than one uniform gain to buy colourfulness, scored."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # gain_policies imports chroma_frontier beside it
SCRIPT = ROOT / "scripts" / "gain_policies.py"
spec = importlib.util.spec_from_file_location("gain_policies", SCRIPT)
gp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gp)
import chroma_frontier as cf  # noqa: E402

NEEDS_PIX2PIX = pytest.mark.skipif(not (ROOT / "weights" / "pix2pix-mnv2.safetensors").is_file(),
                                   reason="needs the shipped pix2pix weights")


def _parts(truth_of: callable, seed: int) -> dict:
    """A synthetic prediction: a smooth and a fine chroma deviation; the truth is built from them."""
    rng = np.random.default_rng(seed)
    coarse = np.stack([gaussian_filter(rng.normal(0, 40, (48, 64)), 6) for _ in (0, 1)], -1)
    fine = rng.normal(0, 5, (48, 64, 2))
    d = coarse + fine
    return {"coarse": coarse, "fine": fine, "d": d, "r": truth_of(coarse, fine, d),
            "w": float(rng.uniform(0.5, 2))}


def test_fit_ratios_recovers_the_slopes():
    # truth = 2 x the coarse part + 1 x the fine part: the fine part earns half the coarse gain
    photos = [{"parts": _parts(lambda c, f, d: 2 * c + f, s)} for s in range(3)]
    assert gp.fit_ratios(photos)["band"] == pytest.approx(0.5, abs=1e-9)
    # truth V = half the predicted V, U as predicted: V earns half U's gain, the bands the same
    photos = [{"parts": _parts(lambda c, f, d: d * np.array([1.0, 0.5]), s)} for s in range(3)]
    ratios = gp.fit_ratios(photos)
    assert ratios["uv"] == pytest.approx(0.5, abs=1e-9)
    assert ratios["band"] == pytest.approx(1.0, abs=0.05)  # each band scaled alike


@NEEDS_PIX2PIX
def test_uniform_policy_is_chroma_frontiers_curve(tmp_path: Path, colour_photos):
    for i, rgb in enumerate(colour_photos[:2]):
        Image.fromarray(rgb[:96, :128]).save(tmp_path / f"{i}.png")
    files = sorted(tmp_path.glob("*.png"))
    photos = gp.load(files, "pix2pix", tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.png"))) == 2  # the gain-1 results, cached
    rows = cf.frontier(files, "pix2pix", [float(g) for g in gp.GRID if g >= 1])
    # a colourfulness half-way along the curve, which both must reach
    margin = rows[0]["truth_cf"] - (rows[0]["cf"] + rows[-1]["cf"]) / 2
    theirs = cf.psnr_at_target(rows, margin)
    assert theirs is not None
    assert gp.score(gp.power_curve(photos, 0.0), photos, margin) == pytest.approx(theirs, abs=1e-9)
    # lifting the duller photo's gain more is another curve
    assert gp.score(gp.power_curve(photos, 1.0), photos, margin) != pytest.approx(theirs, abs=1e-6)


@NEEDS_PIX2PIX
def test_cli_prints_every_policy(tmp_path: Path, colour_photos):
    for i, rgb in enumerate(colour_photos[:4]):
        Image.fromarray(rgb[:64, :64]).save(tmp_path / f"{i}.png")
    res = subprocess.run([sys.executable, str(SCRIPT), "--data", str(tmp_path), "--method",
                          "pix2pix", "--cache", str(tmp_path / "cache"), "--powers=-0.5,0.5"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "2 even and 2 odd photos" in res.stdout
    for name in ("| uniform |", "| power -0.5 |", "| power 0.5 |", "| band (", "| uv ("):
        assert res.stdout.count(name) == 1, name
