import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
