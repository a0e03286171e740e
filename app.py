"""recolor's Gradio demo: one photo in, the paper's results table out (five colorizations).

`python app.py [--host H] [--port P]`; the UI only wires `recolor` together (the table's
texts, files and ZIP: `recolor.table`; the render-factor sweep: `recolor.sweep`).
"""
from __future__ import annotations

import argparse
import atexit
import inspect
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from recolor import METHODS, RecolorError, load_image  # noqa: E402
from recolor import sweep, table  # noqa: E402
from recolor.gallery import warm_up  # noqa: E402
from recolor.images import fit_within  # noqa: E402
from recolor.metrics import COLUMNS, LABELS  # noqa: E402
from recolor.outputs import RunFiles  # noqa: E402

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples"
DISPLAY_SIDE = int(os.environ.get("RECOLOR_DISPLAY_SIDE", 2048))  # the app works at most this big
# Colorize runs admitted at once: they share the gallery's one pool of worker threads (FIFO), so
# admitting a full room costs no extra CPU, lets each run show its placeholders at once and lets
# the gallery see the depth (the networks drop to 1 pass when busy). Beyond it, Gradio's queue
# waits, up to QUEUE_SIZE; past that a visitor gets "queue is full".
CONCURRENCY = int(os.environ.get("RECOLOR_CONCURRENCY", 24))
QUEUE_SIZE = int(os.environ.get("RECOLOR_QUEUE_SIZE", 200))
MAX_THREADS = CONCURRENCY + 40  # Gradio's worker threads: the runs, plus uploads and page events
MAX_UPLOAD = os.environ.get("RECOLOR_MAX_UPLOAD", "30mb")
SUGGESTIONS = 6  # references offered when none is given
VIDEO_MAX_SECONDS = float(os.environ.get("RECOLOR_VIDEO_MAX_SECONDS", 20))
VIDEO_WORKERS = int(os.environ.get("RECOLOR_VIDEO_WORKERS", os.cpu_count() or 1))  # frames at once

# the option controls, in registry order: (method key, option); after them come the two
# run-wide switches below (restore, corner_mark), so an API call names them as keywords too
OPTIONS = [(key, o) for key, m in METHODS.items() for o in m.options]
KEYS = list(METHODS)


class UploadImage(gr.Image):
    """An image input that hands the uploaded file's path straight to recolor, which reads
    it with EXIF orientation, limits and clear error messages, instead of Gradio's decoding."""

    is_template = True  # rendered by the browser as a plain gr.Image

    def preprocess(self, payload):  # type: ignore[override]
        if payload is not None and getattr(payload, "path", None):
            return str(payload.path)
        return super().preprocess(payload)


def _read(path: str | None, name: str) -> np.ndarray | None:
    if path is None:
        return None
    try:
        return fit_within(load_image(path, name), DISPLAY_SIDE)
    except RecolorError as e:
        raise gr.Error(str(e), title="Cannot use this image") from None


def _options(values: tuple) -> tuple[dict[str, dict[str, Any]], bool, bool]:
    """The controls' values -> ({method: {option: value}}, restore, corner_mark). The two
    switches may be left out (an API call made before they existed)."""
    values = list(values) + [False] * (len(OPTIONS) + 2 - len(values))
    options: dict[str, dict[str, Any]] = {}
    for (key, o), value in zip(OPTIONS, values):
        options.setdefault(key, {})[o.name] = o.parse(value)
    return options, bool(values[len(OPTIONS)]), bool(values[len(OPTIONS) + 1])


def _job(photo: str | None, reference: str | None, values: tuple,
         pick: bool = True) -> table.Job:
    """Read the uploads (a readable gr.Error for a bad one) and, with `pick`, pick a
    reference from the bank if none was given."""
    rgb = _read(photo, "photo")
    if rgb is None:
        raise gr.Error("Upload a photo first (or click one of the examples).", title="No photo")
    ref = _read(reference, "reference")
    options, restore, mark = _options(values)
    return table.job(rgb, ref, options, restore=restore, mark=mark, stem=Path(photo).stem,
                     ref_name=Path(reference).name if reference else "",
                     suggestions=SUGGESTIONS if pick else 0)


