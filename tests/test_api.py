import numpy as np
import pytest

import recolor
from recolor import METHODS, ModelUnavailable, ReferenceRequired, colorize
from recolor.color import gray_to_rgb, luma, rgb_to_lab


def test_registry_order_and_fields():
    assert list(METHODS) == ["mean_std", "lab_mean", "pdf", "pix2pix", "deoldify"]
    assert [m.needs_reference for m in METHODS.values()] == [True, True, True, False, False]
    for m in METHODS.values():
        assert m.name and callable(m.run)
        assert set(m.defaults()) == {o.name for o in m.options}


@pytest.mark.parametrize("key", [k for k, m in METHODS.items() if m.needs_reference])
def test_reference_required_or_picked(key, example_pair):
    with pytest.raises(ReferenceRequired, match="reference"):
        colorize(example_pair[0], key, reference=None)
    with pytest.raises(ValueError):
        colorize(example_pair[0], key, reference=None)
    # given none, a reference is picked from the bundled bank
    auto = colorize(example_pair[0], key)
    assert auto.shape == example_pair[0].shape
    assert np.array_equal(auto, colorize(example_pair[0], key, reference="auto"))
    assert np.hypot(*rgb_to_lab(auto)[..., 1:].transpose(2, 0, 1)).mean() > 2


def test_unknown_method_and_option(example_pair):
    with pytest.raises(ValueError, match="mean_std"):
        colorize(example_pair[0], "nope")
    with pytest.raises(ValueError, match="no option"):
        colorize(example_pair[0], "pdf", reference=example_pair[1], bogus=1)
    with pytest.raises(ValueError, match="maximum"):
        colorize(example_pair[0], "pdf", reference=example_pair[1], iterations=500)
    with pytest.raises(ValueError, match="not one of 1, 2, 4"):  # a menu, not a range
        colorize(example_pair[0], "deoldify", passes=3)


@pytest.mark.parametrize("key", ["mean_std", "lab_mean", "pdf"])
def test_path_pil_gray_inputs_give_input_size(key, example_pair, tmp_path):
    from PIL import Image
    gray = example_pair[0][:101, :77]
    Image.fromarray(gray[..., 0]).save(tmp_path / "g.png")
    for src in (tmp_path / "g.png", str(tmp_path / "g.png"), Image.fromarray(gray[..., 0]),
                gray[..., 0], gray):
        out = colorize(src, key, reference=example_pair[1])
        assert out.shape == (101, 77, 3) and out.dtype == np.uint8


def test_large_input_keeps_full_resolution_lightness(example_pair):
    gray = np.kron(example_pair[0][..., 0], np.ones((3, 3), np.uint8))  # about 1300 px
    out = colorize(gray, "pdf", reference=example_pair[1], work_side=256)
    assert out.shape == (*gray.shape, 3)
    dL = np.abs(rgb_to_lab(out)[..., 0] - rgb_to_lab(gray_to_rgb(gray))[..., 0])
    assert dL.mean() < 0.5  # the lightness was never resampled
    assert np.hypot(*rgb_to_lab(out)[..., 1:].transpose(2, 0, 1)).mean() > 3


@pytest.mark.parametrize("key", ["pix2pix", "deoldify"])
def test_large_input_keeps_full_resolution_luma_for_the_networks(key, example_pair):
    gray = np.kron(example_pair[0][..., 0], np.ones((3, 3), np.uint8))  # about 1300 px
    out = colorize(gray, key, work_side=256)
    assert out.shape == (*gray.shape, 3)
    dY = np.abs(luma(out).astype(int) - gray)
    assert dY.mean() < 0.1 and (dY > 2).mean() < 0.01  # grays back to the input (but
    # where the upsampled colour leaves the gamut); Lab L kept instead: 1.0 and 3.2 mean
    assert np.hypot(*rgb_to_lab(out)[..., 1:].transpose(2, 0, 1)).mean() > 3


def test_keep_luminance_defaults_by_input(colour_photos):
    src, ref = colour_photos[0], colour_photos[1]
    L = rgb_to_lab(src)[..., 0]
    colour_out = rgb_to_lab(colorize(src, "lab_mean", reference=ref))[..., 0]
    assert np.abs(colour_out - L).mean() > 1  # colour input: the plain transfer moves L
    gray = gray_to_rgb(luma(src))
    gray_out = rgb_to_lab(colorize(gray, "lab_mean", reference=ref))[..., 0]
    assert np.abs(gray_out - rgb_to_lab(gray)[..., 0]).mean() < 0.5
    forced = rgb_to_lab(colorize(src, "lab_mean", reference=ref, keep_luminance=True))[..., 0]
    assert np.abs(forced - L).mean() < 0.5


def test_public_names():
    for name in ("METHODS", "colorize", "load_image", "ImageError", "RecolorError"):
        assert hasattr(recolor, name)
    assert issubclass(ModelUnavailable, ValueError)
