"""The upload service's state: captures (one analysis job each), resumable uploads, uploaded allowlists.

SQLite in WAL mode: the web process reads while the analysis workers (other processes) write
their progress, and a crash leaves the database consistent.  Each process opens its own
connection; every write is one short transaction.  Rows hold the owner's token *id* (a hash),
never the token.

A job goes ``queued -> running -> done | failed``; a server that stops while a job runs puts it
back to ``queued`` at its next start (:meth:`Store.requeue_running`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    allowlist TEXT NOT NULL,          -- the name asked for ('' for none)
    allowlist_label TEXT NOT NULL,    -- what the report calls it: the server's path, or the uploaded file's name
    allowlist_path TEXT NOT NULL,     -- where the worker reads it
    dialect TEXT NOT NULL,
    profile TEXT NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    packets INTEGER,
    counts TEXT,
    diagnosis TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    worker_pid INTEGER,               -- the process analysing it (running): who died when the pool breaks
    UNIQUE (owner, sha256, allowlist, dialect, profile)
);
CREATE INDEX IF NOT EXISTS captures_owner ON captures (owner, created);
CREATE INDEX IF NOT EXISTS captures_status ON captures (status, created);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    length INTEGER NOT NULL,
    name TEXT NOT NULL,
    allowlist TEXT NOT NULL,
    dialect TEXT NOT NULL,
    profile TEXT NOT NULL,
    created REAL NOT NULL,
    capture_id TEXT
);
CREATE TABLE IF NOT EXISTS allowlists (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    entries INTEGER NOT NULL,
    created REAL NOT NULL,
    UNIQUE (owner, sha256)
);
"""


@dataclass(frozen=True, slots=True)
class Capture:
    id: str
    owner: str
    sha256: str
    name: str
    size: int
    allowlist: str
    allowlist_label: str
    allowlist_path: str
    dialect: str
    profile: str
    status: str
    progress: int
    error: str | None
    packets: int | None
    counts: dict[str, int] | None
    diagnosis: tuple[str, ...]
    created: float
    started: float | None
    finished: float | None
    worker_pid: int | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    owner: str
    length: int
    name: str
    allowlist: str
    dialect: str
    profile: str
    created: float
    capture_id: str | None


@dataclass(frozen=True, slots=True)
class UploadedAllowlist:
    id: str
    owner: str
    name: str
    sha256: str
    entries: int
    created: float


def _capture(row: sqlite3.Row) -> Capture:
    d = dict(row)
    d["counts"] = json.loads(d["counts"]) if d["counts"] else None
    d["diagnosis"] = tuple(json.loads(d["diagnosis"])) if d["diagnosis"] else ()
    return Capture(**d)