def colorize_all(photo: str | None, reference: str | None, *values: Any):
    """The HTTP API (`/colorize`): the five results as one captioned gallery in method order
    (PNGs with the provenance chunk), then the input, the reference, the ground truth, the
    score table (colour uploads), the status and the suggested references."""
    job = _job(photo, reference, values)
    files_in: dict[str, str | None] = {}
    for f in table.frames(job):
        if not files_in:
            files_in = table.input_files(job, f.files)
        gallery = [(f.full(i) or f.path(i), c.caption) for i, c in enumerate(f.cells)]
        rows = [table.score_row(METHODS[k].name if k in METHODS else "gray (no colour)",
                                f.scores[k]) for k in ["gray", *KEYS] if k in f.scores]
        yield (gallery, files_in["input"], files_in["reference"], files_in["truth"],
               rows if job.truth is not None else None, table.status(job, f),
               table.suggestion_files(job, f.files), job.candidates)


def colorize_table(photo: str | None, reference: str | None, *values: Any):
    """The page's table: per method its header, image, scores and download button; then the
    first column (input, reference, truth and the gray baseline's scores), the status, the
    suggestions and, once every method has finished, the "Download all" ZIP."""
    job = _job(photo, reference, values)
    files_in: dict[str, str | None] = {}
    for f in table.frames(job):
        if not files_in:
            files_in = table.input_files(job, f.files)
        paths = [f.path(i) for i in range(len(f.cells))]  # previews: the page shows these
        zip_path = table.zip_all(job, f) if f.done else None
        truth = job.truth is not None
        yield (*paths, *[table.header(c) for c in f.cells],
               *[table.score_text(f.scores.get(c.key)) for c in f.cells],
               *[gr.update(value=f.full(i), visible=c.ok) for i, c in enumerate(f.cells)],
               files_in["input"], files_in["reference"],
               gr.update(value=files_in["truth"], visible=truth),
               gr.update(value=table.gray_scores(f), visible=truth), table.status(job, f),
               gr.update(value=table.suggestion_files(job, f.files),
                         visible=bool(job.candidates)),
               job.candidates, gr.update(value=zip_path, visible=zip_path is not None))


def slide(index: int, gray: str | None, *images: str | None) -> tuple[dict, dict]:
    """The lightbox on result `index`: input and result in a before/after slider. Nothing
    opens before the result exists."""
    if not gray or not images[index]:
        return gr.update(visible=False), gr.update()
    label = (f"{METHODS[KEYS[index]].name}: before / after (drag the line; ← → the other "
             f"results, Esc closes)")
    return gr.update(visible=True), gr.update(value=(gray, images[index]), label=label)


def _opener(i: int):
    return lambda gray, *images: slide(i, gray, *images)


