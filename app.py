"""recolor's Gradio demo: one photo in, five colorizations side by side.

`python app.py [--host H] [--port P]`; the UI only wires `recolor` together.
"""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


from recolor import METHODS, RecolorError, load_image  # noqa: E402
from recolor.color import gray_to_rgb, is_grayscale, luma  # noqa: E402
from recolor.gallery import run_all, warm_up  # noqa: E402
from recolor.images import fit_within  # noqa: E402
from recolor.metrics import COLUMNS, LABELS, score  # noqa: E402
from recolor.outputs import RunFiles, shared_image  # noqa: E402
from recolor.references import top_references  # noqa: E402

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples"
DISPLAY_SIDE = int(os.environ.get("RECOLOR_DISPLAY_SIDE", 2048))  # the app works at most this big
# Colorize runs admitted at once: they share the gallery's one pool of worker threads (FIFO), so
# admitting a full room costs no extra CPU, lets each run show its placeholders at once and lets
# the gallery see the depth (networks drop to 1 pass when busy). Beyond it, Gradio's queue waits.
CONCURRENCY = int(os.environ.get("RECOLOR_CONCURRENCY", 24))
QUEUE_SIZE = int(os.environ.get("RECOLOR_QUEUE_SIZE", 200))  # waiting beyond that: "queue is full"
MAX_THREADS = CONCURRENCY + 40  # Gradio's worker threads: the runs, plus uploads and page events
MAX_UPLOAD = os.environ.get("RECOLOR_MAX_UPLOAD", "30mb")
SUGGESTIONS = 6  # references offered when none is given
VIDEO_MAX_SECONDS = float(os.environ.get("RECOLOR_VIDEO_MAX_SECONDS", 20))
VIDEO_WORKERS = int(os.environ.get("RECOLOR_VIDEO_WORKERS", os.cpu_count() or 1))  # frames at once

# the option controls, in registry order: (method key, option)
OPTIONS = [(key, o) for key, m in METHODS.items() for o in m.options]


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


def colorize_all(photo: str | None, reference: str | None, *option_values: Any):
    """Colorize the grayscale version of `photo` with every method; stream the gallery."""
    rgb = _read(photo, "photo")
    if rgb is None:
        raise gr.Error("Upload a photo first (or click one of the examples).", title="No photo")
    ref = _read(reference, "reference")
    colour = not is_grayscale(rgb)
    gray = gray_to_rgb(luma(rgb))
    candidates, picked = [], ""
    if ref is None:
        try:
            candidates = [str(p) for p, _ in top_references(gray, k=SUGGESTIONS)]
            ref = load_image(candidates[0], "reference")
            picked = "No reference given: picked one from the reference bank by the photo's " \
                     "layout (others below; click one to use it)."
        except RecolorError as e:
            picked = f"No reference given, and none could be picked: {e}"
    options: dict[str, dict[str, Any]] = {}
    for (key, o), value in zip(OPTIONS, option_values):
        options.setdefault(key, {})[o.name] = o.parse(value)
    note = ("Colour upload: the methods see its grayscale version; the original is shown as "
            "ground truth and each result is scored against it." if colour else "")
    scores: dict[str, list] = {}
    if colour:
        scores["gray"] = _score_row("gray (no colour)", gray, rgb, 0.0)
    files = RunFiles()
    png = files.image
    shown = [png(c, load_image(c)) for c in candidates]
    try:
        for cells in run_all(gray, ref, options, files=files):
            gallery = [(_shown_file(c, png), c.caption) for c in cells]
            downloads = [c.full for c in cells if c.full]
            done = sum(c.ok for c in cells)
            failed = [c.caption for c in cells if c.error]
            status = f"{done} of {len(cells)} methods done. {picked} {note}"
            if failed:
                status += "\n\n" + "\n".join(f"- {f}" for f in failed)
            if colour:
                for c in cells:
                    if c.ok and c.key not in scores:
                        scores[c.key] = _score_row(METHODS[c.key].name, c.image, rgb, c.seconds)
            table = [scores[k] for k in ["gray", *METHODS] if k in scores] if colour else None
            yield (gallery, png("gray input", gray), png("reference", ref),
                   png("ground truth", rgb if colour else None), table, status,
                   shown, candidates, downloads if _finished(cells) else None)
    finally:
        files.close()


