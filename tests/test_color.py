import numpy as np
import pytest
from skimage.color import lab2rgb, rgb2lab

from recolor.color import (gray_to_rgb, is_grayscale, keep_luma, lab_to_rgb, luma, rgb_to_lab,
                           rgb_to_yuv, scale_chroma, with_luminance)
from recolor.metrics import colourfulness


def signed_uv(rgb: np.ndarray) -> np.ndarray:
    """U, V of a uint8 RGB image about neutral (0), as floats."""
    return rgb_to_yuv(rgb)[..., 1:].astype(float) - 128


def test_lab_matches_scikit_image(colour_photos):
    rgb = colour_photos[0]
    np.testing.assert_allclose(rgb_to_lab(rgb), rgb2lab(rgb), atol=0.02)
    lab = rgb2lab(rgb)
    back = lab_to_rgb(lab.astype(np.float32))
    assert np.abs(back.astype(int) - np.rint(lab2rgb(lab) * 255).astype(int)).max() <= 1


def test_round_trip_is_lossless_on_uint8():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(lab_to_rgb(rgb_to_lab(rgb)), rgb)


def test_luma_is_bt601():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    assert luma(rgb).tolist() == [[76, 150, 29, round(0.299 * 10 + 0.587 * 20 + 0.114 * 30)]]


def test_gray_detection(colour_photos):
    gray = gray_to_rgb(luma(colour_photos[0]))
    assert is_grayscale(gray)
    assert not is_grayscale(colour_photos[0])


def test_with_luminance_keeps_l_and_chroma(colour_photos):
    rgb = colour_photos[0]
    target_L = rgb_to_lab(gray_to_rgb(luma(colour_photos[1][:rgb.shape[0], :rgb.shape[1]])))[..., 0]
    if target_L.shape != rgb.shape[:2]:
        target_L = np.full(rgb.shape[:2], 50.0, np.float32)
    out = rgb_to_lab(with_luminance(rgb, target_L))
    assert np.median(np.abs(out[..., 0] - target_L)) < 0.5


def test_keep_luma_gives_back_the_photo_from_its_gray_and_its_chroma(colour_photos):
    # the evaluation's B/W input is the photo's BT.601 luma: the photo's own chroma put on it
    # must give the photo back; Lab L of the gray does not (its L is not the photo's L)
    rgb = colour_photos[0]
    gray = gray_to_rgb(luma(rgb))
    back = keep_luma(rgb, gray)
    err = np.abs(back.astype(int) - rgb.astype(int)).mean()
    assert err < 1.0
    assert np.abs(rgb_to_yuv(back)[..., 0].astype(int) - gray[..., 0]).max() <= 1  # rounding
    via_lab = with_luminance(rgb, rgb_to_lab(gray)[..., 0])
    assert np.abs(via_lab.astype(int) - rgb.astype(int)).mean() > 2 * err


def test_keep_luma_scales_chroma_in_the_same_pass(ordinary_photo):
    # a chroma gain applied while the luma is put back rounds Y once: closer to the gray than
    # keeping the luma, then scaling the chroma of that result (two YUV round trips)
    rgb = ordinary_photo
    gray = gray_to_rgb(luma(rgb))
    one = keep_luma(rgb, gray, 1.3)
    two = scale_chroma(keep_luma(rgb, gray), 1.3)
    dY = lambda a: np.abs(rgb_to_yuv(a)[..., 0].astype(int) - gray[..., 0])  # noqa: E731
    assert dY(one).mean() < dY(two).mean() and (dY(one) > 1).mean() < 0.05
    mean = signed_uv(rgb).mean((0, 1))  # the photo's chroma, its spread about its mean scaled once
    assert np.abs(signed_uv(one) - (mean + 1.3 * (signed_uv(rgb) - mean))).mean() < 0.5
    assert np.array_equal(keep_luma(rgb, gray, 1.0), keep_luma(rgb, gray))
    with pytest.raises(ValueError):
        keep_luma(rgb, gray, -1.0)


def test_scale_chroma_keeps_luma_and_scales_colour(ordinary_photo):
    rgb = ordinary_photo
    more, none = scale_chroma(rgb, 1.5), scale_chroma(rgb, 0.0)
    dY = np.abs(rgb_to_yuv(more)[..., 0].astype(int) - rgb_to_yuv(rgb)[..., 0])
    assert (dY > 1).mean() < 0.05  # Y kept, but where the scaled colour leaves the gamut
    assert colourfulness(more) > 1.3 * colourfulness(rgb)
    assert colourfulness(none) < 1.0  # no chroma left: gray
    assert scale_chroma(rgb, 1.0) is rgb  # gain 1: untouched, not even YUV rounding
    with pytest.raises(ValueError):
        scale_chroma(rgb, -0.5)


def test_v_exponent_spends_the_gain_on_v(ordinary_photo):
    # U's deviation from the mean is scaled by the gain, V's by the gain to the exponent; at
    # gain 1 nothing moves whatever the exponent, and exponent 1 is the plain gain
    rgb = ordinary_photo
    uv, mean = signed_uv(rgb), signed_uv(rgb).mean((0, 1))
    out = signed_uv(scale_chroma(rgb, 1.5, v_exponent=1.6))
    inside = (rgb > 40).all(-1) & (rgb < 215).all(-1)  # away from the gamut's clipping
    want = mean + np.array([1.5, 1.5 ** 1.6]) * (uv - mean)
    assert np.abs(out - want)[inside].mean(0).max() < 0.6
    assert out[..., 1].std() > 1.2 * signed_uv(scale_chroma(rgb, 1.5))[..., 1].std()
    assert scale_chroma(rgb, 1.0, v_exponent=2.0) is rgb
    assert np.array_equal(scale_chroma(rgb, 1.3, 1.0), scale_chroma(rgb, 1.3))
    gray = gray_to_rgb(luma(rgb))  # keep_luma takes the same exponent in its one pass
    kept = signed_uv(keep_luma(rgb, gray, 1.3, 1.6))
    assert np.abs(kept - (mean + np.array([1.3, 1.3 ** 1.6]) * (uv - mean)))[inside].mean(0).max() < 0.6
    less = signed_uv(scale_chroma(rgb, 0.5, v_exponent=2.0))  # below 1: V fades faster
    assert np.abs(less - np.array([0.5, 0.25]) * uv)[inside].mean(0).max() < 0.6
    with pytest.raises(ValueError):
        scale_chroma(rgb, 1.2, v_exponent=0.0)


def test_chroma_gain_above_one_keeps_the_cast_below_one_fades_to_gray(ordinary_photo):
    # above 1 the colours spread about the photo's mean U, V, which stays; below 1 all chroma
    # shrinks toward neutral, so 0.5 halves the mean too
    tinted = scale_chroma(ordinary_photo, 0.5)
    tinted = keep_luma(np.clip(tinted.astype(int) + [12, 0, -12], 0, 255).astype(np.uint8), tinted)
    mean = signed_uv(tinted).mean((0, 1))
    assert np.hypot(*mean) > 8  # a warm cast
    more, less = signed_uv(scale_chroma(tinted, 1.6)), signed_uv(scale_chroma(tinted, 0.5))
    assert np.abs(more.mean((0, 1)) - mean).max() < 0.5
    assert np.abs(more - (mean + 1.6 * (signed_uv(tinted) - mean))).mean() < 0.5
    assert more.std((0, 1)) == pytest.approx(1.6 * signed_uv(tinted).std((0, 1)), rel=0.03)
    assert np.abs(less - 0.5 * signed_uv(tinted)).mean() < 0.5
