import time
from dataclasses import replace

import numpy as np
import pytest

from recolor import METHODS, colorize, gallery, registry


def test_all_columns_fill_in_registry_order(example_pair):
    gray, ref = example_pair
    updates = list(gallery.run_all(gray, ref))
    first, last = updates[0], updates[-1]
    assert [c.key for c in last] == list(METHODS)
    assert all("running" in c.caption or c.error for c in first)
    for c in last:  # every method succeeds on an example with a reference, with colour
        assert c.ok, c.caption
        assert c.image.dtype == np.uint8 and c.image.shape == gray.shape
        assert c.caption.startswith(METHODS[c.key].name) and c.caption.endswith(" s")
        chroma = np.abs(c.image.astype(int) - c.image.mean(axis=2, keepdims=True)).mean()
        assert chroma > 2 and not np.array_equal(c.image, gray), c.key
    deoldify = next(c for c in last if c.key == "deoldify")
    assert deoldify.caption.startswith("DeOldify · rf 16 · 4 passes · colour ×1.5 · ")


def test_without_reference_the_transfers_say_why(example_pair):
    last = list(gallery.run_all(example_pair[0], None))[-1]
    for c in last[:3]:
        assert c.error and "reference" in c.caption


@pytest.fixture
def patched(monkeypatch):
    def patch(key, fn):
        monkeypatch.setitem(registry.METHODS, key, replace(METHODS[key], run=fn))
    return patch


def test_a_crashing_method_does_not_sink_the_others(example_pair, patched):
    def boom(rgb, reference, **_):
        raise RuntimeError("kaboom")
    patched("lab_mean", boom)
    last = list(gallery.run_all(*example_pair))[-1]
    cell = {c.key: c for c in last}
    assert "kaboom" in cell["lab_mean"].caption and cell["lab_mean"].error
    assert cell["mean_std"].ok and cell["pdf"].ok


def test_a_slow_method_times_out_alone(example_pair, patched):
    def slow(rgb, reference, **_):
        time.sleep(3)
        return rgb
    patched("mean_std", slow)
    start = time.monotonic()
    last = list(gallery.run_all(*example_pair, budget_s=1.0))[-1]
    assert time.monotonic() - start < 2.5
    cell = {c.key: c for c in last}
    assert "timed out" in cell["mean_std"].caption
    assert cell["lab_mean"].ok


def test_placeholder_draws_text():
    tile = gallery.placeholder("model not available yet", (200, 120))
    assert tile.shape == (120, 200, 3) and tile.min() < 200  # some dark text pixels


def test_warm_up_loads_the_networks(monkeypatch):
    from recolor import learned
    monkeypatch.setattr(learned, "_models", {})  # as in a fresh process
    cells = gallery.warm_up()
    assert [c.key for c in cells] == list(METHODS)
    assert all(c.ok for c in cells), [c.caption for c in cells]
    assert set(learned._models) == {"pix2pix", "deoldify"}


def test_warm_up_names_a_missing_model(monkeypatch, tmp_path, capsys):
    import app
    from recolor import learned
    monkeypatch.setattr(learned, "_models", {})
    monkeypatch.setattr(learned, "WEIGHTS", tmp_path)
    app._warm_up()
    err = capsys.readouterr().err
    assert "DeOldify is unavailable" in err and "pix2pix is unavailable" in err
    assert "Mean/StD" not in err  # the transfers run without weights


def test_restore_gives_every_method_the_restored_input(example_pair):
    from recolor.color import luma
    gray, ref = example_pair
    fixed = gallery.restored(gray)
    assert (fixed[..., 0] == fixed[..., 2]).all() and not np.array_equal(fixed, gray)
    last = list(gallery.run_all(gray, ref, restore=True))[-1]
    same = list(gallery.run_all(fixed, ref))[-1]
    for a, b in zip(last, same):
        assert a.ok and b.ok, a.caption
        assert np.array_equal(a.image, b.image), a.key  # the same as colorizing the restored photo
    deoldify = next(c for c in last if c.key == "deoldify")
    assert np.abs(luma(deoldify.image).astype(int) - fixed[..., 0]).mean() < 0.5


def test_a_busy_server_runs_the_networks_once_and_says_so(example_pair, monkeypatch):
    gray = example_pair[0][:192, :256]
    monkeypatch.setattr(gallery, "BUSY_RUNS", 0)  # every run counts as a deep queue
    last = list(gallery.run_all(gray, None, {"pix2pix": {"passes": 2}}))[-1]
    deoldify = next(c for c in last if c.key == "deoldify")
    pix2pix = next(c for c in last if c.key == "pix2pix")
    assert deoldify.caption.endswith(gallery.BUSY_NOTE)
    assert np.array_equal(deoldify.image, colorize(gray, "deoldify", passes=1))
    assert not np.array_equal(deoldify.image, colorize(gray, "deoldify"))  # the default: 4
    # a visitor's own choice of passes is kept
    assert not pix2pix.caption.endswith(gallery.BUSY_NOTE)
    assert np.array_equal(pix2pix.image, colorize(gray, "pix2pix", passes=2))
    assert gallery.in_flight() == 0
    monkeypatch.setattr(gallery, "BUSY_RUNS", 2)
    quiet = list(gallery.run_all(gray, None))[-1]
    assert not any(c.caption.endswith(gallery.BUSY_NOTE) for c in quiet)


def test_results_are_written_by_the_workers(example_pair, tmp_path):
    from recolor.outputs import RunFiles
    from recolor.provenance import read_provenance
    from PIL import Image
    gray, ref = example_pair
    files = RunFiles(preview_side=128)
    try:
        last = list(gallery.run_all(gray, ref, files=files))[-1]
        for c in last:
            assert c.ok, c.caption
            full, shown = Image.open(c.full), Image.open(c.preview)
            assert full.size == (gray.shape[1], gray.shape[0]) and max(shown.size) == 128
            assert np.array_equal(np.asarray(full.convert("RGB")), c.image)
            assert read_provenance(c.full)["method"] == c.key
    finally:
        files.close()
    assert not files.dir.exists()
