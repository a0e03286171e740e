"""The real app in headless Chromium (Debian's /usr/bin/chromium), driven by Playwright.

Skipped, with the reason, where no Chromium is installed, unless RECOLOR_E2E=1 (CI sets it
after installing Chromium), in which case a missing browser is a failure.
Screenshots go to tests/output/e2e/ (RECOLOR_SCREENSHOTS=docs/screenshots writes the README's).
"""
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recolor import METHODS
from recolor.metrics import colourfulness
from recolor.provenance import read_provenance

from app import SCROLL_JS

from ..conftest import EXAMPLES, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.server]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("RECOLOR_E2E") != "1":
    pytest.skip("no chromium on PATH (apt-get install -y chromium)", allow_module_level=True)

OUT = ROOT / "tests" / "output" / "e2e"
SHOTS = Path(os.environ.get("RECOLOR_SCREENSHOTS", OUT))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEYS = list(METHODS)
EXAMPLE = "03_landscape"  # the example the README's screenshots show


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    assert CHROMIUM, "RECOLOR_E2E=1 but chromium is not installed"
    OUT.mkdir(parents=True, exist_ok=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, server, width, height):
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.set_default_timeout(60_000)
    page.goto(server)
    page.locator("#photo input[type=file]").wait_for(state="attached")
    return page


@pytest.fixture
def page(browser, server):
    page = _open(browser, server, 1920, 1080)
    yield page
    page.close()


@pytest.fixture(scope="module")
def table_page(browser, server):
    """One example run at 1920x1080, shared by the projector and the phone checks (the phone
    check resizes the same page: the layout follows the width, and one run is saved)."""
    page = _open(browser, server, 1920, 1080)
    _run_example(page)  # an example runs at once, and the page scrolls to the table
    yield page
    page.close()


def _wait_for_table(page):
    """Every column has its image and time (no "running"), and the ZIP is offered."""
    page.wait_for_function(
        """keys => keys.every(k => {
            const img = document.querySelector(`#result-${k} img`);
            const head = document.querySelector(`#head-${k}`);
            return img && img.complete && img.naturalWidth > 0 && head
                   && / s$/m.test(head.innerText.trim()) && !head.innerText.includes('running');
        }) && document.querySelector('#download-all')?.getClientRects().length > 0""",
        arg=KEYS, timeout=150_000)


def _run_example(page, stem=EXAMPLE):
    rows = page.locator("#examples tbody tr")
    rows.nth(sorted(p.stem for p in EXAMPLES.glob("*.jpg")
                    if not p.stem.endswith("_ref")).index(stem)).click()
    page.locator("#photo img").first.wait_for()
    _wait_for_table(page)
    page.wait_for_timeout(300)  # let the last images lay out


def _in_viewport(box, width, height):
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width + 0.5 \
        and box["y"] + box["height"] <= height + 0.5


def test_table_at_1920_one_row_on_screen_with_zip_and_lightbox(table_page):
    page = table_page
    boxes = [page.locator(f"#result-{k}").bounding_box() for k in KEYS]
    heads = [page.locator(f"#head-{k}").bounding_box() for k in KEYS]
    print("result widths at 1920 px:", [round(b["width"], 1) for b in boxes])
    assert all(b["width"] >= 300 for b in boxes), boxes
    assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 2  # one row
    assert all(boxes[i + 1]["x"] >= boxes[i]["x"] + boxes[i]["width"] for i in range(4))
    for box in boxes + heads:  # the row and its headers on screen, no scrolling needed
        assert _in_viewport(box, 1920, 1080), box
    for k, m in METHODS.items():
        text = page.locator(f"#head-{k}").inner_text()
        assert m.name in text and m.description in text and text.strip().endswith(" s")
    assert page.locator("#how-to-read").is_visible()
    page.screenshot(path=str(SHOTS / "table-1920.png"))
    assert (SHOTS / "table-1920.png").stat().st_size > 50_000

    with page.expect_download() as dl:
        page.locator("#download-all").click()
    zipped = zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes()))
    names = set(zipped.namelist())
    assert {f"{EXAMPLE}_{k}.png" for k in KEYS} | {"input.png", "reference.png",
                                                   "settings.json"} == names
    doc = json.loads(zipped.read("settings.json"))
    assert list(doc["methods"]) == KEYS and doc["reference"] == f"{EXAMPLE}_ref.jpg"
    assert doc["methods"]["pdf"]["options"]["iterations"] == METHODS["pdf"].defaults()["iterations"]
    assert all(doc["methods"][k]["seconds"] > 0 for k in KEYS)
    gray = np.asarray(Image.open(zipped.open("input.png")).convert("RGB"))
    for k in KEYS:
        member = zipped.open(f"{EXAMPLE}_{k}.png")
        assert read_provenance(member)["method"] == k
        out = np.asarray(Image.open(zipped.open(f"{EXAMPLE}_{k}.png")).convert("RGB"))
        assert out.shape == gray.shape and colourfulness(out) > 5, k

    with page.expect_download() as dl:  # one result's own button: its PNG, with provenance
        page.locator("#download-deoldify").click()
    assert read_provenance(dl.value.path())["method"] == "deoldify"

    # a click opens the result large in the before/after slider; ← → step, Esc closes
    page.locator("#result-pdf img").click()
    page.wait_for_function("() => document.querySelectorAll('#compare img').length == 2")
    assert "PDF transfer" in page.locator("#lightbox").inner_text()
    assert page.locator("#compare").bounding_box()["width"] > 1000
    page.screenshot(path=str(OUT / "lightbox.png"))
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('#lightbox').innerText.includes('pix2pix')")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # quick presses add up
    page.wait_for_function(
        "() => document.querySelector('#lightbox').innerText.includes('Lab mean transfer')")
    page.keyboard.press("Escape")
    page.locator("#lightbox").wait_for(state="hidden")


