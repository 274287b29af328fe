"""One writer per history at a time, and readers kept safe from the writer's clean-up.

``fcntl.flock`` locks belong to the open file, so the kernel drops them when a process dies, even
by SIGKILL: a killed run never leaves a stale lock behind (a pid file would).  The writer holds
``.lock`` for its whole run (analysis, Parquet files, manifest); a second run of the same history
waits up to its timeout and then fails with one line.  Readers (``egress drift``) take
``.readers.lock`` shared; the writer deletes replaced run folders only when it can take that lock
exclusively at once, otherwise it leaves them for a later run.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analyzer.history.errors import HistoryBusy

WRITER_LOCK = ".lock"
READERS_LOCK = ".readers.lock"
_POLL_SECONDS = 0.1


@contextmanager
def writer(root: Path, timeout: float) -> Iterator[None]:
    """Hold the history's writer lock, waiting up to ``timeout`` seconds for it."""
    fd = os.open(root / WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while not _try(fd, fcntl.LOCK_EX):
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                raise HistoryBusy(
                    f"{root}: another run is writing this history (pid {holder}); waited {timeout:g} s (--lock-timeout)"
                )
            time.sleep(_POLL_SECONDS)
        # The holder's pid, for the message a waiting run gives; informative only, the lock is the flock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def reader(root: Path) -> Iterator[None]:
    """Shared: the writer does not delete run folders while a reader may be reading them."""
    path = root / READERS_LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield  # a read-only history: nobody can be deleting from it either
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextmanager
def cleaning(root: Path) -> Iterator[bool]:
    """Yields True when no reader holds the history (clean-up may delete), False otherwise."""
    fd = os.open(root / READERS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        yield _try(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)


def _try(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
