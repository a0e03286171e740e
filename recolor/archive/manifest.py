"""The manifest of an archive run: `OUT/manifest.sqlite`, table `files`, one row per (input
path, method), written by the driver as each result arrives (WAL journal, one commit per
result), so a Ctrl-C or a killed worker loses nothing already recorded."""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME = "manifest.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT NOT NULL,          -- the input, absolute
    method TEXT NOT NULL,        -- a key of recolor.METHODS
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    error TEXT,                  -- why it failed (NULL when done)
    output TEXT,                 -- the PNG, relative to the output folder
    worker_pid INTEGER,          -- the process that colorized it
    sha256 TEXT,                 -- of the input file's bytes (NULL if it could not be read)
    options TEXT NOT NULL,       -- JSON: the method's options and the reference
    seconds REAL,                -- reading, colorizing and writing, in the worker
    size INTEGER,                -- the input's size and mtime when hashed: a rerun rehashes
    mtime_ns INTEGER,            --   only files whose size or mtime changed
    finished REAL,               -- unix time the driver recorded it
    PRIMARY KEY (path, method)
)"""


@dataclass(frozen=True)
class Row:
    path: str
    method: str
    status: str
    error: str | None
    output: str | None
    worker_pid: int | None
    sha256: str | None
    options: str
    seconds: float | None
    size: int | None
    mtime_ns: int | None
    finished: float | None


def options_json(options: dict[str, Any]) -> str:
    """The canonical JSON of a job's options (sorted keys), compared as text on reruns."""
    return json.dumps(options, sort_keys=True, separators=(",", ":"), default=str)


class Manifest:
    """One SQLite connection, owned by the driver (the only writer)."""

    def __init__(self, out_dir: str | Path):
        self.path = Path(out_dir) / NAME
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a crash
        self.db.execute(_SCHEMA)                       # of the process (not of the machine)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def rows(self, paths: list[str] | None = None) -> dict[tuple[str, str], Row]:
        """(path, method) -> Row, for `paths` (all rows if None)."""
        cur = self.db.execute(f"SELECT {', '.join(Row.__dataclass_fields__)} FROM files")
        want = None if paths is None else set(paths)
        return {(r[0], r[1]): Row(*r) for r in cur if want is None or r[0] in want}

    def outputs(self) -> dict[str, str]:
        """output name -> the input path that owns it."""
        return dict(self.db.execute("SELECT output, path FROM files WHERE output IS NOT NULL"))

    def record(self, row: Row) -> None:
        """Insert or replace one result and commit it at once."""
        if row.finished is None:
            row = Row(**{**row.__dict__, "finished": time.time()})
        cols = list(Row.__dataclass_fields__)
        self.db.execute(f"INSERT OR REPLACE INTO files ({', '.join(cols)}) VALUES "
                        f"({', '.join('?' * len(cols))})", [getattr(row, c) for c in cols])
        self.db.commit()

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, COUNT(*) FROM files GROUP BY status"))
