import numpy as np
import pytest
import torch

from recolor import transfer
from recolor.color import gray_to_rgb, luma, rgb_to_lab
from recolor.metrics import sliced_distance

TRANSFERS = [transfer.mean_std, transfer.lab_mean, transfer.pdf]


def _lightness_error(out: np.ndarray, inp: np.ndarray) -> np.ndarray:
    return np.abs(rgb_to_lab(out)[..., 0] - rgb_to_lab(inp)[..., 0])


@pytest.mark.parametrize("fn", TRANSFERS, ids=lambda f: f.__name__)
def test_real_gray_photo_gets_colour_and_keeps_lightness(fn, example_pair):
    gray, ref = example_pair
    out = fn(gray, ref, keep_luminance=True)
    assert out.shape == gray.shape and out.dtype == np.uint8
    lab = rgb_to_lab(out)
    assert np.isfinite(lab).all()
    err = _lightness_error(out, gray)
    assert err.mean() < 0.5 and np.percentile(err, 99) < 2.5  # uint8 rounding, gamut clipping
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    assert chroma.mean() > 3  # it is coloured, not gray


@pytest.mark.parametrize("fn", TRANSFERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (8, 8), (33, 17)])
def test_odd_and_tiny_inputs(fn, shape, example_pair):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    out = fn(x, example_pair[1])
    assert out.shape == x.shape and out.dtype == np.uint8


@pytest.mark.parametrize("value", [0, 128, 255])
def test_flat_input_gets_the_reference_mean_colour(value, example_pair):
    """A one-colour photo has no distribution to match: each transfer gives every pixel the
    reference's mean colour (RGB mean for Mean/StD, Lab mean for Lab mean, the mean along
    every rotated axis for PDF), a finite and flat result whatever the photo's value."""
    x = np.full((20, 30, 3), value, np.uint8)
    ref = example_pair[1]
    ref_rgb = ref.reshape(-1, 3).mean(0)
    ref_lab = rgb_to_lab(ref).reshape(-1, 3).mean(0)
    outs = {fn.__name__: fn(x, ref, keep_luminance=False) for fn in TRANSFERS}
    outs["pdf_no_regrain"] = transfer.pdf(x, ref, keep_luminance=False, regrain=False)
    for name, out in outs.items():
        assert out.shape == x.shape and out.dtype == np.uint8, name
        assert (out == out[0, 0]).all(), name  # flat in, flat out
    np.testing.assert_allclose(outs["mean_std"][0, 0], ref_rgb, atol=1)
    np.testing.assert_allclose(rgb_to_lab(outs["lab_mean"])[0, 0], ref_lab, atol=0.5)
    # PDF samples the reference (REFERENCE_SAMPLES pixels): its mean within 2 levels
    np.testing.assert_allclose(outs["pdf_no_regrain"][0, 0], ref_rgb, atol=2)
    # regrain keeps the input's gradients and pulls toward the transferred colour only at
    # the guide's edges: a flat photo has none, so it comes back as it was
    assert np.array_equal(outs["pdf"], x)


def test_mean_std_matches_the_formula():
    rng = np.random.default_rng(2)
    x = rng.normal(120, 10, (50, 60, 3)).clip(0, 255).astype(np.uint8)
    ref = np.stack([rng.normal(m, s, (40, 40)) for m, s in [(80, 20), (140, 15), (100, 30)]], -1)
    ref = ref.clip(0, 255).astype(np.uint8)
    out = transfer.mean_std(x, ref, keep_luminance=False).reshape(-1, 3).astype(float)
    xf = x.reshape(-1, 3).astype(float)
    rf = ref.reshape(-1, 3).astype(float)
    expected = (xf - xf.mean(0)) / xf.std(0) * rf.std(0) + rf.mean(0)
    assert np.abs(out - expected.clip(0, 255)).max() <= 1.0


def test_lab_mean_on_gray_gives_reference_mean_colour(example_pair):
    gray, ref = example_pair
    out = transfer.lab_mean(gray, ref)
    ab = rgb_to_lab(out)[..., 1:].reshape(-1, 2)
    ref_ab = rgb_to_lab(ref)[..., 1:].reshape(-1, 2).mean(0)
    unclipped = (out.reshape(-1, 3) > 2).all(1) & (out.reshape(-1, 3) < 253).all(1)
    np.testing.assert_allclose(np.median(ab[unclipped], 0), ref_ab, atol=1.5)


