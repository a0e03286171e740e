import os
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image
import pytest

import app
from recolor import METHODS, metrics
from recolor.provenance import read_provenance

EX = app.EXAMPLES


def test_demo_builds_with_the_colorize_endpoint():
    demo = app.build_demo()
    names = [d.api_name for d in demo.fns.values()]
    assert "colorize" in names


def test_each_option_gets_a_control_of_its_kind():
    """A flag is a checkbox, a menu (DeOldify's passes) a dropdown, a range a slider; each
    shows the value that runs (the shipped DeOldify file: render factor 16, 4 passes)."""
    demo = app.build_demo()
    controls = {b.label: b for b in demo.blocks.values()
                if isinstance(b, (gr.Checkbox, gr.Dropdown, gr.Slider)) and b.label}
    assert isinstance(controls["post_process"], gr.Checkbox)
    assert isinstance(controls["render_factor"], gr.Slider)
    assert controls["render_factor"].value == 16
    passes = controls["passes"]  # DeOldify's (the last with that label, in registry order)
    assert isinstance(passes, gr.Dropdown) and passes.value == 4
    assert [c[1] for c in passes.choices] == [1, 2, 4]


def _read(path):
    return None if path is None else np.asarray(Image.open(path).convert("RGB"))


def _last(gen):
    """The API's last update, with its image files read before the run cleans them up."""
    out = None
    for gallery, gray, ref, truth, table, status, suggestions, candidates, *_ in gen:
        out = ([(_read(p), c) for p, c in gallery], _read(gray), _read(ref), _read(truth), table,
               status)
    return out


def _defaults():
    return [o.default for _, o in app.OPTIONS]


def _assert_coloured(image, gray, name):
    """A real colorization: some colour, not the gray input handed back, same size."""
    assert image.shape == gray.shape, name
    assert metrics.colourfulness(image) > 2, name  # a gray image scores 0
    assert np.abs(image.astype(int) - gray).mean() > 1, name


def test_gray_upload_fills_five_columns_with_colour():
    photo = EX / "02_animal.jpg"
    gallery, gray, ref, truth, table, status = _last(app.colorize_all(
        str(photo), str(EX / "02_animal_ref.jpg"), *_defaults()))
    assert table is None and truth is None
    assert len(gallery) == len(METHODS)
    assert metrics.colourfulness(gray) < 1 and ref.ndim == 3
    for (image, caption), m in zip(gallery, METHODS.values()):
        assert caption.startswith(m.name) and caption.endswith(" s"), caption
        _assert_coloured(image, gray, m.name)
    assert "5 of 5 methods done" in status


def test_every_api_result_carries_provenance():
    seen = {}
    for gallery, *_ in app.colorize_all(str(EX / "05_interior.jpg"),
                                        str(EX / "05_interior_ref.jpg"), *_defaults()):
        for path, caption in gallery:
            seen[caption.split(" · ")[0]] = read_provenance(path)  # read before clean-up
    for key, m in METHODS.items():
        meta = seen[m.name]
        assert meta["method"] == key and meta["software"] == "recolor"
        assert meta["settings"] == {**m.defaults(), "restore": False}


def _table_run(photo, reference, values):
    """The page's table function: the last update, with files read (images, ZIP) in time."""
    n = len(METHODS)
    last, first = None, None
    for out in app.colorize_table(photo, reference, *values):
        images, heads, scores = out[:n], out[n:2 * n], out[2 * n:3 * n]
        downloads = out[3 * n:4 * n]
        gray, ref, truth, gray_scores, status, suggestions, candidates, zipped = out[4 * n:]
        assert len(heads) == n
        first = first or heads
        zip_bytes = Path(zipped["value"]).read_bytes() if zipped["value"] else None
        last = dict(images=[_read(p) for p in images], heads=heads, scores=scores,
                    downloads=[d["value"] for d in downloads], gray=_read(gray),
                    truth=_read(truth["value"]), gray_scores=gray_scores["value"], status=status,
                    zip=zip_bytes, provenance=[read_provenance(p) for p in images],
                    first_heads=first)
    return last