def _keywords(fn, *first: str):
    """Name `fn`'s trailing *values after the controls they come from, so that the HTTP API
    takes them as keywords: `pdf_iterations`, `deoldify_passes`, ..., `restore`,
    `corner_mark` (Gradio reads the names from the signature)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(n, kind) for n in first]
    params += [inspect.Parameter(f"{k}_{o.name}", kind, default=o.default) for k, o in OPTIONS]
    params += [inspect.Parameter(n, kind, default=False) for n in ("restore", "corner_mark")]
    fn.__signature__ = inspect.Signature(params)
    return fn


def sweep_factors(text: str) -> tuple[int, ...]:
    """"8, 12, 16" -> (8, 12, 16); a readable gr.Error otherwise."""
    try:
        factors = tuple(int(x) for x in str(text).replace(",", " ").split())
    except ValueError:
        factors = ()
    if not factors or len(factors) > 16 or not all(1 <= f <= 64 for f in factors):
        raise gr.Error("Render factors: up to 16 whole numbers from 1 to 64, e.g. "
                       "8, 12, 16, 20, 24, 28, 32.", title="Render factors")
    return factors


def sweep_estimate(photo: str | None, factors_text: str, *values: Any) -> str:
    """What the sweep will run and how long it should take, shown before it starts."""
    if not photo:
        raise gr.Error("Upload a photo first (or click one of the examples).", title="No photo")
    factors = sweep_factors(factors_text)
    options, _, _ = _options(values)
    try:
        secs = sweep.estimate_seconds(options["deoldify"], factors)
    except RecolorError as e:
        return f"DeOldify cannot run here: {e}"
    return (f"Render-factor sweep: DeOldify at render factors {', '.join(map(str, factors))} "
            f"({len(factors)} renders, its other options as set above): about {secs:.0f} s on "
            "this server, once it is your turn in the queue.")


def sweep_run(photo: str | None, factors_text: str, *values: Any):
    """The sweep on the queue: DeOldify at each render factor, labelled, streamed."""
    factors = sweep_factors(factors_text)
    job = _job(photo, None, values, pick=False)  # DeOldify needs no reference
    opts = job.options["deoldify"]
    files = RunFiles(job.stem, job.mark)
    items: list[tuple[str, str]] = []
    total = 0.0
    try:
        for rf, out, secs in sweep.sweep(job.gray, opts, factors):
            total += secs
            settings = {**opts, "render_factor": rf, "restore": job.restore}
            _, full = files.result("deoldify", out, settings, f"deoldify_rf{rf:02d}")
            items.append((full, sweep.caption(rf, secs)))
            yield items, f"{len(items)} of {len(factors)} renders."
        yield items, (
            f"Render-factor sweep done: {len(items)} renders in {total:.1f} s. Higher factors "
            "give the network more detail to work with, lower ones often steadier colour.")
    except RecolorError as e:
        raise gr.Error(str(e), title="DeOldify cannot run") from None
    finally:
        files.close()


_SUGGESTED: Path | None = None  # one folder of served copies per process, removed at exit


def use_suggestion(candidates: list[str], evt: gr.SelectData) -> str:
    """A copy of the clicked suggestion, as the new reference input (the bank folder itself
    is not served). One copy per bank photo, however often it is clicked."""
    global _SUGGESTED
    if _SUGGESTED is None:
        _SUGGESTED = Path(tempfile.mkdtemp(prefix="recolor-ref-"))
        atexit.register(shutil.rmtree, _SUGGESTED, ignore_errors=True)
    src = Path(candidates[evt.index])
    dst = _SUGGESTED / f"{src.parent.name}-{src.name}"
    if not dst.is_file():
        part = dst.with_name(f".{os.getpid()}-{id(evt)}-{dst.name}")
        shutil.copyfile(src, part)
        os.replace(part, dst)  # atomic: two users clicking the same photo never see half a file
    return str(dst)


def colorize_video_ui(path: str | None, method: str, seconds: float,
                      progress: gr.Progress = gr.Progress()) -> Iterator[tuple[str, str]]:
    """The Video tab: `recolor.video.colorize_video` on the first `seconds` of the upload.
    A generator, like `colorize_all`, so that its temporary folder is removed once Gradio has
    taken the result into its own cache."""
    from recolor.video import colorize_video  # noqa: PLC0415

    if not path:
        raise gr.Error("Upload a video first.", title="No video")
    tmp = Path(tempfile.mkdtemp(prefix="recolor-video-"))

    def report(done: int, total: int) -> None:
        progress(done / max(total, done, 1), desc=f"frame {done} of {max(total, done)}")

    try:
        try:
            r = colorize_video(path, tmp / (Path(path).stem + "_color.mp4"), method,
                               max_seconds=min(float(seconds), VIDEO_MAX_SECONDS),
                               progress=report, workers=VIDEO_WORKERS)
        except (RecolorError, OSError) as e:
            raise gr.Error(str(e), title="Cannot colorize this video") from None
        notes = "".join(f" {n[0].upper()}{n[1:]}." for n in r.notes)
        yield str(r.path), (
            f"{r.frames} frames, {r.size[0]}x{r.size[1]} at {r.fps:g} fps in {r.seconds:.1f} s; "
            f"{'audio kept' if r.audio else 'no audio in the input'}.{notes} Flicker (mean "
            f"frame-to-frame chroma change, CIE Lab): input {r.flicker_in:.2f}, "
            f"output {r.flicker_out:.2f}.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


CSS = """
#table { align-items: flex-start; gap: 10px; }
#table .result-head { min-height: 9.5em; }
#table .result-head h3 { margin: 0 0 4px; }
#table .result-scores { min-height: 2.6em; font-size: 0.9em; }
#table .result-image img { cursor: zoom-in; }
#lightbox { position: fixed; top: 2vh; left: 2vw; right: 2vw; max-height: 96vh; z-index: 1000;
            overflow: auto; padding: 12px;
            width: auto !important; max-width: none; box-sizing: border-box;
            background: var(--body-background-fill); border: 1px solid var(--border-color-primary);
            box-shadow: 0 0 0 100vmax rgba(0, 0, 0, 0.65); }
