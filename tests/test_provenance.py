"""Provenance text chunk on PNGs."""
import numpy as np

from recolor.provenance import corner_mark, read_provenance, save_png


def test_png_carries_method_settings_and_statement(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    p = save_png(rgb, tmp_path / "x.png", "deoldify", {"render_factor": 16, "passes": 4})
    meta = read_provenance(p)
    assert meta["software"] == "recolor" and meta["method"] == "deoldify"
    assert meta["settings"] == {"render_factor": 16, "passes": 4}
    assert "neural network" in meta["statement"]
    from PIL import Image
    assert np.array_equal(np.asarray(Image.open(p)), rgb)  # pixels untouched
    q = save_png(rgb, tmp_path / "y.png", "pdf", {})
    assert "statistical colour transfer" in read_provenance(q)["statement"]


def test_png_without_chunk_and_corner_mark(tmp_path):
    from PIL import Image
    rgb = np.full((120, 200, 3), 128, np.uint8)
    Image.fromarray(rgb).save(tmp_path / "plain.png")
    assert read_provenance(tmp_path / "plain.png") is None
    marked = corner_mark(rgb)
    assert marked.shape == rgb.shape
    diff = np.abs(marked.astype(int) - rgb).sum(axis=2)
    ys, xs = np.nonzero(diff)
    assert len(ys) > 0 and ys.min() > 60 and xs.min() > 100  # only the bottom-right corner
