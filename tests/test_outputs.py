import numpy as np
from PIL import Image

from recolor.outputs import RunFiles, preview
from recolor.provenance import read_provenance


def test_preview_fits_and_keeps_small_images():
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (900, 1500, 3), dtype=np.uint8)
    small = preview(big, 300)
    assert small.shape == (180, 300, 3)
    # an area filter: the preview's mean colour is the image's
    assert np.abs(small.mean((0, 1)) - big.mean((0, 1))).max() < 1
    assert preview(small, 300) is small


def test_run_files_write_once_full_size_with_provenance():
    y, x = np.mgrid[0:600, 0:800]
    rgb = np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)
    files = RunFiles(preview_side=200)
    try:
        shown, full = files.result("lab_mean", rgb, {"keep_luminance": True})
        assert Image.open(shown).size == (200, 150)
        assert np.array_equal(np.asarray(Image.open(full)), rgb)  # lossless, full size
        meta = read_provenance(full)
        assert meta["method"] == "lab_mean" and meta["settings"] == {"keep_luminance": True}
        a = files.image("gray", rgb)
        assert files.image("gray", rgb[::-1]) == a  # one key, one file, written once
        assert Image.open(a).size == (200, 150)
        tiny = rgb[:100, :100]
        assert len(set(files.result("pdf", tiny))) == 1  # no preview needed: one file
        assert files.image("none", None) is None
    finally:
        files.close()
    assert not files.dir.exists()


def test_run_files_name_each_key_once_across_threads():
    from concurrent.futures import ThreadPoolExecutor
    rgb = np.zeros((8, 8, 3), np.uint8)
    files = RunFiles()
    try:
        with ThreadPoolExecutor(8) as pool:
            paths = list(pool.map(lambda i: files.image(f"tile {i % 20}", rgb), range(200)))
        assert len(set(paths)) == 20  # one file per key, never two keys on one file
        assert all(Image.open(p).size == (8, 8) for p in set(paths))
    finally:
        files.close()
