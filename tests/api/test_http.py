"""The app over HTTP, with gradio_client, as a user of the API would call it."""
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from recolor import METHODS
from recolor.metrics import colourfulness
from recolor.provenance import read_provenance

from ..conftest import EXAMPLES

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def _rgb(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_colorize_with_reference_returns_five_coloured_images_with_provenance(client):
    """The README's client example, as written there, and what it gets back."""
    gallery, gray, reference, truth, scores, status, suggestions = client.predict(
        handle_file(str(EXAMPLES / "05_interior.jpg")),
        handle_file(str(EXAMPLES / "05_interior_ref.jpg")),
        api_name="/colorize")
    assert len(gallery) == len(METHODS) and truth is None and not scores["data"]
    assert "5 of 5 methods done" in status
    gray = _rgb(gray)
    assert colourfulness(gray) < 1
    for item, (key, m) in zip(gallery, METHODS.items()):
        assert item["caption"].startswith(m.name) and item["caption"].endswith(" s")
        out = _rgb(item["image"])
        assert out.shape == gray.shape and colourfulness(out) > 2, m.name
        assert np.abs(out.astype(int) - gray).mean() > 1, m.name  # not the input handed back
        meta = read_provenance(item["image"])  # the file as served keeps the PNG text chunk
        assert meta["method"] == key and "made by recolor" in meta["statement"]
        assert meta["settings"] == {**m.defaults(), "restore": False}


def test_options_restore_and_corner_mark_are_keywords(client):
    photo = handle_file(str(EXAMPLES / "02_animal.jpg"))
    ref = handle_file(str(EXAMPLES / "02_animal_ref.jpg"))
    plain = client.predict(photo, ref, api_name="/colorize")[0]
    marked = client.predict(photo, ref, restore=True, corner_mark=True, pdf_iterations=3,
                            api_name="/colorize")[0]
    pdf = list(METHODS).index("pdf")
    meta = read_provenance(marked[pdf]["image"])
    assert meta["settings"]["restore"] is True and meta["settings"]["iterations"] == 3
    a, b = _rgb(plain[0]["image"]), _rgb(marked[0]["image"])
    assert np.abs(a.astype(int) - b).mean() > 1  # the restored input changes every result


def test_render_factor_sweep_over_http(client):
    gallery, info = client.predict(handle_file(str(EXAMPLES / "02_animal.jpg")), "8, 12",
                                   deoldify_passes=1, api_name="/sweep")
    assert [g["caption"].split(" · ")[0] for g in gallery] == ["render factor 8",
                                                                "render factor 12"]
    assert [read_provenance(g["image"])["settings"]["render_factor"] for g in gallery] == [8, 12]
    assert "done: 2 renders" in info


def test_without_reference_one_is_picked_and_shown(client):
    result = client.predict(handle_file(str(EXAMPLES / "06_food.jpg")), None, api_name="/colorize")
    gallery, reference, status, suggestions = result[0], result[2], result[5], result[6]
    for item in gallery[:3]:
        assert " s" in item["caption"] and "reference" not in item["caption"]
        assert colourfulness(_rgb(item["image"])) > 2
    assert Image.open(reference).size[0] > 0
    assert "picked" in status and len(suggestions) == 6


def test_bad_upload_is_an_error_and_the_server_stays_up(client, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(Exception, match="not an image"):
        client.predict(handle_file(str(bad)), None, api_name="/colorize")
    gallery = client.predict(handle_file(str(EXAMPLES / "06_food.jpg")),
                             handle_file(str(EXAMPLES / "06_food_ref.jpg")), api_name="/colorize")[0]
    assert len(gallery) == len(METHODS)


def test_colour_upload_returns_the_score_table(client):
    result = client.predict(handle_file(str(EXAMPLES / "03_landscape_ref.jpg")),
                            handle_file(str(EXAMPLES / "04_street_ref.jpg")), api_name="/colorize")
    table = result[4]
    rows = table["data"]
    assert rows[0][0].startswith("gray") and any(r[0] == "PDF transfer" for r in rows)
    assert table["headers"][:2] == ["method", "PSNR dB"]


@pytest.mark.parametrize("path", ["/etc/passwd", "app.py", "../app.py", "recolor/api.py",
                                  "/proc/self/environ"])
def test_no_file_outside_the_allowed_folders_is_served(server, path):
    import urllib.error
    import urllib.request
    from pathlib import Path as P
    root = P(__file__).resolve().parents[2]
    target = path if path.startswith("/") else str(root / path)
    for url in (f"{server}gradio_api/file={target}", f"{server}file={target}",
                f"{server}gradio_api/file={path}"):
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = r.read()
        except urllib.error.HTTPError as e:
            assert e.code in (403, 404, 400), url
            continue
        assert b"root:" not in body and b"def colorize" not in body and b"import" not in body, url


def test_examples_are_served(server):
    import urllib.request
    url = f"{server}gradio_api/file={EXAMPLES / '01_people.jpg'}"
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read()[:2] == b"\xff\xd8"


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    from ..badfiles import write_bad_files
    return write_bad_files(tmp_path_factory.mktemp("bad"))


def test_bad_input_matrix_over_http(client, bad_files):
    from ..badfiles import ACCEPTED, REFUSED
    ref = handle_file(str(EXAMPLES / "01_people_ref.jpg"))
    for name, word in REFUSED.items():
        with pytest.raises(Exception, match=word):
            client.predict(handle_file(str(bad_files[name])), ref, api_name="/colorize")
    for name in ACCEPTED:
        gallery = client.predict(handle_file(str(bad_files[name])), ref, api_name="/colorize")[0]
        assert len(gallery) == len(METHODS), name
        assert "Mean/StD transfer ·" in gallery[0]["caption"] and " s" in gallery[0]["caption"]
    # the EXIF-rotated photo comes back upright: stored 64x48, shown 48 wide and 64 high
    gallery = client.predict(handle_file(str(bad_files["rotated.jpg"])), ref, api_name="/colorize")[0]
    assert Image.open(gallery[1]["image"]).size == (48, 64)


def test_a_reference_that_is_not_an_image(client, bad_files):
    with pytest.raises(Exception, match="reference.*not an image"):
        client.predict(handle_file(str(EXAMPLES / "01_people.jpg")),
                       handle_file(str(bad_files["text.jpg"])), api_name="/colorize")


def test_an_upload_over_the_size_limit_is_refused(client, tmp_path):
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG" + bytes(31 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)too large|size|limit"):
        client.predict(handle_file(str(big)), None, api_name="/colorize")
    gallery = client.predict(handle_file(str(EXAMPLES / "06_food.jpg")), None, api_name="/colorize")[0]
    assert len(gallery) == len(METHODS)  # and the server is still up