def test_phone_at_390_stacks_without_sideways_overflow(table_page):
    phone = table_page
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.wait_for_timeout(500)
    phone.evaluate(SCROLL_JS)
    boxes = [phone.locator(f"#result-{k}").bounding_box() for k in KEYS]
    assert all(boxes[i + 1]["y"] > boxes[i]["y"] + boxes[i]["height"] for i in range(4))
    assert all(b["width"] > 300 for b in boxes)  # each result the phone's width
    widths = phone.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    print("scrollWidth, clientWidth at 390 px:", widths)
    assert widths[0] <= widths[1], widths
    phone.screenshot(path=str(SHOTS / "table-390.png"))
    assert (SHOTS / "table-390.png").stat().st_size > 20_000


def test_colour_upload_without_reference_shows_truth_scores_and_suggestions(page):
    page.locator("#photo input[type=file]").set_input_files(str(EXAMPLES / "03_landscape_ref.jpg"))
    page.locator("#photo img").first.wait_for()
    page.locator("#run").click()
    _wait_for_table(page)
    for panel in ("#truth", "#suggestions"):
        page.locator(panel).wait_for(state="visible")
    for k in KEYS:  # each method's scores under its own column
        text = page.locator(f"#scores-{k}").inner_text()
        assert "PSNR dB" in text and "ΔE2000" in text, (k, text)
    assert page.locator("#suggestions .gallery-item img").count() == 6
    page.screenshot(path=str(OUT / "colour_upload.png"), full_page=True)


def test_render_factor_sweep_shows_its_estimate_and_labelled_renders(page):
    page.locator("#photo input[type=file]").set_input_files(str(EXAMPLES / "02_animal.jpg"))
    page.locator("#photo img").first.wait_for()
    page.locator("#sweep-factors textarea, #sweep-factors input").first.fill("8, 16")
    page.locator("#sweep").click()
    page.wait_for_function(  # the estimate shows before the renders come
        "() => /about \\d+ s/.test(document.querySelector('#sweep-info').innerText)")
    page.wait_for_function(
        "() => document.querySelectorAll('#sweep-gallery .gallery-item').length == 2"
        " && document.querySelector('#sweep-info').innerText.includes('done')", timeout=120_000)
    captions = page.locator("#sweep-gallery .caption-label").all_inner_texts()
    assert captions[0].startswith("render factor 8 ")
    assert captions[1].startswith("render factor 16 ")


def test_a_bad_upload_shows_a_readable_message(page, tmp_path):
    bad = tmp_path / "holiday.jpg"
    bad.write_text("this is a text file, not a photo\n" * 10)
    page.locator("#photo input[type=file]").set_input_files(str(bad))
    page.wait_for_timeout(1000)
    page.locator("#run").click()
    page.get_by_text("not an image").first.wait_for(timeout=60_000)


def test_video_tab_colorizes_the_example_clip(page):
    page.locator("button[role=tab]", has_text="Video").click()
    page.locator("#video-in input[type=file]").set_input_files(
        str(EXAMPLES / "03_landscape_pan.mp4"))
    page.locator("#video-in video").first.wait_for()
    # pix2pix on 2 s of the clip: the fastest network, so that the test stays short
    page.locator("#video-method input").first.click()
    page.get_by_role("option", name="pix2pix").first.click()
    seconds = page.locator("#video-seconds input[type=number]")
    seconds.fill("2")
    seconds.press("Enter")
    page.locator("#video-run").click()
    page.locator("#video-out video").first.wait_for(timeout=180_000)
    status = page.locator("#video-status")
    page.wait_for_function(
        "() => document.querySelector('#video-status').textContent.includes('Flicker')")
    assert "frames" in status.inner_text() and "Flicker" in status.inner_text()
    frames = int(status.inner_text().split(" frames")[0].split()[-1])
    assert 0 < frames <= 2 * 30  # at most 2 s were colorized
    duration = page.locator("#video-out video").first.evaluate(
        """v => new Promise(ok => v.readyState >= 1 ? ok(v.duration)
                                 : v.addEventListener('loadedmetadata', () => ok(v.duration)))""")
    assert duration > 1  # 2 s asked for
