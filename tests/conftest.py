import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recolor.metrics import colourfulness

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
VAL = ROOT.parent / "shared" / "data" / "val"


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="session")
def example_pair() -> tuple[np.ndarray, np.ndarray]:
    """A real grayscale photo (as 3 equal channels) and its colour reference."""
    return read(EXAMPLES / "01_people.jpg"), read(EXAMPLES / "01_people_ref.jpg")


@pytest.fixture(scope="session")
def colour_photos() -> list[np.ndarray]:
    """A few real colour photos: from ../shared/data/val when present, else the references."""
    files = sorted(VAL.glob("*.jpg"))[:4] if VAL.is_dir() else []
    files = files or sorted(EXAMPLES.glob("*_ref.jpg"))[:4]
    return [read(f) for f in files]


@pytest.fixture(scope="session")
def ordinary_photo(colour_photos) -> np.ndarray:
    """The first of them no more colourful than an average photo (the val set's mean is 46).

    Its chroma can grow by half mostly inside the RGB gamut; a vivid one clips on many pixels.
    """
    return next(p for p in colour_photos if colourfulness(p) < 46)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    """`python app.py` on a free loopback port; yields its URL."""
    port = free_port()
    log = subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("app.py exited during start-up")
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("app.py did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