def _shown_file(cell, png) -> str | None:
    """The gallery's file for a cell: its preview; a placeholder shared by all runs while it
    runs; a message tile of this run when it failed."""
    if cell.preview:
        return cell.preview
    if cell.caption.endswith("running..."):
        return shared_image(cell.caption, cell.image)
    return png(cell.caption, cell.image)


def _finished(cells: list) -> bool:
    """Every column done or failed: the full-size files are offered once, at the end (each
    file Gradio is given is copied into its cache at every update that carries it)."""
    return not any(c.caption.endswith("running...") for c in cells)


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


SCORE_HEADERS = ["method", *[LABELS[c] for c in COLUMNS], "seconds"]


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


def _score_row(name: str, image: np.ndarray, truth: np.ndarray, seconds: float) -> list:
    """One row of the score table: the same metrics as `python -m recolor evaluate`."""
    s = score(image, truth)
    return [name, *[round(s[c], 3 if c == "ssim" else 2) for c in COLUMNS], round(seconds, 2)]


# Gradio gives a gallery a 450 px minimum height; one row of five results needs less, and the
# empty band pushed the rest of the page down.
CSS = "#gallery .grid-wrap { min-height: 0; height: auto; }"


def _shown(truth: str | None, candidates: list[str]) -> tuple[dict, dict, dict]:
    """Show the ground truth and the scores only after a colour upload, and the suggested
    references only when the app picked one; empty panels would only push the page down."""
    return (gr.update(visible=truth is not None), gr.update(visible=truth is not None),
            gr.update(visible=bool(candidates)))