#sweep-gallery .grid-wrap, #suggestions .grid-wrap { min-height: 0; height: auto; }
@media (max-width: 767px) { #table .result-head, #table .result-scores { min-height: 0; } }
"""

# Scroll the table to the top of the window when a run starts, so that on a projector the row
# of results with its headers is on screen as the columns fill.
SCROLL_JS = """() => { const t = document.getElementById('how-to-read');
  if (t) window.scrollTo({top: t.getBoundingClientRect().top + window.scrollY - 8,
                          behavior: 'instant'}); }"""

# ← → step through the five results in the lightbox and Esc closes it. The step is counted in
# the page (the last result clicked), then that result is clicked: rapid key presses add up
# instead of racing each other to the server.
KEYS_JS = """() => {
  if (window.recolorStep) return;
  const keys = %s;
  window.recolorIndex = 0;
  window.recolorStep = d => {
    const i = (window.recolorIndex + d + keys.length) %% keys.length;
    window.recolorIndex = i;
    const img = document.querySelector(`#result-${keys[i]} img`);
    if (!img) return;  // Gradio's image reports a click only inside the picture: aim at its centre
    const r = img.getBoundingClientRect();
    img.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: r.left + r.width / 2,
                                               clientY: r.top + r.height / 2}));
  };
  document.addEventListener('click', e => {
    const el = e.target.closest ? e.target.closest('[id^="result-"]') : null;
    if (el && keys.includes(el.id.slice(7))) window.recolorIndex = keys.indexOf(el.id.slice(7));
  }, true);
  document.addEventListener('keydown', e => {
    const box = document.getElementById('lightbox');
    if (!box || box.getClientRects().length === 0) return;
    const step = {ArrowLeft: -1, ArrowRight: 1}[e.key];
    if (step) window.recolorStep(step);
    else if (e.key === 'Escape') document.getElementById('lightbox-close')?.click();
    else return;
    e.preventDefault(); e.stopPropagation();
  }, true);
}""" % json.dumps(KEYS)


def _control(o) -> gr.components.Component:
    if isinstance(o.default, bool):
        return gr.Checkbox(o.default, label=o.name, info=o.help)
    if o.choices is not None:
        return gr.Dropdown(list(o.choices), value=o.default, label=o.name, info=o.help)
    return gr.Slider(o.minimum, o.maximum, o.default, step=o.step, label=o.name, info=o.help)


def _option_controls() -> list:
    """The Options accordion: the two run-wide switches, then each method's options under
    its name and description (defaults from the registry). Returns the controls in the
    order `_options` reads them."""
    controls = []
    with gr.Accordion("Options", open=False, elem_id="options"):
        with gr.Row():
            switches = [
                gr.Checkbox(False, label="restore", elem_id="restore",
                            info="Lightly denoise (non-local means) and normalise the contrast "
                                 "(CLAHE) of the photo's luminance before colorizing, for all "
                                 "five methods; the results keep the restored luminance."),
                gr.Checkbox(False, label="corner_mark", elem_id="corner-mark",
                            info="Draw a small visible \"recolor\" mark in a corner of every "
                                 "result. Every PNG says in a text chunk that its colours were "
                                 "made by recolor either way.")]
        for key, m in METHODS.items():
            own = [o for k, o in OPTIONS if k == key]
            if own:
                with gr.Row():
                    gr.Markdown(f"**{m.name}**: {m.description}")
                    controls += [_control(o) for o in own]
    return controls + switches


@dataclass
class Table:
    """The results table's components: the first column, then one column per method."""
    gray: gr.Image
    ref: gr.Image
    truth: gr.Image
    gray_scores: gr.Markdown
    heads: list
    images: list
    scores: list
    downloads: list