def test_lab_mean_matches_lab_moments_on_colour(colour_photos):
    src, ref = colour_photos[0], colour_photos[1]
    out = rgb_to_lab(transfer.lab_mean(src, ref, keep_luminance=False)).reshape(-1, 3)
    lab_s, lab_r = rgb_to_lab(src).reshape(-1, 3), rgb_to_lab(ref).reshape(-1, 3)
    for moment in (np.mean, np.std):  # clipping to the sRGB gamut keeps it from being exact
        before = np.abs(moment(lab_s, 0) - moment(lab_r, 0))
        after = np.abs(moment(out, 0) - moment(lab_r, 0))
        assert (after <= 0.6 * before + 1.5).all(), (moment.__name__, before, after)


def test_match_histogram_1d_matches_quantiles():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20000, generator=g)
    ref = torch.randn(30000, generator=g) * 2 + 5
    out = transfer.match_histogram_1d(x, ref)
    q = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95])
    assert torch.allclose(torch.quantile(out, q), torch.quantile(ref, q), atol=0.1)


def test_pdf_transfer_matches_the_reference_distribution(colour_photos):
    src, ref = colour_photos[0], colour_photos[1]
    out = transfer.pdf(src, ref, regrain=False, keep_luminance=False)
    before, after = sliced_distance(src, ref), sliced_distance(out, ref)
    assert after < 0.25 * before
    # and better than matching the moments only
    assert after < sliced_distance(transfer.mean_std(src, ref, keep_luminance=False), ref)


def test_pdf_is_deterministic_given_seed(example_pair):
    gray, ref = example_pair
    a = transfer.pdf(gray, ref, iterations=8, seed=3)
    assert np.array_equal(a, transfer.pdf(gray, ref, iterations=8, seed=3))
    assert not np.array_equal(a, transfer.pdf(gray, ref, iterations=8, seed=4))


def test_rotations_are_orthonormal():
    R = transfer.rotations(12, seed=5).double()
    eye = torch.eye(3, dtype=torch.float64).expand(12, 3, 3)
    assert torch.allclose(R @ R.transpose(1, 2), eye, atol=1e-5)


def _high_pass(x: np.ndarray) -> np.ndarray:
    x = x.astype(float)
    return x[1:-1, 1:-1] * 4 - x[:-2, 1:-1] - x[2:, 1:-1] - x[1:-1, :-2] - x[1:-1, 2:]


def test_regrain_restores_the_input_grain(colour_photos):
    src, ref = colour_photos[0], colour_photos[1]
    plain = transfer.pdf(src, ref, regrain=False, keep_luminance=False)
    regrained = transfer.pdf(src, ref, regrain=True, keep_luminance=False)
    g_in, g_plain, g_re = (_high_pass(luma(x)) for x in (src, plain, regrained))
    err_plain = np.abs(g_plain - g_in).mean()
    err_re = np.abs(g_re - g_in).mean()
    assert err_re < 0.8 * err_plain
    # while the colours stay those of the transfer
    assert sliced_distance(regrained, ref) < 0.5 * sliced_distance(src, ref)


def test_gray_expanded_input_is_accepted(colour_photos, example_pair):
    gray = gray_to_rgb(luma(colour_photos[2]))
    for fn in TRANSFERS:
        assert fn(gray, example_pair[1]).shape == gray.shape


@pytest.mark.parametrize("fn", TRANSFERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("keep", [True, False])
def test_gray_fast_path_equals_the_per_pixel_transfer(fn, keep, example_pair, monkeypatch):
    gray, ref = example_pair
    fast = fn(gray, ref, keep_luminance=keep).astype(int)
    monkeypatch.setattr(transfer, "GRAY_FAST_PATH", False)
    plain = fn(gray, ref, keep_luminance=keep).astype(int)
    assert np.abs(fast - plain).max() <= 1
    assert np.abs(fast - plain).mean() < 0.05


def test_levels_cover_every_pixel(example_pair):
    px = transfer._pixels(example_pair[0])
    assert len(px.values) <= 256 and int(px.weights.sum()) == example_pair[0].shape[0] * example_pair[0].shape[1]
    back = (px.expand(px.values) * 255).round().byte().numpy()
    assert np.array_equal(back, example_pair[0])
