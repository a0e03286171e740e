import math

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from recolor import metrics


def test_identical_images():
    x = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert metrics.psnr(x, x) == math.inf
    # CIEDE2000 of a photo with itself is 0 up to rounding: NumPy's vectorised float paths
    # can leave 1e-15 (3 failures in about 250 runs), so an exact == 0 was a flaky test
    assert metrics.delta_e(x, x) == pytest.approx(0, abs=1e-9)
    assert metrics.ssim(x, x) == pytest.approx(1.0)


def test_psnr_by_hand():
    a = np.zeros((4, 4, 3), np.uint8)
    b = np.full((4, 4, 3), 10, np.uint8)  # mse 100
    assert metrics.psnr(b, a) == pytest.approx(10 * math.log10(255 ** 2 / 100))


def test_known_colour_shift_delta_e():
    a = np.full((4, 4, 3), (128, 128, 128), np.uint8)
    b = np.full((4, 4, 3), (138, 128, 128), np.uint8)
    expected = deltaE_ciede2000(rgb2lab(a[:1, :1]), rgb2lab(b[:1, :1]))[0, 0]
    assert metrics.delta_e(b, a) == pytest.approx(expected)
    assert 2 < expected < 6  # a small red shift of a mid gray is a few units


def test_colourfulness_by_hand():
    gray = np.full((8, 8, 3), 77, np.uint8)
    assert metrics.colourfulness(gray) == 0
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 200  # rg = 200, yb = 100, no spread
    assert metrics.colourfulness(red) == pytest.approx(0.3 * math.hypot(200, 100))
    half = red.copy()
    half[:4] = 0  # rg in {0, 200}: sd 100; yb in {0, 100}: sd 50; means 100 and 50
    assert metrics.colourfulness(half) == pytest.approx(math.hypot(100, 50) + 0.3 * math.hypot(100, 50))


def test_score_fields_and_size_check():
    a = np.random.default_rng(1).integers(0, 256, (12, 9, 3), dtype=np.uint8)
    s = metrics.score(a, a)
    assert s["dcf"] == pytest.approx(0, abs=1e-9) and s["cf"] == pytest.approx(s["cf_truth"])
    with pytest.raises(ValueError):
        metrics.score(a, a[:5])


def test_colourfulness_t_matches_the_numpy_one_per_image():
    """The trainers' batched torch colourfulness gives each image's `colourfulness`."""
    import torch
    rng = np.random.default_rng(1)
    batch = rng.integers(0, 256, (3, 12, 17, 3)).astype(np.uint8)
    batch[1, ..., 2] = 0  # a yellow-heavy one: a non-zero mean term
    got = metrics.colourfulness_t(torch.from_numpy(batch).float() / 255)
    assert got.shape == (3,)
    want = [metrics.colourfulness(im) for im in batch]
    assert np.allclose(got.numpy(), want, rtol=1e-5)
