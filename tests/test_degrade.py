"""recolor.degrade (the old-photo model), the trainers' --degrade, restore and provenance."""
import numpy as np
import pytest
import torch

from recolor.color import gray_to_rgb, luma
from recolor.degrade import EFFECTS, age, seeded_rng
from recolor.images import load_image

PHOTO = "examples/01_people.jpg"


@pytest.fixture(scope="module")
def gray():
    return luma(load_image(PHOTO))


def test_age_is_deterministic_with_a_seed(gray):
    a = age(gray, 1.0, np.random.default_rng(7))
    b = age(gray, 1.0, np.random.default_rng(7))
    c = age(gray, 1.0, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.array_equal(age(gray, 1.0, seeded_rng("x.jpg")), age(gray, 1.0, seeded_rng("x.jpg")))


def test_age_keeps_shape_dtype_and_equal_channels(gray):
    out = age(gray, 1.0, np.random.default_rng(0))
    assert out.shape == gray.shape and out.dtype == np.uint8
    rgb = gray_to_rgb(gray)
    out3 = age(rgb, 1.0, np.random.default_rng(0))
    assert out3.shape == rgb.shape and out3.dtype == np.uint8
    assert np.array_equal(out3[..., 0], out3[..., 1]) and np.array_equal(out3[..., 1], out3[..., 2])
    assert np.array_equal(out3[..., 0], out)  # the same aging, whatever the layout


def test_strength_zero_is_the_input_and_strength_is_monotonic(gray):
    assert np.array_equal(age(gray, 0.0, np.random.default_rng(3)), gray)
    for seed in range(4):
        err = [np.abs(age(gray, s, np.random.default_rng(seed)).astype(float) - gray).mean()
               for s in (0.0, 0.25, 0.5, 1.0, 1.5)]
        assert all(b > a for a, b in zip(err, err[1:])), err


def test_strength_one_ages_like_an_old_print(gray):
    """A typical mix at strength 1: the tonal range shrinks and fine detail (high frequencies)
    changes: grain added or blur removing it."""
    out = age(gray, 1.0, seeded_rng(PHOTO)).astype(float)
    lo, hi = np.percentile(out, [1, 99])
    glo, ghi = np.percentile(gray, [1, 99])
    assert hi - lo < 0.9 * (ghi - glo)
    assert 10 < np.abs(out - gray).mean() < 60


def test_age_rejects_bad_input(gray):
    with pytest.raises(TypeError):
        age(gray.astype(np.float32), 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError):
        age(gray, -1.0, np.random.default_rng(0))
    assert len(EFFECTS) == 7


def test_training_pairs_age_the_input_only(tmp_path):
    """--degrade 1: every input is aged, the ab target is the clean photo's; --degrade 0: the
    input is the clean L."""
    from PIL import Image
    from recolor.train.data import ColourPhotos

    Image.open("examples/01_people_ref.jpg").save(tmp_path / "a.jpg")
    clean = ColourPhotos(tmp_path, 96, train=False)
    L0, ab0 = clean[0]
    aged = ColourPhotos(tmp_path, 96, train=False)
    aged.degrade = 1.0  # a val split never ages; force it to check the pairing
    np.random.seed(0)
    L1, ab1 = aged[0]
    assert torch.equal(ab0, ab1)
    assert (L1 - L0).abs().mean() > 0.02
    with pytest.raises(ValueError):
        ColourPhotos(tmp_path, 96, degrade=1.5)
    assert ColourPhotos(tmp_path, 96, train=False, degrade=1.0).degrade == 0.0


def test_restore_spreads_a_faded_photo_and_keeps_gray(gray):
    from recolor.restore import restore, restore_luma

    faded = (60 + gray.astype(np.float32) * 0.4).astype(np.uint8)
    noisy = np.clip(faded + np.random.default_rng(0).normal(0, 6, faded.shape), 0, 255).astype(np.uint8)
    out = restore_luma(noisy)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert out.std() > 1.3 * noisy.std()  # contrast spread out
    rgb = restore(gray_to_rgb(noisy))
    assert np.array_equal(rgb[..., 0], rgb[..., 2])


def test_colorize_restore_keeps_the_restored_luma():
    import recolor
    from recolor.restore import restore_luma

    img = load_image(PHOTO)
    g = gray_to_rgb(luma(img))
    ref = load_image("examples/01_people_ref.jpg")
    out = recolor.colorize(g, "lab_mean", reference=ref, restore=True)
    restored = restore_luma(luma(g))
    assert np.abs(luma(out).astype(int) - restored).mean() < 1.5
    plain = recolor.colorize(g, "lab_mean", reference=ref)
    assert np.abs(luma(plain).astype(int) - luma(g)).mean() < 1.5