class Store:
    """One connection per process (and per thread: ``check_same_thread`` stays on)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # autocommit (isolation_level None): each statement commits by itself, transactions are explicit.
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process crash

    @classmethod
    def create(cls, path: Path) -> Store:
        store = cls(path)
        store.db.executescript(_SCHEMA)
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(captures)")}
        if "worker_pid" not in columns:  # a database of a server before it
            store.db.execute("ALTER TABLE captures ADD COLUMN worker_pid INTEGER")
        return store

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # Captures and their jobs.

    def add_capture(self, fields: dict[str, Any]) -> tuple[Capture, bool]:
        """Insert a queued capture, or return the one with the same owner, SHA-256 and options: (capture, new?).
        A failed one is queued again (new: True): the failure may have been the worker's (killed, out of
        memory), not the file's, and the error line said to upload again."""
        key = ("owner", "sha256", "allowlist", "dialect", "profile")
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM captures WHERE owner=? AND sha256=? AND allowlist=? AND dialect=? AND profile=?",
                [fields[k] for k in key],
            ).fetchone()
            if row is not None and row["status"] != FAILED:
                return _capture(row), False
            if row is not None:
                capture_id = row["id"]
                db.execute(
                    "UPDATE captures SET status=?, progress=0, error=NULL, finished=NULL, created=? WHERE id=?",
                    [QUEUED, time.time(), capture_id],
                )
            else:
                capture_id = fields["id"]
                values = {**fields, "status": QUEUED, "progress": 0, "created": time.time()}
                cols = ", ".join(values)
                db.execute(
                    f"INSERT INTO captures ({cols}) VALUES ({', '.join('?' * len(values))})", list(values.values())
                )
        got = self.capture(capture_id)
        assert got is not None
        return got, True

    def capture(self, capture_id: str, owner: str | None = None) -> Capture | None:
        sql, args = "SELECT * FROM captures WHERE id=?", [capture_id]
        if owner is not None:
            sql, args = sql + " AND owner=?", [*args, owner]
        row = self.db.execute(sql, args).fetchone()
        return None if row is None else _capture(row)

    def captures(self, owner: str) -> list[Capture]:
        rows = self.db.execute("SELECT * FROM captures WHERE owner=? ORDER BY created DESC, id", [owner]).fetchall()
        return [_capture(r) for r in rows]

    def queued(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM captures WHERE status=? ORDER BY created", [QUEUED])]

    def start(self, capture_id: str, worker_pid: int | None = None) -> Capture | None:
        """queued -> running; None when the job is not queued (another worker took it, or it was removed)."""
        cur = self.db.execute(
            "UPDATE captures SET status=?, started=?, progress=0, worker_pid=? WHERE id=? AND status=?",
            [RUNNING, time.time(), worker_pid, capture_id, QUEUED],
        )
        return self.capture(capture_id) if cur.rowcount == 1 else None

    def set_progress(self, capture_id: str, done: int) -> None:
        self.db.execute("UPDATE captures SET progress=? WHERE id=? AND status=?", [done, capture_id, RUNNING])

    def finish(
        self, capture_id: str, packets: int, counts: dict[str, int], diagnosis: tuple[str, ...], size: int
    ) -> None:
        self.db.execute(
            "UPDATE captures SET status=?, packets=?, counts=?, diagnosis=?, progress=?, finished=?, error=NULL "
            "WHERE id=?",
            [DONE, packets, json.dumps(counts), json.dumps(list(diagnosis)), size, time.time(), capture_id],
        )

    def fail(self, capture_id: str, error: str) -> None:
        self.db.execute(
            "UPDATE captures SET status=?, error=?, finished=? WHERE id=?", [FAILED, error, time.time(), capture_id]
        )

    def done(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM captures WHERE status=? ORDER BY created", [DONE])]

    def requeue_done(self, capture_id: str) -> bool:
        """done -> queued, for an analysis whose documents must be made again."""
        cur = self.db.execute(
            "UPDATE captures SET status=?, progress=0, finished=NULL WHERE id=? AND status=?",
            [QUEUED, capture_id, DONE],
        )
        return cur.rowcount == 1

    def requeue(self, capture_id: str) -> bool:
        """running -> queued, for a job whose worker was stopped through no fault of its capture."""
        cur = self.db.execute(
            "UPDATE captures SET status=?, progress=0 WHERE id=? AND status=?", [QUEUED, capture_id, RUNNING]
        )
        return cur.rowcount == 1

    def requeue_running(self) -> int:
        """Jobs a stopped server left running go back to the queue (their worker died with it)."""
        return self.db.execute("UPDATE captures SET status=?, progress=0 WHERE status=?", [QUEUED, RUNNING]).rowcount

    def expired_captures(self, before: float) -> list[Capture]:
        rows = self.db.execute("SELECT * FROM captures WHERE created < ? AND status != ?", [before, RUNNING])
        return [_capture(r) for r in rows]

    def delete_capture(self, capture_id: str) -> None:
        self.db.execute("DELETE FROM captures WHERE id=?", [capture_id])

    def blob_in_use(self, owner: str, sha256: str) -> bool:
        row = self.db.execute("SELECT 1 FROM captures WHERE owner=? AND sha256=? LIMIT 1", [owner, sha256]).fetchone()
        return row is not None

    # Resumable (tus) uploads.

    def add_upload(self, upload: Upload) -> None:
        self.db.execute(
            "INSERT INTO uploads (id, owner, length, name, allowlist, dialect, profile, created, capture_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [getattr(upload, f) for f in Upload.__slots__],
        )

    def upload(self, upload_id: str, owner: str) -> Upload | None:
        row = self.db.execute("SELECT * FROM uploads WHERE id=? AND owner=?", [upload_id, owner]).fetchone()
        return None if row is None else Upload(**dict(row))

    def complete_upload(self, upload_id: str, capture_id: str) -> None:
        self.db.execute("UPDATE uploads SET capture_id=? WHERE id=?", [capture_id, upload_id])

    def delete_upload(self, upload_id: str) -> None:
        self.db.execute("DELETE FROM uploads WHERE id=?", [upload_id])

    def expired_uploads(self, before: float) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM uploads WHERE created < ?", [before])]

    # Allowlists uploaded by a token.

    def add_allowlist(self, entry: UploadedAllowlist) -> UploadedAllowlist:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM allowlists WHERE owner=? AND sha256=?", [entry.owner, entry.sha256]
            ).fetchone()
            if row is not None:
                return UploadedAllowlist(**dict(row))
            db.execute(
                "INSERT INTO allowlists (id, owner, name, sha256, entries, created) VALUES (?, ?, ?, ?, ?, ?)",
                [getattr(entry, f) for f in UploadedAllowlist.__slots__],
            )
        return entry

    def allowlist(self, allowlist_id: str, owner: str) -> UploadedAllowlist | None:
        row = self.db.execute("SELECT * FROM allowlists WHERE id=? AND owner=?", [allowlist_id, owner]).fetchone()
        return None if row is None else UploadedAllowlist(**dict(row))

    def allowlists(self, owner: str) -> list[UploadedAllowlist]:
        rows = self.db.execute("SELECT * FROM allowlists WHERE owner=? ORDER BY created DESC", [owner]).fetchall()
        return [UploadedAllowlist(**dict(r)) for r in rows]
