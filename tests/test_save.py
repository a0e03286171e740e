"""`recolor.save`: a colorization written as a PNG that says where its colours came from."""
import numpy as np
import pytest
from PIL import Image

import recolor
from recolor.provenance import read_provenance

from .conftest import EXAMPLES


def test_save_writes_the_colorization_with_its_provenance(tmp_path):
    out = recolor.colorize(EXAMPLES / "02_animal.jpg", "lab_mean",
                           reference=EXAMPLES / "02_animal_ref.jpg")
    path = recolor.save(out, tmp_path / "dog.png", "lab_mean", {"keep_luminance": True})
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), out)  # pixels as given
    meta = read_provenance(path)
    assert meta["method"] == "lab_mean" and meta["settings"] == {"keep_luminance": True}
    assert "Lab mean transfer" in meta["statement"] and "statistical" in meta["statement"]
    marked = recolor.save(out, tmp_path / "dog-marked.png", "lab_mean", mark=True)
    diff = np.abs(np.asarray(Image.open(marked).convert("RGB")).astype(int) - out).sum(axis=2)
    ys, xs = np.nonzero(diff)
    assert len(ys) and ys.min() > out.shape[0] // 2 and xs.min() > out.shape[1] // 2


def test_save_refuses_what_it_cannot_label(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="unknown method"):
        recolor.save(rgb, tmp_path / "x.png", "sepia")
    with pytest.raises(ValueError, match="PNG"):
        recolor.save(rgb, tmp_path / "x.jpg", "pdf")
    with pytest.raises(ValueError, match="uint8"):
        recolor.save(rgb.astype(float), tmp_path / "x.png", "pdf")