def test_table_columns_zip_and_settings_for_a_colour_upload():
    import io
    import json
    import zipfile
    values = _defaults() + [False, True]  # restore off, corner mark on
    t = _table_run(str(EX / "01_people_ref.jpg"), str(EX / "02_animal_ref.jpg"), values)
    assert all("running" in h for h in t["first_heads"])  # the columns fill as methods finish
    for (key, m), head, score_line, image, meta in zip(METHODS.items(), t["heads"], t["scores"],
                                                       t["images"], t["provenance"]):
        assert head.startswith(f"### {m.name}\n{m.description}") and head.endswith(" s**")
        if key == "deoldify":  # what ran: the shipped file's settings
            assert "rf 16 · 4 passes · colour ×1.5 · " in head, head
        assert "PSNR dB" in score_line and "ΔE2000" in score_line
        _assert_coloured(image, t["gray"], m.name)
        assert meta["method"] == key
    assert t["truth"].shape == t["gray"].shape and "PSNR dB" in t["gray_scores"]
    z = zipfile.ZipFile(io.BytesIO(t["zip"]))
    names = set(z.namelist())
    assert names == {f"01_people_ref_{k}.png" for k in METHODS} | {
        "input.png", "reference.png", "ground_truth.png", "settings.json"}
    doc = json.loads(z.read("settings.json"))
    assert doc["corner_mark"] is True and doc["reference"] == "02_animal_ref.jpg"
    lab = doc["methods"]["lab_mean"]
    lab_img = np.asarray(Image.open(z.open("01_people_ref_lab_mean.png")).convert("RGB"))
    truth = np.asarray(Image.open(z.open("ground_truth.png")).convert("RGB"))
    assert lab["options"] == {**METHODS["lab_mean"].defaults(), "restore": False}
    assert doc["gray_scores"]["cf"] < 1 and lab["seconds"] > 0
    # the scores are the colorization's (without the mark): those of the unmarked API result
    plain = _last(app.colorize_all(str(EX / "01_people_ref.jpg"), str(EX / "02_animal_ref.jpg"),
                                   *_defaults()))[0][1][0]
    assert lab["scores"]["de2000"] == round(metrics.delta_e(plain, truth), 2)
    # the corner mark: only the bottom-right corner differs from the unmarked result
    diff = np.abs(lab_img.astype(int) - plain).sum(axis=2)
    ys, xs = np.nonzero(diff)
    h, w = diff.shape
    assert len(ys) > 0 and ys.min() > h // 2 and xs.min() > w // 2


def test_a_large_photo_shows_previews_and_downloads_full_size(tmp_path):
    """Above the preview side (1024 px) the page shows previews, while each download, the
    API's results and the ZIP are full size, and the results carry provenance."""
    import io
    import zipfile
    big = Image.open(EX / "02_animal.jpg").convert("L").resize((1400, 1050), Image.BICUBIC)
    big.save(tmp_path / "big.png")
    n = len(METHODS)
    for out in app.colorize_table(str(tmp_path / "big.png"), str(EX / "02_animal_ref.jpg"),
                                  *_defaults()):  # files are read before the run removes them
        shown = [Image.open(p).size for p in out[:n]]
        downloads = [(Image.open(d["value"]).size, read_provenance(d["value"]))
                     for d in out[3 * n:4 * n] if d["value"]]
        zipped = out[-1]["value"] and Path(out[-1]["value"]).read_bytes()
    assert shown == [(1024, 768)] * n
    assert [meta["method"] for _, meta in downloads] == list(METHODS)
    assert all(size == (1400, 1050) for size, _ in downloads)
    z = zipfile.ZipFile(io.BytesIO(zipped))
    assert Image.open(z.open("input.png")).size == (1400, 1050)
    assert Image.open(z.open("big_pdf.png")).size == (1400, 1050)
    gallery = _last(app.colorize_all(str(tmp_path / "big.png"), str(EX / "02_animal_ref.jpg"),
                                     *_defaults()))[0]
    assert all(image.shape[:2] == (1050, 1400) for image, _ in gallery)


