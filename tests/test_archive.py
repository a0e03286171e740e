"""The archive run without Ray: manifest, resume, --retry-failed, output names, provenance."""
from __future__ import annotations

import sys

import numpy as np
from PIL import Image

from recolor.archive import worker
from recolor.archive.manifest import Manifest
from recolor.archive.plan import Names
from recolor.cli import main
from recolor.provenance import read_provenance

from .archive_inputs import make_archive, mtimes, rows


def _run(arc, out, *extra):
    return main(["colorize", *map(str, arc["inputs"]), "--out", str(out), "--method", "lab_mean",
                 "--reference", str(arc["reference"]), *extra])


def test_local_run_records_every_file_and_a_rerun_redoes_nothing(tmp_path, capsys):
    arc = make_archive(tmp_path / "in", per_folder=4)
    out = tmp_path / "out"
    assert _run(arc, out) == 0
    got = rows(out)
    assert len(got) == len(arc["good"]) + len(arc["bad"])
    done = [r for r in got.values() if r["status"] == "done"]
    assert sorted(r["path"] for r in done) == sorted(map(str, arc["good"]))
    outputs = [r["output"] for r in done]
    assert len(set(outputs)) == len(outputs)  # a/p00.jpg and b/p00.jpg do not collide
    assert "p00_lab_mean.png" in outputs and any(o.startswith("p00-") for o in outputs)
    for r in done:
        assert r["error"] is None and r["seconds"] > 0 and len(r["sha256"]) == 64
        meta = read_provenance(out / r["output"])
        assert meta["method"] == "lab_mean" and meta["settings"]["reference"].startswith("sha256:")
        assert np.asarray(Image.open(out / r["output"])).std(axis=2).mean() > 1  # colour, not gray
    from .badfiles import REFUSED
    for name, word in REFUSED.items():
        r = got[(str(arc["bad"][name]), "lab_mean")]
        assert r["status"] == "failed" and word in r["error"] and r["output"] is None
    before = mtimes(out)
    capsys.readouterr()
    assert _run(arc, out) == 0
    err = capsys.readouterr().err
    assert "0 images to do" in err and f"{len(done)} done before" in err
    assert "5 failed before" in err
    assert mtimes(out) == before and rows(out) == got


def test_retry_failed_and_changed_inputs_or_options(tmp_path, capsys):
    arc = make_archive(tmp_path / "in", per_folder=2)
    out = tmp_path / "out"
    _run(arc, out)
    first = rows(out)
    empty = (str(arc["bad"]["empty.jpg"]), "lab_mean")
    _run(arc, out)
    assert rows(out)[empty]["finished"] == first[empty]["finished"]  # failures are skipped
    _run(arc, out, "--retry-failed")
    again = rows(out)
    assert again[empty]["finished"] > first[empty]["finished"]  # retried (and failed again)
    good = (str(arc["good"][0]), "lab_mean")
    assert again[good]["finished"] == first[good]["finished"]  # --retry-failed redoes no success
    Image.fromarray(np.full((40, 40), 90, np.uint8)).save(arc["bad"]["empty.jpg"], "JPEG")
    _run(arc, out)  # new bytes: done without --retry-failed
    assert rows(out)[empty]["status"] == "done"
    _run(arc, out, "--no-keep-luminance")  # other options: every good photo is redone
    last = rows(out)
    assert last[good]["finished"] > again[good]["finished"]
    assert '"keep_luminance":false' in last[good]["options"]


def test_an_interrupted_run_keeps_its_results_and_a_rerun_finishes(tmp_path, capsys,
                                                                   monkeypatch):
    arc = make_archive(tmp_path / "in", per_folder=4)
    out = tmp_path / "out"
    real, calls = worker.Colorizer.__call__, []

    def ctrl_c_on_the_fifth_job(self, job):
        calls.append(job["path"])
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(self, job)

    monkeypatch.setattr(worker.Colorizer, "__call__", ctrl_c_on_the_fifth_job)
    assert _run(arc, out) == 130
    kept = rows(out)
    assert len(kept) == 4 and "run the same command again" in capsys.readouterr().err
    monkeypatch.setattr(worker.Colorizer, "__call__", real)
    assert _run(arc, out) == 0
    final = rows(out)
    assert len(final) == len(arc["good"]) + len(arc["bad"])
    assert all(final[k]["finished"] == r["finished"] for k, r in kept.items())


def test_output_names_never_collide():
    names = Names({"x_pdf.png": "/old/x.jpg"})
    a = names.assign("/new/x.jpg", "pdf")
    b = names.assign("/other/x.png", "pdf")
    assert len({"x_pdf.png", a, b}) == 3 and a.startswith("x-") and a.endswith("_pdf.png")
    assert names.assign("/solo/y.jpg", "pdf") == "y_pdf.png"
    assert Names({}).assign("/new/x.jpg", "pdf") == "x_pdf.png"


def test_manifest_commits_each_result_at_once(tmp_path):
    from recolor.archive.manifest import Row
    m = Manifest(tmp_path)
    m.record(Row("/a.jpg", "pdf", "done", None, "a_pdf.png", 7, "0" * 64, "{}", 0.1, 1, 2, None))
    other = Manifest(tmp_path)  # another connection sees it without m being closed
    assert other.rows()[("/a.jpg", "pdf")].worker_pid == 7
    assert m.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    m.close()


def test_ray_engine_without_ray_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    arc = make_archive(tmp_path / "in", per_folder=1)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as when not installed
    assert _run(arc, tmp_path / "out", "--engine", "ray") != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and 'pip install "recolor[ray]"' in lines[0]
