"""Load test of the app over loopback with gradio_client.

    python benchmarks/load.py                 # 20 clients x 3 requests, 512x512 photos
    python benchmarks/load.py --single        # one full five-method run, and each method in it
    python benchmarks/load.py --url http://127.0.0.1:7860/   # against a running app
    python benchmarks/load.py --first         # a fresh server's first request, warm-up on/off
    python benchmarks/load.py --single --side 4000   # the gallery of a 16 MP gray scan
    python benchmarks/load.py --root /path/to/other/checkout   # its app.py (before / after)

Starts `python app.py` on a free loopback port unless --url is given. Every request either
completes (five gallery items), is rejected cleanly (the queue is full: "busy, try again"), or
fails (anything else). Prints those counts, p50/p95 latency and the server's peak RSS. Bounded:
--clients x --requests requests and at most --max-seconds in all; it stops by itself.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CLIENT_TIMEOUT_S = 60.0  # each HTTP call of a load-test client (upload, join, download)
sys.path.insert(0, str(ROOT))
from tests.conftest import free_port  # noqa: E402


def start_server(port: int, env: dict[str, str] | None = None,
                 root: Path = ROOT) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    import socket
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("app.py did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds the server process has used so far (its threads included).
    On a shared, loaded machine this is what the requests cost, whatever they waited."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def inputs(tmp: Path, side: int = 512) -> tuple[str, str]:
    """A side x side grayscale photo and a 512x512 colour reference from examples/."""
    photo = Image.open(ROOT / "examples" / "01_people.jpg").convert("L").resize((side, side),
                                                                                Image.BICUBIC)
    ref = Image.open(ROOT / "examples" / "01_people_ref.jpg").convert("RGB").resize((512, 512))
    photo.save(tmp / "photo.png")
    ref.save(tmp / "ref.png")
    return str(tmp / "photo.png"), str(tmp / "ref.png")


def single(url: str, photo: str, ref: str, pid: int | None = None, repeats: int = 3) -> None:
    """One visitor (`HttpVisitor`), one request at a time: the median whole-gallery time of
    `repeats` runs (after a warm-up run), and the method times of the median run."""
    visitor = HttpVisitor(url, HttpVisitor.defaults_of(url))
    visitor.colorize(photo, ref)  # warm-up
    runs = []
    cpu = cpu_seconds(pid)
    for _ in range(repeats):
        start = time.perf_counter()
        gallery = visitor.colorize(photo, ref)
        runs.append((time.perf_counter() - start, gallery))
    cpu = (cpu_seconds(pid) - cpu) / repeats
    total, gallery = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    print(f"{'method':<22} {'seconds':>8}")
    for item in gallery:
        m = re.match(r"(.+?) · ([\d.]+) s$", item["caption"])
        print(f"{m.group(1):<22} {float(m.group(2)):>8.2f}" if m else f"{item['caption']}")
    print(f"{'whole gallery (HTTP)':<22} {total:>8.2f}")
    print(f"{'server CPU s / gallery':<22} {cpu:>8.2f}")
    if pid is not None:
        print(f"{'server peak RSS MB':<22} {peak_rss_mb(pid):>8.0f}")


def first(photo: str, settle_s: float, root: Path = ROOT) -> None:
    """A fresh server's first two requests, with the start-up warm-up off and on: what the first
    visitor waits, and the seconds from starting `python app.py` to that first answer (model
    loading included). Each server gets `settle_s` after it first answers HTTP."""
    from gradio_client import Client, handle_file
    rows = {}
    for label, flag in (("warm-up off", "0"), ("warm-up on", "1")):
        port = free_port()
        t0 = time.perf_counter()
        proc = start_server(port, {"RECOLOR_WARM_UP": flag}, root)
        try:
            time.sleep(settle_s)
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            times = []
            for _ in range(2):
                start = time.perf_counter()
                client.predict(handle_file(photo), None, api_name="/colorize")
                times.append(time.perf_counter() - start)
                if len(times) == 1:
                    from_start = time.perf_counter() - t0
            rows[label] = (*times, from_start)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print("| server | first request s | second request s | start to first answer s |")
    print("|---|---|---|---|")
    for label, (a, b, c) in rows.items():
        print(f"| {label} | {a:.2f} | {b:.2f} | {c:.2f} |")
    print(f"first request, off / on: {rows['warm-up off'][0] / rows['warm-up on'][0]:.2f}x")


class HttpVisitor:
    """One visitor over Gradio's plain HTTP API, as a browser does it: upload the two photos,
    start `/colorize`, read its event stream to the end, then fetch the five result images.
    Much lighter on the CPU than gradio_client, which matters when the load generator shares
    the server's 2 cores (gradio_client spent 1.3 CPU s per request, the server 0.8)."""

    def __init__(self, url: str, defaults: list) -> None:
        import httpx
        self.base, self.defaults = url.rstrip("/"), defaults
        self.http = httpx.Client(timeout=CLIENT_TIMEOUT_S)

    @staticmethod
    def defaults_of(url: str) -> list:
        """The endpoint's option defaults, in parameter order, after photo and reference."""
        import httpx
        info = httpx.get(url.rstrip("/") + "/gradio_api/info", timeout=CLIENT_TIMEOUT_S).json()
        return [p["parameter_default"] for p in info["named_endpoints"]["/colorize"]["parameters"][2:]]

    def colorize(self, photo: str, ref: str) -> list[dict]:
        """The final gallery (a list of {image, caption}); raises on an error event."""
        import json
        files = [("files", open(photo, "rb")), ("files", open(ref, "rb"))]
        try:
            paths = self.http.post(f"{self.base}/gradio_api/upload", files=files).json()
        finally:
            for _, f in files:
                f.close()
        data = [{"path": p, "meta": {"_type": "gradio.FileData"}} for p in paths] + self.defaults
        event = self.http.post(f"{self.base}/gradio_api/call/colorize", json={"data": data}).json()
        last, kind = None, ""
        with self.http.stream("GET", f"{self.base}/gradio_api/call/colorize/{event['event_id']}",
                              timeout=None) as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind in ("generating", "complete"):
                    last = json.loads(line[5:])
                elif line.startswith("data:") and kind == "error":
                    raise RuntimeError(line[5:].strip())
                if kind == "complete" and last is not None:
                    break
        if last is None:
            raise RuntimeError("the event stream ended without a result")
        gallery = last[0]
        for item in gallery:  # the browser shows them
            self.http.get(item["image"]["url"]).raise_for_status()
        return gallery


