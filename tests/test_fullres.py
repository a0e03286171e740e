"""The CPU fast paths (OpenCV, lookup tables) against the torch/PIL path they replaced: the same
picture within stated tolerances, and the full-size lightness kept exactly."""
import numpy as np
import pytest

from recolor import color, fullres
from recolor.api import colorize
from recolor.color import gray_to_rgb, luma
from recolor.images import resize


@pytest.fixture
def torch_path(monkeypatch):
    """Run the old (torch/PIL) path inside the `with` of the test: `torch_path(fn, *args)`."""
    def run(fn, *args, **kw):
        monkeypatch.setattr(color, "USE_OPENCV", False)
        try:
            return fn(*args, **kw)
        finally:
            monkeypatch.setattr(color, "USE_OPENCV", True)
    return run


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def test_opencv_path_is_on():
    assert color.USE_OPENCV  # opencv-python-headless is a requirement


def test_lab_to_rgb_matches_torch(colour_photos, torch_path):
    lab = color.rgb_to_lab(colour_photos[1])
    lab[..., 1:] *= 1.7  # push part of it out of the gamut: both clip alike
    fast, old = color.lab_to_rgb(lab), torch_path(color.lab_to_rgb, lab)
    d = np.abs(fast.astype(int) - old)
    assert d.max() <= 1 and (d > 0).mean() < 1e-3


def test_lightness_matches_rgb_to_lab(colour_photos):
    rgb = colour_photos[0]
    gray = gray_to_rgb(luma(rgb))
    np.testing.assert_allclose(color.lightness(gray), color.rgb_to_lab(gray)[..., 0], atol=1e-4)
    np.testing.assert_allclose(color.lightness(rgb), color.rgb_to_lab(rgb)[..., 0], atol=2e-3)


def test_gray_checks_agree_with_numpy(colour_photos, torch_path):
    rgb = colour_photos[0]
    gray = gray_to_rgb(luma(rgb))
    nudged = gray.copy()
    nudged[5, 7, 2] += 3  # one pixel 3 levels off: not gray at tol 2, gray at tol 3
    for a in (rgb, gray, nudged):
        for tol in (2, 3):
            assert color.is_grayscale(a, tol) == torch_path(color.is_grayscale, a, tol)
    assert color.channels_equal(gray) and not color.channels_equal(nudged)


def test_gray_resize_is_the_rgb_resize(example_pair, torch_path):
    gray = example_pair[0]  # three equal channels: one is resized and repeated
    for size in ((123, 77), (900, 700)):
        one = resize(gray, size)
        rgb = torch_path(resize, gray, size)  # the same PIL filter on all three channels
        assert np.array_equal(one, rgb)


def test_upsample_chroma_matches_torch(example_pair, torch_path):
    gray, ref = example_pair
    small = resize(ref, (ref.shape[1] // 3, ref.shape[0] // 3))
    big = gray[:small.shape[0] * 3, :small.shape[1] * 3]
    fast = fullres.upsample_chroma(small, big)
    old = torch_path(fullres.upsample_chroma, small, big)
    d = np.abs(fast.astype(int) - old)
    assert d.max() <= 2 and d.mean() < 0.01 and psnr(fast, old) > 60
    # the lightness is the original's: graying the result back gives the photo within rounding
    dL = np.abs(color.rgb_to_lab(fast)[..., 0] - color.rgb_to_lab(big)[..., 0])
    assert np.median(dL) < 0.3


def test_upsample_uv_matches_keep_luma(example_pair, torch_path):
    gray, ref = example_pair
    small = resize(ref, (ref.shape[1] // 3, ref.shape[0] // 3))
    big = gray[:small.shape[0] * 3, :small.shape[1] * 3]
    fast = fullres.upsample_uv(small, big)
    old = torch_path(fullres.upsample_uv, small, big)
    # U, V rounded at the working size before the upsampling (the old path resized RGB first)
    assert psnr(fast, old) > 45 and np.abs(fast.astype(int) - old).mean() < 0.5
    # Y is the photo's except where the colour leaves the RGB gamut, on both paths alike
    dY = lambda a: np.abs(color.rgb_to_yuv(a)[..., 0].astype(int) - big[..., 0])  # noqa: E731
    assert np.median(dY(fast)) == 0 and dY(fast).mean() < dY(old).mean() + 0.05


@pytest.mark.parametrize("method", ["lab_mean", "pix2pix"])
def test_colorize_large_photo_matches_old_path(example_pair, torch_path, method):
    gray, ref = example_pair
    big = resize(gray, (1300, 1000))  # above the 1024 working side: the upsampling runs
    fast = colorize(big, method, reference=ref)
    old = torch_path(colorize, big, method, reference=ref)
    assert fast.shape == big.shape
    assert psnr(fast, old) > 45