def _results_table() -> Table:
    """Input, reference (and truth) stacked in a narrow first column, then the five methods,
    each headed by its name, description and time, with its scores and download below."""
    heads, images, scores, downloads = [], [], [], []
    with gr.Row(equal_height=False, elem_id="table"):
        with gr.Column(scale=2, min_width=200, elem_id="inputs"):
            gray = gr.Image(label="Grayscale input", interactive=False, type="filepath",
                            elem_id="input", buttons=[])
            ref = gr.Image(label="Reference used", interactive=False, type="filepath",
                           elem_id="reference-used", buttons=[])
            truth = gr.Image(label="Ground truth (colour upload)", interactive=False,
                             type="filepath", visible=False, elem_id="truth", buttons=[])
            gray_scores = gr.Markdown(visible=False, elem_classes=["result-scores"])
        for key, m in METHODS.items():
            with gr.Column(scale=3, min_width=300, elem_id=f"column-{key}"):
                heads.append(gr.Markdown(f"### {m.name}\n{m.description}",
                                         elem_classes=["result-head"], elem_id=f"head-{key}"))
                images.append(gr.Image(label=m.name, show_label=False, interactive=False,
                                       type="filepath", elem_id=f"result-{key}", buttons=[],
                                       elem_classes=["result-image"]))
                scores.append(gr.Markdown(elem_classes=["result-scores"],
                                          elem_id=f"scores-{key}"))
                downloads.append(gr.DownloadButton(f"Download {m.name}", visible=False,
                                                   size="sm", elem_id=f"download-{key}"))
    return Table(gray, ref, truth, gray_scores, heads, images, scores, downloads)


def _lightbox(t: Table) -> gr.Column:
    """A clicked result large, with the before/after slider; ← → (and the buttons) step
    through the five in the page (KEYS_JS), Esc (and close) closes."""
    with gr.Column(visible=False, elem_id="lightbox") as box:
        compare = gr.ImageSlider(label="Before / after", type="filepath", interactive=False,
                                 max_height=780, elem_id="compare")
        with gr.Row():
            prev = gr.Button("← previous", size="sm", elem_id="lightbox-prev")
            close = gr.Button("close (Esc)", size="sm", elem_id="lightbox-close")
            nxt = gr.Button("next →", size="sm", elem_id="lightbox-next")
    quick = dict(api_visibility="private", queue=False)
    for i, image in enumerate(t.images):
        image.select(_opener(i), [t.gray, *t.images], [box, compare], **quick)
    prev.click(None, js="() => window.recolorStep(-1)", **quick)
    nxt.click(None, js="() => window.recolorStep(1)", **quick)
    close.click(lambda: gr.update(visible=False), None, box, **quick)
    return box


