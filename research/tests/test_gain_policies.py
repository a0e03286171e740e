"""research/gain_policies.py: other ways than one uniform gain to buy colourfulness, scored."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

ROOT = Path(__file__).resolve().parents[2]  # the repository
sys.path.insert(0, str(ROOT / "research"))  # gain_policies imports chroma_frontier beside it
SCRIPT = ROOT / "research" / "gain_policies.py"
spec = importlib.util.spec_from_file_location("gain_policies", SCRIPT)
gp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gp)
import chroma_frontier as cf  # noqa: E402

from recolor import color as cc  # noqa: E402
from recolor.metrics import colourfulness, psnr  # noqa: E402

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


def test_fit_agreement_recovers_the_slope_per_quartile():
    # the truth follows the prediction fully where the passes agree and half as much elsewhere
    rng = np.random.default_rng(0)
    photos = []
    for _ in range(3):  # spreads in four separated bands of equal size: the quartiles
        s = rng.permutation(np.repeat([0.0, 2.0, 4.0, 6.0], 500) + rng.uniform(0, 1, 2000))
        s = s.reshape(40, 50)
        d = rng.normal(0, 20, (40, 50, 2))
        slope = np.where(s < 1, 1.0, 0.5)[..., None]
        photos.append({"s": s, "d": d, "r": slope * d, "w": float(rng.uniform(0.5, 2))})
    edges, betas = gp.fit_agreement(photos)
    assert 1 < edges[0] < 2 < edges[1] < 4 < edges[2] < 6
    assert betas == pytest.approx([1.0, 0.5, 0.5, 0.5], abs=1e-9)


def test_map_curve_of_ones_is_one_uniform_gain():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 256, (24, 32, 3)).astype(np.uint8)
    gray = cf.gray_to_rgb(cf.luma(truth))
    uv = cf.rgb_to_yuv(truth)[..., 1:].astype(np.float64) * 0.5 + 64
    mean = uv.reshape(-1, 2).mean(0)
    photo = {"truth": truth, "gray": gray, "mean": mean, "d": uv - mean, "s": np.zeros((24, 32))}
    rows = gp.map_curve([photo], lambda q: np.ones(q["s"].shape))
    k = 1.5
    yuv = cf.rgb_to_yuv(gray)
    yuv[..., 1:] = np.clip(np.rint(mean + k * (uv - mean)), 0, 255).astype(np.uint8)
    want = cf.yuv_to_rgb(yuv)
    i = int(np.argmin(np.abs(gp.KS - k)))
    assert rows[i] == pytest.approx((cf.colourfulness(want), cf.psnr(want, truth)))


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
def test_exponent_curve_is_what_scale_chroma_ships(tmp_path: Path, colour_photos):
    # the V-exponent policy scores exactly the product's saturation with a v_exponent
    for i, rgb in enumerate(colour_photos[:2]):
        Image.fromarray(rgb[:96, :128]).save(tmp_path / f"{i}.png")
    photos = gp.load(sorted(tmp_path.glob("*.png")), "pix2pix", tmp_path / "cache")
    for ph in photos:
        ph["parts"] = gp.parts(ph)
    rows = dict(zip(gp.KS, gp.exponent_curve(photos, 1.6)))
    for k in (1.0, 1.5):
        outs = [cc.scale_chroma(ph["pred"], k, 1.6) for ph in photos]
        want = (np.mean([colourfulness(o) for o in outs]),
                np.mean([psnr(o, ph["truth"]) for o, ph in zip(outs, photos)]))
        assert rows[k] == pytest.approx(want, abs=0.02)
    assert rows[1.5] != pytest.approx(dict(zip(gp.KS, gp.exponent_curve(photos, 1.0)))[1.5],
                                      abs=0.01)


@NEEDS_PIX2PIX
def test_cli_prints_every_policy(tmp_path: Path, colour_photos):
    for i, rgb in enumerate(colour_photos[:4]):
        Image.fromarray(rgb[:64, :64]).save(tmp_path / f"{i}.png")
    res = subprocess.run([sys.executable, str(SCRIPT), "--data", str(tmp_path), "--method",
                          "pix2pix", "--cache", str(tmp_path / "cache"), "--powers=-0.5,0.5",
                          "--uv-ratios", "1.2", "--v-exponents", "1.5"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "2 even and 2 odd photos" in res.stdout
    for name in ("| uniform |", "| power -0.5 |", "| power 0.5 |", "| band (", "| uv (",
                 "| V/U 1.2 |", "| V exponent 1.5 |"):
        assert res.stdout.count(name) == 1, name
    # the agreement policy: two passes, their U, V cached per photo
    res = subprocess.run([sys.executable, str(SCRIPT), "--data", str(tmp_path), "--method",
                          "pix2pix", "--cache", str(tmp_path / "cache"), "--powers=",
                          "--agreement-pass", "passes=1",
                          "--agreement-pass", "flip,passes=1"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    for name in ("| uniform, the 2 passes averaged |", "| agreement |", "spread quartiles"):
        assert res.stdout.count(name) == 1, name
    assert "| power" not in res.stdout
    assert len(list((tmp_path / "cache" / "passes").glob("*.npz"))) == 4


def _curves(a: list[float], cost: list[float]) -> list[dict]:
    """Synthetic photos: colourfulness a_i * gain, PSNR 30 - cost_i * (gain - 1)^2."""
    return [{"cf": ai * gp.GRID, "psnr": 30 - ci * (gp.GRID - 1) ** 2, "truth_cf": 40.0}
            for ai, ci in zip(a, cost)]


def test_aim_at_the_photos_own_colourfulness_is_one_uniform_gain():
    photos = _curves([10, 20, 40], [1, 2, 3])
    rows = gp.aim_curve(photos, np.array([10.0, 20.0, 40.0]))
    for c, s in rows[::40]:  # every photo at the same gain k: mean CF 70k/3
        k = c / (70 / 3)
        if gp.GRID[0] <= k <= gp.GRID[-1]:
            assert s == pytest.approx(30 - 2 * (k - 1) ** 2, abs=1e-9)


def test_oracle_beats_one_uniform_gain_where_costs_differ():
    photos = _curves([20, 20], [0.5, 8])  # colour is cheap in the first photo only
    uniform, oracle = gp.power_curve(photos, 0.0), gp.oracle_curve(photos)
    assert gp.score(oracle, photos, 12) > gp.score(uniform, photos, 12) + 0.5  # at CF 28
    same = _curves([20, 20], [2, 2])  # identical photos: nothing to gain
    assert gp.score(gp.oracle_curve(same), same, 12) == pytest.approx(
        gp.score(gp.power_curve(same, 0.0), same, 12), abs=0.02)


def test_fit_aim_predicts_a_linear_target():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (400, 30)) * rng.uniform(0.1, 10, 30)  # unequal scales: standardised
    w = rng.normal(0, 1, 30) / x.std(0)
    y = x @ w + rng.normal(0, 0.1, 400)
    predict = gp.fit_aim(x[:300], y[:300])
    assert np.corrcoef(predict(x[300:]), y[300:])[0, 1] > 0.95
    wr, b = gp.ridge(x, x @ w + 3, 1e-9)
    assert wr == pytest.approx(w, abs=1e-6) and b == pytest.approx(3, abs=1e-6)


@NEEDS_PIX2PIX
def test_cli_oracle_and_aim(tmp_path: Path, colour_photos):
    for i, rgb in enumerate(colour_photos[:6]):
        Image.fromarray(rgb[:64, :64]).save(tmp_path / f"{i}.png")
    res = subprocess.run([sys.executable, str(SCRIPT), "--data", str(tmp_path), "--method",
                          "pix2pix", "--cache", str(tmp_path / "cache"), "--powers=", "--oracle",
                          "--aim-train", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    for name in ("| oracle: per-photo gains chosen with the truth (a bound) |",
                 "| aim at the truth's colourfulness (a bound) |",
                 "| aim at the predicted colourfulness |", "even half: r = ", "odd half: r = "):
        assert res.stdout.count(name) == 1, name
    # the encoder's features: the training folder's and each half's, cached, and reused
    mtimes = {f.name: f.stat().st_mtime_ns for f in (tmp_path / "cache").glob("aim-*.npz")}
    assert {f.name for f in (tmp_path / "cache").glob("aim-*.npz")} == {
        "aim-train.npz", "aim-even.npz", "aim-odd.npz"}
    other = tmp_path / "other"  # another training folder: its features are computed anew
    other.mkdir()
    for f in sorted(tmp_path.glob("*.png"))[:3]:
        (other / f.name).write_bytes(f.read_bytes())
    res = subprocess.run([sys.executable, str(SCRIPT), "--data", str(tmp_path), "--method",
                          "pix2pix", "--cache", str(tmp_path / "cache"), "--powers=",
                          "--aim-train", str(other)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    now = {f.name: f.stat().st_mtime_ns for f in (tmp_path / "cache").glob("aim-*.npz")}
    assert now["aim-train.npz"] != mtimes["aim-train.npz"]
    for half in ("aim-even.npz", "aim-odd.npz"):
        assert now[half] == mtimes[half]
