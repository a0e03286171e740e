"""What a run has to do: each input file's methods that the manifest does not already hold as
done (or as failed, unless failures are retried) for the same input bytes and options, and a
collision-free output name for each."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..registry import METHODS
from .manifest import Manifest, Row, options_json


@dataclass
class Plan:
    jobs: list[dict[str, Any]] = field(default_factory=list)  # see `job`
    done: int = 0     # (file, method) pairs skipped: done before with the same hash and options
    failed: int = 0   # ... failed before (retried only with retry_failed)

    @property
    def tasks(self) -> int:
        return sum(len(j["tasks"]) for j in self.jobs)


def sha256(path: str) -> str | None:
    """Hex digest of the file's bytes; None if it cannot be read (the worker says why)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def method_options(key: str, given: dict[str, Any], reference: str | None) -> dict[str, Any]:
    """The options of `key` that were given, plus what identifies the reference (its hash, or
    "auto") for the methods that use one: what a rerun compares."""
    names = {o.name for o in METHODS[key].options}
    opts = {n: v for n, v in given.items() if n in names}
    if METHODS[key].needs_reference:
        opts["reference"] = reference or "auto"
    return opts


def _fingerprint(path: str, known: list[Row]) -> tuple[str | None, int | None, int | None]:
    """(sha256, size, mtime_ns); the manifest's hash is reused when size and mtime match."""
    try:
        st = os.stat(path)
    except OSError:
        return None, None, None
    for row in known:
        if row.sha256 and row.size == st.st_size and row.mtime_ns == st.st_mtime_ns:
            return row.sha256, st.st_size, st.st_mtime_ns
    return sha256(path), st.st_size, st.st_mtime_ns


class Names:
    """Output names `STEM_METHOD.png`; a second input with the same stem (another folder, or
    another extension) gets `STEM-HASH8_METHOD.png`, HASH8 from its absolute path."""

    def __init__(self, owners: dict[str, str]):
        self.owners = dict(owners)  # name -> input path

    def assign(self, path: str, key: str) -> str:
        stem = Path(path).stem
        name = f"{stem}_{key}.png"
        if self.owners.get(name, path) != path:
            name = f"{stem}-{hashlib.sha1(path.encode()).hexdigest()[:8]}_{key}.png"
        self.owners[name] = path
        return name


def plan(files: list[Path], keys: list[str], given: dict[str, Any], reference: str | None,
         manifest: Manifest, retry_failed: bool = False) -> Plan:
    """The jobs still to do: one per input file, with its (method, options, output) tasks."""
    paths = [str(Path(f).absolute()) for f in files]
    rows = manifest.rows(paths)
    by_path: dict[str, list[Row]] = {}
    for row in rows.values():
        by_path.setdefault(row.path, []).append(row)
    names, out = Names(manifest.outputs()), Plan()
    for path in dict.fromkeys(paths):  # the same file given twice is done once
        digest, size, mtime = _fingerprint(path, by_path.get(path, []))
        tasks = []
        for key in keys:
            opts = method_options(key, given, reference)
            row = rows.get((path, key))
            if row and row.sha256 == digest and row.options == options_json(opts):
                if row.status == "done":
                    out.done += 1
                    continue
                if not retry_failed:
                    out.failed += 1
                    continue
            output = row.output if row and row.output else names.assign(path, key)
            tasks.append({"method": key, "options": opts, "output": output})
        if tasks:
            out.jobs.append({"path": path, "sha256": digest, "size": size, "mtime_ns": mtime,
                             "tasks": tasks})
    return out
