"""The reference bank and picker: on a small bank built from the example references in a tmp
folder, and (when installed) on the shipped bank in weights/references."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recolor import references
from recolor.color import gray_to_rgb, luma
from recolor.errors import RecolorError

from .conftest import EXAMPLES, read

SHIPPED = references.DEFAULT_BANK / references.INDEX


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    """A bank of the six distinct example colour references (long side 96; the cameraman's
    reference is a copy of the landscape's)."""
    src = tmp_path_factory.mktemp("photos")
    seen = set()
    for f in sorted(EXAMPLES.glob("*_ref.jpg")):
        if f.read_bytes() in seen:
            continue
        seen.add(f.read_bytes())
        Image.open(f).convert("RGB").save(src / f"example_{f.stem}.jpg")
    out = tmp_path_factory.mktemp("bank")
    assert references.build_bank(src, out, count=10, side=96) == 6
    return out


def test_build_writes_index_and_small_jpegs(bank: Path) -> None:
    files = sorted(bank.glob("*.jpg"))
    assert len(files) == 6 and (bank / references.INDEX).is_file()
    assert all(max(Image.open(f).size) == 96 for f in files)
    with np.load(bank / references.INDEX, allow_pickle=False) as z:
        assert sorted(z["files"]) == [f.name for f in files]


def test_picker_returns_a_bank_image_deterministically(bank: Path) -> None:
    gray = gray_to_rgb(luma(read(EXAMPLES / "02_animal.jpg")))
    ref = references.pick_reference(gray, bank=bank)
    assert ref.dtype == np.uint8 and ref.ndim == 3 and ref.shape[2] == 3
    assert any(np.array_equal(ref, read(f)) for f in bank.glob("*.jpg"))
    assert np.array_equal(ref, references.pick_reference(gray, bank=bank))
    assert references.top_references(gray, 6, bank) == references.top_references(gray, 6, bank)


def test_top_references_k_sized_best_first(bank: Path) -> None:
    gray = luma(read(EXAMPLES / "03_landscape.jpg"))  # (H, W) gray works too
    top = references.top_references(gray, k=4, bank=bank)
    assert len(top) == 4 and len({p for p, _ in top}) == 4
    assert all(p.parent == bank and -1.0 <= s <= 1.0 for p, s in top)
    assert np.array_equal(references.pick_reference(gray, bank=bank), read(top[0][0]))
    assert len(references.top_references(gray, k=100, bank=bank)) == 6


@pytest.mark.parametrize("shape", [(8, 8), (1, 500), (500, 1), (3, 3, 3), (17, 333, 3), (1, 1)])
def test_odd_sizes(bank: Path, shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert np.isfinite(references.describe(x)).all()
    assert references.pick_reference(x, bank=bank).dtype == np.uint8


@pytest.mark.parametrize("value", [0, 255])
def test_flat_black_and_white(bank: Path, value: int) -> None:
    x = np.full((64, 48, 3), value, np.uint8)
    assert np.isfinite(references.describe(x)).all()
    top = references.top_references(x, 3, bank)
    assert len(top) == 3 and all(np.isfinite(s) for _, s in top)


def test_gray_version_of_a_bank_photo_retrieves_it(bank: Path) -> None:
    for f in sorted(bank.glob("*.jpg")):
        gray = gray_to_rgb(luma(read(f)))
        assert f in [p for p, _ in references.top_references(gray, 3, bank)], f.name
        best = max(references.top_references(gray, 6, bank), key=lambda t: t[1])
        assert best[0] == f and best[1] > 0.99


def test_missing_bank_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECOLOR_REFERENCES", str(tmp_path))
    with pytest.raises(references.BankMissing, match="build-references"):
        references.pick_reference(np.zeros((16, 16), np.uint8))
    assert issubclass(references.BankMissing, RecolorError)


def test_cli_main(tmp_path: Path, capsys) -> None:
    p = argparse.ArgumentParser()
    references.add_arguments(p)
    assert references.main(p.parse_args(["--data", str(tmp_path / "none"), "--out", str(tmp_path)])) == 2
    assert "no such folder" in capsys.readouterr().err
    assert references.main(p.parse_args(["--data", str(EXAMPLES), "--count", "3", "--side", "64",
                                         "--out", str(tmp_path / "b")])) == 0
    assert len(list((tmp_path / "b").glob("*.jpg"))) == 3


@pytest.mark.skipif(not SHIPPED.is_file(), reason="the reference bank is not built")
def test_shipped_bank_retrieves_its_own_photos() -> None:
    files = sorted(references.DEFAULT_BANK.glob("*.jpg"))
    assert 100 <= len(files) <= 1000
    assert sum(f.stat().st_size for f in files) < 25 * 2 ** 20
    for f in files[:: len(files) // 10]:
        gray = gray_to_rgb(luma(read(f)))
        top = references.top_references(gray, 6, references.DEFAULT_BANK)
        assert max(top, key=lambda t: t[1])[0] == f, f.name
