"""The real app in headless Chromium (Debian's /usr/bin/chromium), driven by Playwright.

Skipped, with the reason, where no Chromium is installed, unless RECOLOR_E2E=1 (CI sets it
after installing Chromium), in which case a missing browser is a failure.
Screenshots go to tests/output/e2e/.
"""
import os
import shutil

import pytest

from recolor import METHODS

from ..conftest import EXAMPLES, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.server]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("RECOLOR_E2E") != "1":
    pytest.skip("no chromium on PATH (apt-get install -y chromium)", allow_module_level=True)

OUT = ROOT / "tests" / "output" / "e2e"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    assert CHROMIUM, "RECOLOR_E2E=1 but chromium is not installed"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(60_000)
    page.goto(server)
    page.locator("#photo input[type=file]").wait_for(state="attached")
    yield page
    page.close()


def _wait_for_gallery(page):
    items = page.locator("#gallery .gallery-item")
    page.wait_for_function(
        """n => {
            const items = document.querySelectorAll('#gallery .gallery-item');
            if (items.length !== n) return false;
            return [...items].every(it => {
                const img = it.querySelector('img');
                const cap = it.querySelector('.caption-label');
                return img && img.complete && img.naturalWidth > 0 && cap
                       && !cap.textContent.includes('running');
            });
        }""", arg=len(METHODS), timeout=120_000)
    return items


def test_upload_run_and_see_five_captioned_images(page):
    OUT.mkdir(parents=True, exist_ok=True)
    page.locator("#photo input[type=file]").set_input_files(str(EXAMPLES / "02_animal.jpg"))
    page.locator("#reference input[type=file]").set_input_files(str(EXAMPLES / "02_animal_ref.jpg"))
    page.locator("#photo img").first.wait_for()
    page.locator("#reference img").first.wait_for()
    page.locator("#run").click()
    items = _wait_for_gallery(page)
    for i, m in enumerate(METHODS.values()):
        item = items.nth(i)
        assert item.locator(".caption-label").inner_text().startswith(m.name)
        size = item.locator("img").evaluate("im => [im.naturalWidth, im.naturalHeight]")
        assert size[0] > 0 and size[1] > 0
    page.screenshot(path=str(OUT / "gallery.png"), full_page=True)
    assert (OUT / "gallery.png").stat().st_size > 10_000
    # one row of results, no empty band under it (Gradio's 450 px minimum is overridden)
    block = page.locator("#gallery").bounding_box()
    first = items.nth(0).bounding_box()
    assert block["height"] < first["height"] * 1.4, (block, first)
    # a B/W photo with a reference: no ground truth, scores or suggestions to show
    for panel in ("#truth", "#scores", "#suggestions", "#compare"):
        assert not page.locator(panel).is_visible(), panel
    # clicking a result puts it beside the input in a before/after slider
    items.nth(len(METHODS) - 1).click()
    page.locator("#compare img").first.wait_for(state="visible")
    page.wait_for_function("() => document.querySelectorAll('#compare img').length == 2")
    assert list(METHODS.values())[-1].name in page.locator("#compare").inner_text()
    page.screenshot(path=str(OUT / "compare.png"), full_page=True)


def test_colour_upload_without_reference_shows_truth_scores_and_suggestions(page):
    OUT.mkdir(parents=True, exist_ok=True)
    page.locator("#photo input[type=file]").set_input_files(str(EXAMPLES / "03_landscape_ref.jpg"))
    page.locator("#photo img").first.wait_for()
    page.locator("#run").click()
    _wait_for_gallery(page)
    for panel in ("#truth", "#scores", "#suggestions"):
        page.locator(panel).wait_for(state="visible")
    page.wait_for_function(  # a header row, then gray and the five methods
        "() => document.querySelector('#scores [role=grid]')?.getAttribute('aria-rowcount') == 7")
    assert page.locator('#scores [role=row][aria-rowindex="2"]').inner_text().startswith("gray")
    assert page.locator("#suggestions .gallery-item img").count() == 6
    page.screenshot(path=str(OUT / "colour_upload.png"), full_page=True)


def test_clicking_an_example_fills_the_inputs_and_runs_it(page):
    page.locator("text=Examples").first.scroll_into_view_if_needed()
    rows = page.locator("#examples tbody tr")
    rows.first.click()
    page.locator("#photo img").first.wait_for()
    page.locator("#reference img").first.wait_for()
    items = _wait_for_gallery(page)  # no click on Colorize needed
    assert items.nth(0).locator(".caption-label").inner_text().startswith("Mean/StD")
    page.screenshot(path=str(OUT / "example.png"), full_page=True)


def test_a_bad_upload_shows_a_readable_message(page, tmp_path):
    bad = tmp_path / "holiday.jpg"
    bad.write_text("this is a text file, not a photo\n" * 10)
    page.locator("#photo input[type=file]").set_input_files(str(bad))
    page.wait_for_timeout(1000)
    page.locator("#run").click()
    page.get_by_text("not an image").first.wait_for(timeout=60_000)
    page.screenshot(path=str(OUT / "bad_upload.png"), full_page=True)


def test_video_tab_colorizes_the_example_clip(page):
    OUT.mkdir(parents=True, exist_ok=True)
    page.locator("button[role=tab]", has_text="Video").click()
    page.locator("#video-in input[type=file]").set_input_files(
        str(EXAMPLES / "03_landscape_pan.mp4"))
    page.locator("#video-in video").first.wait_for()
    page.locator("#video-run").click()
    page.locator("#video-out video").first.wait_for(timeout=180_000)
    status = page.locator("#video-status")
    page.wait_for_function(
        "() => document.querySelector('#video-status').textContent.includes('Flicker')")
    assert "frames" in status.inner_text()
    duration = page.locator("#video-out video").first.evaluate(
        """v => new Promise(ok => v.readyState >= 1 ? ok(v.duration)
                                 : v.addEventListener('loadedmetadata', () => ok(v.duration)))""")
    assert duration > 1
    page.screenshot(path=str(OUT / "video.png"), full_page=True)
