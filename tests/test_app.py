import os
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image
import pytest

import app
from recolor import METHODS, metrics

EX = app.EXAMPLES


def test_demo_builds_with_the_colorize_endpoint():
    demo = app.build_demo()
    names = [d.api_name for d in demo.fns.values()]
    assert "colorize" in names


def test_each_option_gets_a_control_of_its_kind():
    """A flag is a checkbox, a menu (DeOldify's passes) a dropdown, a range a slider."""
    demo = app.build_demo()
    controls = {b.label: b for b in demo.blocks.values()
                if isinstance(b, (gr.Checkbox, gr.Dropdown, gr.Slider)) and b.label}
    assert isinstance(controls["post_process"], gr.Checkbox)
    assert isinstance(controls["render_factor"], gr.Slider)
    passes = controls["passes"]
    assert isinstance(passes, gr.Dropdown) and passes.value == 0
    assert [c[1] for c in passes.choices] == [0, 1, 2, 4]


def _read(path):
    return None if path is None else np.asarray(Image.open(path).convert("RGB"))


def _last(gen):
    """The last update, with its image files read before the run cleans them up."""
    out = None
    for gallery, gray, ref, truth, table, status, suggestions, candidates, *_ in gen:
        out = ([(_read(p), c) for p, c in gallery], _read(gray), _read(ref), _read(truth), table,
               status)
    return out


def _defaults():
    return [o.default for _, o in app.OPTIONS]


def test_gray_upload_fills_five_columns(tmp_path):
    gallery, gray, ref, truth, table, status = _last(app.colorize_all(
        str(EX / "02_animal.jpg"), str(EX / "02_animal_ref.jpg"), *_defaults()))
    assert table is None
    assert len(gallery) == len(METHODS)
    for (image, caption), m in zip(gallery, METHODS.values()):
        assert caption.startswith(m.name) and image.ndim == 3
    assert truth is None and gray.ndim == 3 and ref.ndim == 3
    assert "3 of 5" in status or "5 of 5" in status or "4 of 5" in status


def test_colour_upload_shows_ground_truth():
    gallery, gray, ref, truth, table, status = _last(app.colorize_all(
        str(EX / "01_people_ref.jpg"), str(EX / "02_animal_ref.jpg"), *_defaults()))
    assert truth is not None and truth.shape == gray.shape
    names = [row[0] for row in table]
    assert names[0].startswith("gray") and "Lab mean transfer" in names
    # the table agrees with the metrics module on the same images
    lab = next(row for row in table if row[0] == "Lab mean transfer")
    lab_img = next(im for im, cap in gallery if cap.startswith("Lab mean"))
    assert lab[3] == round(metrics.delta_e(lab_img, truth), 2)
    assert (gray[..., 0] == gray[..., 1]).all() and not (truth[..., 0] == truth[..., 1]).all()
    assert "ground truth" in status


def test_bad_upload_is_a_readable_error(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello")
    with pytest.raises(gr.Error, match="not an image"):
        _last(app.colorize_all(str(bad), None, *_defaults()))
    with pytest.raises(gr.Error, match="Upload a photo"):
        _last(app.colorize_all(None, None, *_defaults()))


def test_options_are_applied():
    opts = _defaults()
    i = [o.name for _, o in app.OPTIONS].index("iterations")
    a = _last(app.colorize_all(str(EX / "03_landscape.jpg"), str(EX / "03_landscape_ref.jpg"), *opts))
    opts[i] = 2
    b = _last(app.colorize_all(str(EX / "03_landscape.jpg"), str(EX / "03_landscape_ref.jpg"), *opts))
    pdf = list(METHODS).index("pdf")
    assert not np.array_equal(a[0][pdf][0], b[0][pdf][0])


def test_without_reference_suggestions_are_offered_and_usable():
    runs = list(app.colorize_all(str(EX / "04_street.jpg"), None, *_defaults()))
    status, suggestions, candidates = runs[-1][5:8]
    assert len(candidates) == app.SUGGESTIONS and len(suggestions) == app.SUGGESTIONS
    assert "picked" in status

    class Event:
        index = 2
    chosen = app.use_suggestion(candidates, Event())
    assert Image.open(chosen).size == Image.open(candidates[2]).size
    assert app.use_suggestion(candidates, Event()) == chosen  # one copy, however many clicks
    assert len(os.listdir(Path(chosen).parent)) <= len(candidates)
    gallery = _last(app.colorize_all(str(EX / "04_street.jpg"), chosen, *_defaults()))[0]
    assert all(" s" in cap for _, cap in gallery[:3])


def test_video_tab_colorizes_a_clip_and_refuses_a_non_video(tmp_path):
    from tests.test_video import make_clip
    from recolor.video import read_frames
    names = [d.api_name for d in app.build_demo().fns.values()]
    assert "colorize_video" in names
    src = tmp_path / "clip.mp4"
    make_clip(src, frames=6)
    quiet = lambda *a, **k: None  # noqa: E731
    run = app.colorize_video_ui(str(src), "pix2pix", 5, progress=quiet)
    out, status = next(run)
    assert len(list(read_frames(out))) == 6
    assert "6 frames" in status and "audio kept" in status and "Flicker" in status
    run.close()  # as Gradio does once it has the file: the temporary folder goes
    assert not Path(out).exists()
    bad = tmp_path / "bad.mp4"
    bad.write_text("no")
    with pytest.raises(gr.Error, match="not a readable video"):
        next(app.colorize_video_ui(str(bad), "pix2pix", 5, progress=quiet))
    with pytest.raises(gr.Error, match="Upload a video"):
        next(app.colorize_video_ui(None, "pix2pix", 5, progress=quiet))


def test_page_shows_previews_and_offers_full_size_files(monkeypatch):
    from recolor import outputs
    from recolor.provenance import read_provenance
    monkeypatch.setattr(outputs, "PREVIEW_SIDE", 160)
    monkeypatch.setattr(outputs.RunFiles.__init__, "__defaults__", (160,))
    photo = Image.open(EX / "02_animal.jpg")
    seen = None
    for update in app.colorize_all(str(EX / "02_animal.jpg"), str(EX / "02_animal_ref.jpg"),
                                   *_defaults()):
        gallery, downloads = update[0], update[-1]
        shown = [Image.open(p).size for p, c in gallery if not c.endswith("running...")]
        assert all(max(s) <= 160 for s in shown)  # results: previews (placeholders: 256 px)
        if downloads:  # offered once every column is done
            seen = [(Image.open(p).size, read_provenance(p)["method"]) for p in downloads]
    assert seen == [(photo.size, key) for key in METHODS]