def _sweep_ui(photo: gr.Image, controls: list) -> None:
    """The render-factor sweep: its estimate is shown at once, then it runs on the queue."""
    with gr.Accordion("DeOldify render-factor sweep", open=True, elem_id="sweep-box"):
        gr.Markdown("Which render factor? DeOldify shrinks the photo to a square of 16 x "
                    "render factor pixels for its network: low factors see less detail and "
                    "give calmer colour, high ones more detail. The sweep renders the photo at "
                    "each factor, side by side.")
        with gr.Row():
            factors = gr.Textbox(", ".join(map(str, sweep.FACTORS)), label="render factors",
                                 elem_id="sweep-factors", scale=3)
            button = gr.Button("Render-factor sweep", elem_id="sweep", scale=1)
        info = gr.Markdown(elem_id="sweep-info")
        shown = gr.Gallery(label="DeOldify by render factor", columns=len(sweep.FACTORS),
                           height="auto", object_fit="contain", visible=False, format="png",
                           elem_id="sweep-gallery")
    quick = dict(api_visibility="private", queue=False)
    button.click(sweep_estimate, [photo, factors, *controls], info, **quick).success(
        lambda: gr.update(value=None, visible=True), None, shown, **quick).success(
        _keywords(sweep_run, "photo", "factors"), [photo, factors, *controls], [shown, info],
        api_name="sweep")


def _photos_tab() -> None:
    with gr.Row():
        photo = UploadImage(type="filepath", label="Photo", sources=["upload", "clipboard"],
                            elem_id="photo", height=260)
        reference = UploadImage(type="filepath", label="Colour reference (optional)",
                                sources=["upload", "clipboard"], elem_id="reference",
                                height=260)
    controls = _option_controls()
    run = gr.Button("Colorize", variant="primary", elem_id="run")
    gr.Markdown(table.READ_ME, elem_id="how-to-read")
    t = _results_table()
    with gr.Row():
        status = gr.Markdown(elem_id="status")
        zip_button = gr.DownloadButton("Download all (ZIP)", visible=False, elem_id="download-all",
                                       variant="primary", scale=0, min_width=200)
    box = _lightbox(t)
    suggestions = gr.Gallery(label="Suggested references (click one to use it)",
                             columns=SUGGESTIONS, height=160, object_fit="contain",
                             allow_preview=False, visible=False, elem_id="suggestions")
    candidates = gr.State([])
    _sweep_ui(photo, controls)
    examples = sorted(p for p in EXAMPLES.glob("*.jpg") if not p.stem.endswith("_ref"))
    example_table = gr.Examples(
        [[str(p), str(p.with_name(p.stem + "_ref.jpg"))] for p in examples],
        inputs=[photo, reference], label="Examples (photo, reference; click one to run it)",
        elem_id="examples")
    # the HTTP API's view of a run: one gallery and a score table (hidden on the page)
    api_gallery = gr.Gallery(visible=False, format="png", label="results")
    api_scores = gr.Dataframe(headers=SCORE_HEADERS, visible=False, label="scores")
    api_button = gr.Button(visible=False)
    api_button.click(_keywords(colorize_all, "photo", "reference"), [photo, reference, *controls],
                     [api_gallery, t.gray, t.ref, t.truth, api_scores, status, suggestions,
                      candidates], api_name="colorize", concurrency_limit=CONCURRENCY,
                     concurrency_id="colorize")
    ui = dict(fn=colorize_table, inputs=[photo, reference, *controls],
              outputs=[*t.images, *t.heads, *t.scores, *t.downloads, t.gray, t.ref, t.truth,
                       t.gray_scores, status, suggestions, candidates, zip_button],
              api_visibility="private", concurrency_limit=CONCURRENCY,
              concurrency_id="colorize")
    quick = dict(inputs=None, api_visibility="private", queue=False)
    for start in (run.click, suggestions.select(use_suggestion, candidates, reference,
                                               api_visibility="private").then,
                  example_table.load_input_event.then):
        start(lambda: gr.update(visible=False), outputs=box, **quick).then(
            None, js=SCROLL_JS, **quick).then(**ui)


