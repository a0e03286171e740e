"""The archive run on a real Ray: a local cluster started by the test (`ray start`, every
process on 127.0.0.1) and the embedded default. Each test stops exactly the processes it
started, on failure too (`raytree`). Deselect with -m "not ray"."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .archive_inputs import make_archive, mtimes, rows
from .badfiles import REFUSED
from .conftest import free_port
from .raytree import listening, stop, tree

pytest.importorskip("ray.data", reason='needs ray[data] (requirements-dev.txt)')
pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))
ENV = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # node address 127.0.0.1
       "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(ROOT),
       "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}  # not ~/.ray's


@pytest.fixture
def ray_tmp():
    """A short temp dir (Ray's socket paths must stay under 108 bytes) that names every process
    of the cluster started in it; they are stopped at the end whatever happened."""
    tmp = tempfile.mkdtemp(prefix="rct-", dir="/tmp")
    try:
        yield tmp
    finally:
        stop(marker=tmp)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def cluster(ray_tmp):
    """`ray start --head` on 127.0.0.1 with free ports; yields (address, temp dir)."""
    port = free_port()
    flags = ["--node-manager-port", "--object-manager-port",  # (no client server: ray[client])
             "--dashboard-port", "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
             "--runtime-env-agent-port", "--metrics-export-port"]
    cmd = [RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
           "--num-cpus", "2", "--include-dashboard", "false", "--dashboard-host", "127.0.0.1",
           "--temp-dir", ray_tmp, "--disable-usage-stats"]
    for flag in flags:
        cmd += [flag, str(free_port())]
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, timeout=180)
    yield f"127.0.0.1:{port}", ray_tmp


def _command(arc, out, *extra):
    return [sys.executable, "-m", "recolor", "colorize", *map(str, arc["inputs"]), "--out",
            str(out), "--method", "lab_mean", "--reference", str(arc["reference"]),
            "--engine", "ray", "--workers", "2", *extra]


def _run(cmd, env, log) -> tuple[int, int]:
    """(return code, the driver's pid)."""
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    try:
        return proc.wait(timeout=300), proc.pid
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _interrupt(cmd, env, out, log, kill, marker):
    """Start the command; once 5 results are in the manifest, look at what the Ray processes
    listen on, then `kill(proc, rows)`. Returns (rows at the kill, return code, addresses,
    the driver's pid)."""
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            got = _so_far(out)
            if len(got) >= 5:
                addresses = listening(tree(marker, (proc.pid,)))
                kill(proc, got)
                return rows(out), proc.wait(timeout=120), addresses, proc.pid
            time.sleep(0.02)
        raise AssertionError(f"no 5 results before the run ended: {Path(log).read_text()}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _so_far(out: Path) -> dict:
    """The manifest's rows now; none while the driver is still creating it."""
    try:
        return rows(out) if (out / "manifest.sqlite").exists() else {}
    except sqlite3.OperationalError:
        return {}


def _check_complete(arc, out, kept, drivers):
    """Every good photo done exactly once (one row, its own output, by a worker process),
    every broken file failed with its reason, the rows kept before the kill untouched."""
    got = rows(out)
    assert len(got) == len(arc["good"]) + len(arc["bad"])
    done = {k: r for k, r in got.items() if r["status"] == "done"}
    assert sorted(p for p, _ in done) == sorted(map(str, arc["good"]))
    assert len({r["output"] for r in done.values()}) == len(done)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(r["output"] for r in done.values())
    pids = {r["worker_pid"] for r in done.values()}
    assert len(pids) >= 2 and not pids & set(drivers)
    for name, word in REFUSED.items():
        r = got[(str(arc["bad"][name]), "lab_mean")]
        assert r["status"] == "failed" and word in r["error"]
    for key, r in kept.items():
        assert got[key] == r  # recorded before the kill: not redone
    return got


def _check_rerun_redoes_nothing(cmd, env, out, log):
    before, manifest = mtimes(out), rows(out)
    assert _run(cmd, env, log)[0] == 0
    assert "0 images to do" in Path(log).read_text()
    assert mtimes(out) == before and rows(out) == manifest


def test_cluster_run_survives_killed_worker_and_driver(tmp_path, cluster):
    address, marker = cluster
    arc, out = make_archive(tmp_path / "in"), tmp_path / "out"
    cmd = _command(arc, out, "--address", address)

    def kill_a_worker_then_the_driver(proc, got):
        os.kill(next(iter(r["worker_pid"] for r in got.values())), signal.SIGKILL)
        proc.kill()

    kept, rc, addresses, pid1 = _interrupt(cmd, ENV, out, tmp_path / "1.log",
                                           kill_a_worker_then_the_driver, marker)
    assert rc == -signal.SIGKILL and 5 <= len(kept) < len(arc["good"]) + len(arc["bad"])
    assert addresses and all(a.startswith("127.0.0.1:") for a in addresses), addresses
    rc, pid2 = _run(cmd, ENV, tmp_path / "2.log")
    assert rc == 0, (tmp_path / "2.log").read_text()
    _check_complete(arc, out, kept, drivers=[pid1, pid2])
    _check_rerun_redoes_nothing(cmd, ENV, out, tmp_path / "3.log")


def test_embedded_run_resumes_after_ctrl_c(tmp_path, ray_tmp):
    env = {**ENV, "RAY_TMPDIR": ray_tmp}  # the embedded cluster's files, and our marker
    for own in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
        del env[own]  # the command binds loopback and makes its token by itself
    arc, out = make_archive(tmp_path / "in"), tmp_path / "out"
    kept, rc, addresses, pid1 = _interrupt(_command(arc, out), env, out, tmp_path / "1.log",
                                           lambda proc, got: proc.send_signal(signal.SIGINT),
                                           ray_tmp)
    log = (tmp_path / "1.log").read_text()
    assert rc == 130 and "run the same command again" in log, log
    assert 5 <= len(kept) < len(arc["good"]) + len(arc["bad"])
    assert addresses and all(a.startswith("127.0.0.1:") for a in addresses), addresses
    deadline = time.monotonic() + 30  # ray.shutdown() stopped the cluster it had started
    while tree(ray_tmp) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not tree(ray_tmp)
    rc, pid2 = _run(_command(arc, out), env, tmp_path / "2.log")
    assert rc == 0, (tmp_path / "2.log").read_text()
    _check_complete(arc, out, kept, drivers=[pid1, pid2])
    _check_rerun_redoes_nothing(_command(arc, out), env, out, tmp_path / "3.log")
