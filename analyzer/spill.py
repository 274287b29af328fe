"""Rows written out as they are made, so that memory does not grow with the capture.

A :class:`RowSink` takes the rows of one table in any order, each with its sort key.  It holds
up to ``run_rows`` of them; when that many are held it sorts them and writes them as one *run*, a
file in the :class:`SpillDir` of the analysis.  At the end, a table that never filled a run comes
back as an ordinary in-memory list of rows; a larger one comes back as a :class:`SpilledRows`,
which merges its sorted runs as it is read (one small chunk per run in memory).  Both are the same
rows in the same order: only where they wait differs.

A run is a sequence of length-prefixed :mod:`marshal` records, each a chunk of ``CHUNK_ROWS`` rows as value tuples
in schema column order with their keys.  Why marshal rather than Arrow IPC: the files live only as
long as the process that wrote them (a private temporary directory), the rows are plain str, int,
bool, None and lists of str, which marshal round-trips exactly and several times faster than
converting them to Arrow and back, and a capture that spills does not pay pyarrow's import (0.3 s,
40 MB).  Arrow is made from the rows when a renderer asks for it (:meth:`Table.arrow_batches`).
"""

from __future__ import annotations

import heapq
import marshal
import os
import struct
import weakref
from collections.abc import Callable, Iterator
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Any

from analyzer import schema

# Rows one table holds before it writes a run.  A flow row costs about 1.3 KB as a dict (flows and
# observations together hold at most ~55 MB); every capture with fewer connections, the bench's
# handshake captures among them, is analysed as before, without the cost of writing and reading back.
SPILL_ROWS = 25_000
# Rows per marshal record: what each run holds in memory while the runs of a table are merged, so
# a million connections (a hundred runs of flows) hold a few megabytes of them.
CHUNK_ROWS = 128

# A spill directory is named after the process that owns it, so that one left behind by a process
# that was killed (SIGKILL, OOM: no finalizer runs) can be told apart from one still in use.
PREFIX = "egress-spill-"

Key = tuple[int, ...]
_LENGTH = struct.Struct("<I")  # each marshal record is preceded by its length