SCORE_HEADERS = ["method", *[LABELS[c] for c in COLUMNS], "seconds"]


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="recolor: colorize B/W photos five ways", analytics_enabled=False,
                   delete_cache=(3600, 3600), fill_width=True) as demo:
        gr.Markdown("# recolor\nUpload a black-and-white photo (a colour photo works too: its "
                    "grayscale version is colorized and the original shown as ground truth) and, "
                    "for the three colour-transfer methods, a colour reference photo.")
        with gr.Tab("Photos", elem_id="tab-photos"):
            _photos_tab()
        with gr.Tab("Video", elem_id="tab-video"):
            _video_tab()
        demo.load(None, js=KEYS_JS, api_visibility="private", queue=False)
    # other queued events (the sweep): two at a time; the video tab sets its own limit of 1
    demo.queue(default_concurrency_limit=2, max_size=QUEUE_SIZE)
    return demo


def _video_tab() -> None:
    gr.Markdown(f"Colorize a short B/W clip frame by frame (audio kept). At most "
                f"{VIDEO_MAX_SECONDS:g} s from the start are processed here; the command "
                "line `python -m recolor video` has no such limit.")
    with gr.Row():
        video_in = gr.Video(label="Video", sources=["upload"], elem_id="video-in")
        video_out = gr.Video(label="Colorized", interactive=False, elem_id="video-out")
    with gr.Row():
        video_method = gr.Dropdown([(f"{m.name}: {m.description}", k)
                                    for k, m in METHODS.items()],
                                   value="deoldify", label="Method", elem_id="video-method")
        video_seconds = gr.Slider(1, VIDEO_MAX_SECONDS, min(5, VIDEO_MAX_SECONDS),
                                  step=1, label="Seconds to colorize", elem_id="video-seconds")
    gr.Examples([[str(p)] for p in sorted(EXAMPLES.glob("*.mp4"))], inputs=[video_in],
                label="Example clip (a B/W pan over a val photo)")
    video_run = gr.Button("Colorize video", variant="primary", elem_id="video-run")
    video_status = gr.Markdown(elem_id="video-status")
    video_run.click(colorize_video_ui, [video_in, video_method, video_seconds],
                    [video_out, video_status], api_name="colorize_video",
                    concurrency_limit=1)


def _warm_up() -> None:
    """Load the networks while the server starts; say on stderr which methods cannot run.
    Then time DeOldify for the render-factor sweep's estimate (its default options), so that
    the first sweep's estimate shows at once."""
    cells = warm_up()
    for cell in cells:
        if cell.error:
            print(f"recolor: {METHODS[cell.key].name} is unavailable: {cell.error}",
                  file=sys.stderr)
    if not any(c.error for c in cells if c.key == "deoldify"):
        try:
            sweep.cost_per_pixel(METHODS["deoldify"].defaults())
        except RecolorError as e:
            print(f"recolor: the render-factor sweep cannot be timed: {e}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="interface to listen on (0.0.0.0 to serve a network, as a Space does)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    args = parser.parse_args()
    # the five methods run side by side in threads: one torch thread each beats them all
    # fighting over every core (measured: benchmarks/transfer.py --threads 1 vs 2)
    torch.set_num_threads(int(os.environ.get("RECOLOR_TORCH_THREADS", 1)))
    if os.environ.get("RECOLOR_WARM_UP", "1") != "0":
        threading.Thread(target=_warm_up, name="recolor-warm-up", daemon=True).start()
    build_demo().launch(server_name=args.host, server_port=args.port, share=False,
                        allowed_paths=[str(EXAMPLES)], max_file_size=MAX_UPLOAD,
                        show_error=True, css=CSS, max_threads=MAX_THREADS)


if __name__ == "__main__":
    main()