def load(url: str, photo: str, ref: str, clients: int, requests: int, max_seconds: float,
         client: str = "http") -> dict:
    results: list[tuple[str, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    defaults = HttpVisitor.defaults_of(url) if client == "http" else []

    def visitor():
        if client == "http":
            v = HttpVisitor(url, defaults)
            return lambda: v.colorize(photo, ref)
        from gradio_client import Client, handle_file
        # a browser waits for an upload; gradio_client's own default gives up after 5 s,
        # which under load counted slow uploads as failures
        c = Client(url, verbose=False, httpx_kwargs={"timeout": CLIENT_TIMEOUT_S})
        return lambda: c.submit(handle_file(photo), handle_file(ref), api_name="/colorize"
                                ).result(timeout=max(1.0, deadline - time.monotonic()))[0]

    def worker() -> None:
        try:
            call = visitor()
        except Exception:  # noqa: BLE001
            with lock:
                results.extend([("failed", 0.0)] * requests)
            return
        for _ in range(requests):
            if time.monotonic() > deadline:
                with lock:
                    results.append(("skipped", 0.0))
                continue
            start = time.perf_counter()
            try:
                gallery = call()
                kind = "completed" if len(gallery) == 5 else "failed"
                if kind == "completed" and any("busy" in item["caption"] for item in gallery):
                    kind = "completed, networks at 1 pass"
            except Exception as e:  # noqa: BLE001
                text = str(e).lower()
                kind = "rejected" if ("queue" in text and "full" in text) or "busy" in text else "failed"
                if kind == "failed":
                    print(f"failed: {type(e).__name__}: {e}", file=sys.stderr)
            with lock:
                results.append((kind, time.perf_counter() - start))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + 30)
    lat = sorted(s for k, s in results if k.startswith("completed"))
    count = {k: sum(1 for r in results if r[0].startswith(k))
             for k in ("completed", "rejected", "failed", "skipped")}
    count["one pass"] = sum(1 for r in results if r[0] == "completed, networks at 1 pass")
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")  # noqa: E731
    return {**count, "p50": statistics.median(lat) if lat else float("nan"), "p95": pct(0.95)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url")
    p.add_argument("--single", action="store_true")
    p.add_argument("--first", action="store_true")
    p.add_argument("--settle", type=float, default=0.0,
                   help="--first: seconds to wait after the server first answers HTTP")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=600)
    p.add_argument("--client", choices=("http", "gradio"), default="http",
                   help="the burst's visitors: plain HTTP (light, default) or gradio_client")
    p.add_argument("--side", type=int, default=512, help="the gray photo's side (px)")
    p.add_argument("--root", type=Path, default=ROOT, help="checkout whose app.py is started")
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at start; app: {args.root}")
    if args.first:
        with tempfile.TemporaryDirectory() as tmp:
            first(inputs(Path(tmp))[0], args.settle, args.root)
        return
    proc = None
    url = args.url
    if url is None:
        port = free_port()
        proc = start_server(port, root=args.root)
        url = f"http://127.0.0.1:{port}/"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            photo, ref = inputs(Path(tmp), args.side)
            pid = proc.pid if proc else None
            if args.single:
                single(url, photo, ref, pid)
            else:
                cpu, mine = cpu_seconds(pid), time.process_time()
                r = load(url, photo, ref, args.clients, args.requests, args.max_seconds, args.client)
                cpu = (cpu_seconds(pid) - cpu) / max(1, r["completed"])
                print(f"the clients' own CPU s / request: "
                      f"{(time.process_time() - mine) / max(1, r['completed']):.2f}")
                rss = peak_rss_mb(proc.pid) if proc else float("nan")
                print("| clients | requests | completed | of them networks at 1 pass | refused "
                      "| failed | skipped | p50 s | p95 s | server CPU s / request "
                      "| peak RSS MB |")
                print("|---|---|---|---|---|---|---|---|---|---|---|")
                print(f"| {args.clients} | {args.clients * args.requests} | {r['completed']} | "
                      f"{r['one pass']} | {r['rejected']} | {r['failed']} | {r['skipped']} | "
                      f"{r['p50']:.2f} | {r['p95']:.2f} | {cpu:.2f} | {rss:.0f} |")
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