class SpillDir:
    """A temporary directory for the runs of one analysis, removed when nothing refers to it any more
    (the report and its tables hold it) or at interpreter exit, whichever comes first."""

    def __init__(self) -> None:
        self._path: Path | None = None
        self._count = 0
        self._finalizer: weakref.finalize[Any, SpillDir] | None = None

    def new_file(self, stem: str) -> Path:
        if self._path is None:
            import shutil  # here: a capture that never spills never imports them
            import tempfile

            sweep_abandoned(Path(tempfile.gettempdir()))
            self._path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))  # mode 0700: ours alone
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._path, True)
        self._count += 1
        return self._path / f"{stem}-{self._count:05d}.run"

    def __reduce__(self) -> tuple[type[SpillDir], tuple[()]]:
        # A report sent to another process (analyze_many) takes its tables whole (Table.__reduce__):
        # its files stay with, and go with, the process that wrote them.
        return (SpillDir, ())

    @property
    def path(self) -> Path | None:
        """The directory, once something was written to it."""
        return self._path

    def cleanup(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


_swept: set[Path] = set()


def sweep_abandoned(tmp: Path) -> list[Path]:
    """Remove the spill directories in ``tmp`` that this user's processes left when they were killed
    (their pid no longer runs), once per process: an upload server or a nightly job analyses many
    captures over months, and a killed run's files would otherwise stay until the next reboot.
    Returns what it removed."""
    if tmp in _swept:
        return []
    _swept.add(tmp)
    import shutil

    removed = []
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return []
    for entry in entries:
        pid_text = entry.name[len(PREFIX) :].partition("-")[0]
        if not entry.name.startswith(PREFIX) or not pid_text.isdigit():
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        if _running(int(pid_text)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process has that pid: not ours to judge
    return True


class SpilledRows:
    """The sorted runs of one table on disk, read back merged in key order."""

    __slots__ = ("_dir", "_runs", "count", "in_order", "table")

    def __init__(self, table: str, runs: list[Path], count: int, spill_dir: SpillDir, in_order: bool) -> None:
        self.table = table
        self._runs = runs
        self.count = count
        # Each run starts at or after the end of the one before (rows added in key order, as the
        # DNS table's are): read one after another, no merge.
        self.in_order = in_order
        self._dir = spill_dir  # keeps the directory alive as long as these rows are readable

    def _records(self, path: Path) -> Iterator[tuple[list[Key], list[tuple[Any, ...]]]]:
        """One run's records: a chunk of keys and the value tuples of their rows."""
        with path.open("rb") as fh:
            while head := fh.read(_LENGTH.size):
                # marshal.loads on a whole record: marshal.load on a file reads it piece by piece
                # through Python calls, five times slower.
                keys, values = marshal.loads(fh.read(_LENGTH.unpack(head)[0]))
                yield keys, values

    def _run(self, path: Path) -> Iterator[tuple[Key, dict[str, Any]]]:
        pairs = partial(zip, schema.column_names(self.table), strict=True)  # a value tuple's (column, value) pairs
        for keys, values in self._records(path):
            yield from zip(keys, map(dict, map(pairs, values)), strict=True)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if len(self._runs) == 1 or self.in_order:
            # Runs read one after another: a chunk's rows made by C-level maps, no key per row
            # (a third of the time it took to read back a spilled table row by row).
            pairs = partial(zip, schema.column_names(self.table), strict=True)
            for path in self._runs:
                for _keys, values in self._records(path):
                    yield from map(dict, map(pairs, values))
            return
        for _key, row in heapq.merge(*(self._run(p) for p in self._runs), key=_first):
            yield row


_first = itemgetter(0)  # a row's sort key, in the (key, row) pairs of a run


def _values_getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A row's values in column order as a tuple, in one C call (itemgetter of the column names; of
    one name it would give the bare value)."""
    if len(names) == 1:
        return lambda row: (row[names[0]],)
    getter: Callable[[dict[str, Any]], tuple[Any, ...]] = itemgetter(*names)
    return getter


class RowSink:
    """Collects one table's rows with their sort keys; see the module docstring."""

    __slots__ = ("_dir", "_in_order", "_keys", "_last_key", "_rows", "_runs", "_written", "run_rows", "table")

    def __init__(self, table: str, spill_dir: SpillDir, run_rows: int = SPILL_ROWS) -> None:
        self.table = table
        self.run_rows = max(1, run_rows)
        self._dir = spill_dir
        # The rows held and their keys, side by side rather than as (key, row) pairs: a pair per row
        # was a fifth of the objects the cyclic garbage collector scanned while a report was built.
        self._keys: list[Key] = []
        self._rows: list[dict[str, Any]] = []
        self._written = 0  # rows in the runs on disk
        self._runs: list[Path] = []
        self._last_key: Key | None = None  # the last key of the runs written so far
        self._in_order = True

    def add(self, key: Key, row: dict[str, Any]) -> None:
        self._keys.append(key)
        rows = self._rows
        rows.append(row)
        if len(rows) >= self.run_rows:
            self._write_run()

    @property
    def count(self) -> int:
        """Rows added so far."""
        return self._written + len(self._rows)

    def held(self) -> int:
        """Rows held in memory right now (at most ``run_rows``)."""
        return len(self._rows)

    def _take_sorted(self) -> tuple[list[Key], list[dict[str, Any]]]:
        """The rows held and their keys, in key order; none are held afterwards."""
        keys, rows = self._keys, self._rows
        self._keys, self._rows = [], []
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return [keys[i] for i in order], [rows[i] for i in order]

    def _write_run(self) -> None:
        keys, rows = self._take_sorted()
        if self._last_key is not None and keys[0] < self._last_key:
            self._in_order = False
        self._last_key = keys[-1]
        values_of = _values_getter(schema.column_names(self.table))
        path = self._dir.new_file(self.table)
        with path.open("wb") as fh:
            for start in range(0, len(rows), CHUNK_ROWS):
                chunk = rows[start : start + CHUNK_ROWS]
                record = marshal.dumps((keys[start : start + CHUNK_ROWS], [values_of(row) for row in chunk]))
                fh.write(_LENGTH.pack(len(record)))
                fh.write(record)
        self._runs.append(path)
        self._written += len(rows)

    def finish(self) -> list[dict[str, Any]] | SpilledRows:
        """The rows in key order: a list when they never filled a run, else the runs on disk."""
        if not self._runs:
            return self._take_sorted()[1]
        if self._rows:
            self._write_run()
        return SpilledRows(self.table, self._runs, self.count, self._dir, self._in_order)