def _compare(gray: str | None, evt: gr.SelectData) -> dict:
    """The grayscale input and the clicked result in one before/after slider."""
    value = evt.value if isinstance(evt.value, dict) else {}
    image = (value.get("image") or {}).get("path")
    if not gray or not image:
        return gr.update(visible=False)
    return gr.update(value=(gray, image), visible=True,
                     label=f"Before / after: {value.get('caption') or 'result'} (drag the line)")


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="recolor: colorize B/W photos five ways", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# recolor\nUpload a black-and-white photo (a colour photo works too: its "
                    "grayscale version is colorized and the original shown as ground truth) and, "
                    "for the three colour-transfer methods, a colour reference photo.")
        with gr.Tab("Photos", elem_id="tab-photos"):
            with gr.Row():
                photo = UploadImage(type="filepath", label="Photo",
                                    sources=["upload", "clipboard"], elem_id="photo")
                reference = UploadImage(type="filepath", label="Colour reference (optional)",
                                        sources=["upload", "clipboard"], elem_id="reference")
            controls = []
            with gr.Accordion("Options", open=False):
                for key, m in METHODS.items():
                    own = [o for k, o in OPTIONS if k == key]
                    if not own:
                        continue
                    with gr.Row():
                        gr.Markdown(f"**{m.name}**")
                        for o in own:
                            if isinstance(o.default, bool):
                                controls.append(gr.Checkbox(o.default, label=o.name, info=o.help))
                            elif o.choices is not None:
                                controls.append(gr.Dropdown(list(o.choices), value=o.default,
                                                            label=o.name, info=o.help))
                            else:
                                controls.append(gr.Slider(o.minimum, o.maximum, o.default,
                                                          step=o.step, label=o.name,
                                                          info=o.help))
            run = gr.Button("Colorize", variant="primary", elem_id="run")
            gallery = gr.Gallery(label="Mean/StD · Lab mean · PDF · pix2pix · DeOldify",
                                 columns=len(METHODS), object_fit="contain", height="auto",
                                 format="png", elem_id="gallery")
            compare = gr.ImageSlider(label="Before / after", type="filepath", format="png",
                                     interactive=False, visible=False, max_height=600,
                                     elem_id="compare")
            with gr.Row():
                gray_out = gr.Image(label="Grayscale input", interactive=False, format="png",
                                    type="filepath")
                ref_out = gr.Image(label="Reference used", interactive=False, format="png")
                truth_out = gr.Image(label="Ground truth (colour upload)", interactive=False,
                                     format="png", type="filepath", visible=False,
                                     elem_id="truth")
            scores = gr.Dataframe(headers=SCORE_HEADERS, label="Scores against the original "
                                  "(colour uploads only)", interactive=False, visible=False,
                                  elem_id="scores")
            downloads = gr.File(label="Full-size results (PNG, for download)",
                                file_count="multiple", interactive=False, elem_id="downloads")
            status = gr.Markdown(elem_id="status")
            suggestions = gr.Gallery(label="Suggested references (click one to use it)",
                                     columns=SUGGESTIONS, height=160, object_fit="contain",
                                     allow_preview=False, visible=False, elem_id="suggestions")
            candidates = gr.State([])
            examples = sorted(p for p in EXAMPLES.glob("*.jpg") if not p.stem.endswith("_ref"))
            example_table = gr.Examples(
                [[str(p), str(p.with_name(p.stem + "_ref.jpg"))] for p in examples],
                inputs=[photo, reference], label="Examples (photo, reference; click one to run it)",
                elem_id="examples")
            outputs = [gallery, gray_out, ref_out, truth_out, scores, status, suggestions,
                       candidates, downloads]
            # instant layout updates skip the queue, so they never wait behind a colorization
            layout = dict(fn=_shown, inputs=[truth_out, candidates],
                          outputs=[truth_out, scores, suggestions], api_visibility="private",
                          queue=False)
            colorize = dict(fn=colorize_all, inputs=[photo, reference, *controls],
                            outputs=outputs, concurrency_limit=CONCURRENCY,
                            concurrency_id="colorize")
            hide_compare = dict(fn=lambda: gr.update(visible=False), inputs=None,
                                outputs=compare, api_visibility="private", queue=False)
            run.click(**colorize, api_name="colorize").then(**layout)
            run.click(**hide_compare)
            gallery.select(_compare, gray_out, compare, api_visibility="private", queue=False)
            # a clicked suggestion or example runs at once
            for loaded in (suggestions.select(use_suggestion, candidates, reference,
                                              api_visibility="private"),
                           example_table.load_input_event):
                loaded.then(**hide_compare).then(**colorize, api_visibility="private").then(
                    **layout)
        with gr.Tab("Video", elem_id="tab-video"):
            gr.Markdown(f"Colorize a short B/W clip frame by frame (audio kept). At most "
                        f"{VIDEO_MAX_SECONDS:g} s from the start are processed here; the command "
                        "line `python -m recolor video` has no such limit.")
            with gr.Row():
                video_in = gr.Video(label="Video", sources=["upload"], elem_id="video-in")
                video_out = gr.Video(label="Colorized", interactive=False, elem_id="video-out")
            with gr.Row():
                video_method = gr.Dropdown([(m.name, k) for k, m in METHODS.items()],
                                           value="deoldify", label="Method")
                video_seconds = gr.Slider(1, VIDEO_MAX_SECONDS, min(5, VIDEO_MAX_SECONDS),
                                          step=1, label="Seconds to colorize")
            gr.Examples([[str(p)] for p in sorted(EXAMPLES.glob("*.mp4"))], inputs=[video_in],
                        label="Example clip (a B/W pan over a val photo)")
            video_run = gr.Button("Colorize video", variant="primary", elem_id="video-run")
            video_status = gr.Markdown(elem_id="video-status")
            video_run.click(colorize_video_ui, [video_in, video_method, video_seconds],
                            [video_out, video_status], api_name="colorize_video",
                            concurrency_limit=1)
    # other queued events: two at a time (the video tab sets its own limit of 1)
    demo.queue(default_concurrency_limit=2, max_size=QUEUE_SIZE)
    return demo


def _warm_up() -> None:
    """Load the networks while the server starts; say on stderr which methods cannot run."""
    for cell in warm_up():
        if cell.error:
            print(f"recolor: {METHODS[cell.key].name} is unavailable: {cell.error}",
                  file=sys.stderr)


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
