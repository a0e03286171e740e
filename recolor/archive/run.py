"""`python -m recolor colorize`: plan against the manifest, run an engine, record each result
as it arrives, and show done / failed / remaining with images per second."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .engines import EngineUnavailable, get
from .manifest import Manifest, Row, options_json
from .plan import Plan, plan, sha256


class Progress:
    """A tqdm bar over the (file, method) pairs to do; its rate is images per second."""

    def __init__(self, total: int):
        self.done = self.failed = 0
        self.total = total
        self.bar = tqdm(total=total, desc="colorize", unit="img", file=sys.stderr,
                        dynamic_ncols=True)
        self._show()

    def add(self, status: str) -> None:
        if status == "done":
            self.done += 1
        else:
            self.failed += 1
        self._show()
        self.bar.update(1)

    def _show(self) -> None:
        left = self.total - self.done - self.failed
        self.bar.set_postfix_str(f"done {self.done}, failed {self.failed}, remaining {left}",
                                 refresh=False)

    def close(self) -> None:
        self.bar.close()


def _row(result: dict[str, Any], job: dict[str, Any], options: dict[str, Any]) -> Row:
    return Row(path=result["path"], method=result["method"], status=result["status"],
               error=result["error"], output=result["output"], worker_pid=result["worker_pid"],
               sha256=job["sha256"], options=options_json(options), seconds=result["seconds"],
               size=job["size"], mtime_ns=job["mtime_ns"], finished=None)


def _record(results, todo: Plan, manifest: Manifest, progress: Progress) -> None:
    """Write each result to the manifest (one commit each) as the engine yields it."""
    jobs = {j["path"]: j for j in todo.jobs}
    for batch in results:
        said = set()
        for r in batch:
            job = jobs[r["path"]]
            options = next(t["options"] for t in job["tasks"] if t["method"] == r["method"])
            manifest.record(_row(r, job, options))
            progress.add(r["status"])
            if r["error"] and r["error"] not in said:
                said.add(r["error"])
                tqdm.write(f"error: {r['error']}", file=sys.stderr)


def _summary(todo: Plan, files: list[Path]) -> str:
    parts = [f"{len(files)} inputs: {todo.tasks} images to do"]
    if todo.done:
        parts.append(f"{todo.done} done before (skipped)")
    if todo.failed:
        parts.append(f"{todo.failed} failed before (skipped; --retry-failed retries them)")
    return ", ".join(parts)


def colorize_archive(files: list[Path], keys: list[str], given: dict[str, Any],
                     reference: str | None, out_dir: Path, engine: str = "local",
                     address: str | None = None, workers: int | None = None,
                     retry_failed: bool = False) -> int:
    """The command's work; returns its exit code (1 when no input has any image done)."""
    try:
        run_engine = get(engine)
    except EngineUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ref_id = "auto" if reference in (None, "auto") else f"sha256:{sha256(reference)}"
    with Manifest(out_dir) as manifest:
        todo = plan(files, keys, given, ref_id, manifest, retry_failed)
        print(_summary(todo, files), file=sys.stderr)
        worker = {"out_dir": str(out_dir), "reference": reference, "methods": tuple(keys)}
        progress, t0 = Progress(todo.tasks), time.perf_counter()
        try:
            _record(run_engine(todo.jobs, worker, workers=workers, address=address),
                    todo, manifest, progress)
        except (KeyboardInterrupt, Exception) as e:  # noqa: BLE001 - the engine itself failed
            progress.close()
            what = "interrupted" if isinstance(e, KeyboardInterrupt) else \
                f"error: the {engine} engine failed ({type(e).__name__}: {str(e)[:500]})"
            print(f"{what}: {progress.done + progress.failed} results are in {manifest.path}; "
                  "run the same command again to do the rest", file=sys.stderr)
            return 130 if isinstance(e, KeyboardInterrupt) else 1
        progress.close()
        secs = time.perf_counter() - t0
        rows = manifest.rows([str(Path(f).absolute()) for f in files])
    good = {r.path for r in rows.values() if r.status == "done"}
    print(f"{progress.done} images written to {out_dir} in {secs:.1f} s; {progress.failed} "
          f"failed; {len(files) - len(good)} of {len(files)} inputs have no image "
          f"(manifest: {out_dir / 'manifest.sqlite'})", file=sys.stderr)
    return 1 if files and not good else 0