def test_restore_reaches_every_method():
    values = _defaults() + [True, False]
    photo, ref = str(EX / "07_cameraman.jpg"), str(EX / "07_cameraman_ref.jpg")
    t = _table_run(photo, ref, values)
    plain = _table_run(photo, ref, _defaults())
    assert not np.array_equal(t["gray"], plain["gray"])  # the input shown is the restored one
    assert "Restore is on" in t["status"]
    from recolor.color import luma
    for image, meta, m in zip(t["images"], t["provenance"], METHODS.values()):
        _assert_coloured(image, t["gray"], m.name)
        assert meta["settings"]["restore"] is True
    # the networks keep their input's luma: here the restored one
    p2p = list(METHODS).index("pix2pix")
    kept = np.abs(luma(t["images"][p2p]).astype(int) - t["gray"][..., 0])
    assert kept.mean() < 0.5  # (the gamut clips a few pixels)
    assert np.abs(luma(t["images"][p2p]).astype(int) - plain["gray"][..., 0]).mean() > 2


def test_the_real_old_photograph_is_among_the_examples():
    demo = app.build_demo()
    examples = next(b for b in demo.blocks.values() if isinstance(b, gr.Dataset)
                    and b.elem_id == "examples")
    assert any("07_cameraman" in str(row[0]) for row in examples.raw_samples)


def test_render_factor_sweep_returns_labelled_renders():
    values = _defaults()
    j = next(n for n, (k, o) in enumerate(app.OPTIONS) if k == "deoldify" and o.name == "passes")
    values[j] = 1
    estimate = app.sweep_estimate(str(EX / "02_animal.jpg"), "8, 16", *values)
    assert "8, 16" in estimate and "about" in estimate
    seen = None
    for gallery, info in app.sweep_run(str(EX / "02_animal.jpg"), "8, 16", *values):
        seen = [(_read(p), c, read_provenance(p)) for p, c in gallery]
    assert [c.split(" · ")[0] for _, c, _ in seen] == ["render factor 8", "render factor 16"]
    assert [m["settings"]["render_factor"] for _, _, m in seen] == [8, 16]
    gray = _read(str(EX / "02_animal.jpg"))
    for image, _, _ in seen:
        _assert_coloured(image, gray, "sweep")
    assert not np.array_equal(seen[0][0], seen[1][0])  # the factor changes the colour
    assert "done: 2 renders" in info
    with pytest.raises(gr.Error, match="Render factors"):
        app.sweep_factors("8, big")


def test_colour_upload_shows_ground_truth_and_scores():
    gallery, gray, ref, truth, table, status = _last(app.colorize_all(
        str(EX / "01_people_ref.jpg"), str(EX / "02_animal_ref.jpg"), *_defaults()))
    assert truth is not None and truth.shape == gray.shape
    names = [row[0] for row in table]
    assert names == ["gray (no colour)", *[m.name for m in METHODS.values()]]
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


def test_a_failing_method_says_why_in_its_own_column(monkeypatch):
    import io
    import json
    import zipfile
    from dataclasses import replace
    from recolor import registry

    def boom(rgb, reference, **_):
        raise RuntimeError("kaboom")
    monkeypatch.setitem(registry.METHODS, "pix2pix", replace(METHODS["pix2pix"], run=boom))
    t = _table_run(str(EX / "02_animal.jpg"), str(EX / "02_animal_ref.jpg"), _defaults())
    i = list(METHODS).index("pix2pix")
    assert "**failed:**" in t["heads"][i] and "kaboom" in t["heads"][i]
    assert t["downloads"][i] is None and t["provenance"][i] is None  # a placeholder, no chunk
    assert all(t["downloads"][j] for j in range(len(METHODS)) if j != i)
    z = zipfile.ZipFile(io.BytesIO(t["zip"]))
    assert "02_animal_pix2pix.png" not in z.namelist() and "02_animal_pdf.png" in z.namelist()
    assert "kaboom" in json.loads(z.read("settings.json"))["methods"]["pix2pix"]["error"]
    assert "4 of 5 methods done" in t["status"] and "kaboom" in t["status"]
