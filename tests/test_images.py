import numpy as np
import pytest
from PIL import Image

from recolor import ImageError, colorize, load_image
from recolor.images import fit_within

from .badfiles import ACCEPTED, REFUSED, photo, write_bad_files


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return write_bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_a_clear_message(bad, name):
    with pytest.raises(ImageError, match=REFUSED[name]) as info:
        load_image(bad[name])
    assert isinstance(info.value, ValueError)
    assert name in str(info.value)  # the message names the file


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_as_uint8_rgb(bad, name):
    rgb = load_image(bad[name])
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


def test_exif_rotation_is_applied(bad):
    rgb = load_image(bad["rotated.jpg"])
    assert rgb.shape[:2] == (64, 48)  # stored 64 wide x 48 high, shown rotated
    # the pattern's red ramp runs along the stored x axis, i.e. down the rotated image
    assert rgb[-1, :, 0].mean() > rgb[0, :, 0].mean() + 100


def test_rgba_is_composited_on_white(bad):
    rgb = load_image(bad["rgba.png"])
    assert (rgb[:, :32] == 255).all()  # fully transparent half
    assert not (rgb[:, 40:] == 255).all()


def test_sixteen_bit_keeps_its_range(bad):
    rgb = load_image(bad["sixteen_bit.png"])
    assert rgb.max() > 200 and rgb.min() < 10


def test_animated_gif_gives_first_frame(bad):
    rgb = load_image(bad["animated.gif"])
    assert abs(int(rgb.mean()) - 30) <= 2


def test_bytes_pil_and_arrays():
    rgb = photo()
    assert np.array_equal(load_image(Image.fromarray(rgb)), rgb)
    assert load_image(rgb[..., 0]).shape == (48, 64, 3)
    assert np.array_equal(load_image(rgb.astype(np.float32) / 255), rgb)
    assert load_image((rgb.astype(np.uint16) * 257)).max() == rgb.max()
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full((10, 10), np.nan))
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((10, 10, 5), np.uint8))
    with pytest.raises(ImageError, match="expected"):
        load_image(12345)


def test_missing_file_and_byte_limit(tmp_path, monkeypatch):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    monkeypatch.setattr("recolor.images.MAX_BYTES", 100)
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + b"0" * 200)
    with pytest.raises(ImageError, match="limit"):
        load_image(tmp_path / "big.png")


def test_pixel_limit_is_configurable(bad):
    with pytest.raises(ImageError, match="too large"):
        load_image(bad["cmyk.jpg"], max_pixels=1000)


def test_fit_within_only_shrinks():
    rgb = photo(400, 200)
    assert fit_within(rgb, 100).shape == (50, 100, 3)
    assert fit_within(rgb, 1000) is rgb


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_colorize_raises_value_error_for_bad_input(bad, name):
    with pytest.raises(ValueError, match=REFUSED[name]):
        colorize(bad[name], "lab_mean", reference=photo())


def test_bad_reference_is_named(bad):
    with pytest.raises(ImageError, match="reference"):
        colorize(photo(), "pdf", reference=bad["text.jpg"])
