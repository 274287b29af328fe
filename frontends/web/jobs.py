"""Runs the analyses in a process pool, so that upload handlers never wait for one.

The web process only hands job ids to the pool; the workers record progress and outcome in the
store themselves.  Started workers are spawned, not forked: the web process has an event loop and
threads that a fork would copy half-way.  A worker that dies (killed, out of memory) breaks the
pool: its job is marked failed, a new pool is made and the queue goes on.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from frontends.web import worker
from frontends.web.config import Config
from frontends.web.store import Store

log = logging.getLogger("egress.serve")


class Dispatcher:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.pool = self._pool()
        self.pending: dict[str, Future[str]] = {}
        self.broken = False  # set from the pool's thread; the event loop renews the pool (:meth:`heal`)

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.config.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker.init_worker,
        )

    def resume(self) -> int:
        """At start: jobs left running by a stopped server go back to the queue; every queued job is handed out."""
        requeued = self.store.requeue_running()
        for capture_id in self.store.queued():
            self.submit(capture_id)
        return requeued

    def submit(self, capture_id: str) -> None:
        if capture_id in self.pending:
            return
        job = functools.partial(
            worker.run_job, str(self.config.database), str(self.config.data), capture_id, str(self.config.history or "")
        )
        try:
            fut = self.pool.submit(job)
        except BrokenProcessPool:
            self._renew()
            fut = self.pool.submit(job)
        self.pending[capture_id] = fut
        fut.add_done_callback(functools.partial(self._done, capture_id))

    def _done(self, capture_id: str, fut: Future[str]) -> None:
        self.pending.pop(capture_id, None)
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is None:
            return
        if isinstance(exc, BrokenProcessPool):
            self.broken = True
            self.store_from_thread_fail(capture_id, "the analysis worker died (out of memory?); upload again to retry")
        else:
            log.error("analysis of %s failed", capture_id, exc_info=exc)

    def store_from_thread_fail(self, capture_id: str, reason: str) -> None:
        # Done callbacks run in the pool's management thread: it needs a connection of its own.
        other = Store(self.config.database)
        try:
            row = other.capture(capture_id)
            if row is None or row.status != "running":  # queued ones go to the next pool
                return
            if _alive(row.worker_pid):
                # Its worker is well: another one died, and the broken pool stops them all (CPython fails
                # the futures before it terminates the others, so the innocent are still alive here).
                other.requeue(capture_id)
                log.warning("analysis of %s requeued: another worker of the pool died", capture_id)
            else:
                other.fail(capture_id, f"{row.name}: {reason}")
        finally:
            other.close()

    def _renew(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._pool()
        self.pending.clear()
        self.broken = False

    def heal(self) -> None:
        """After a worker died: a new pool, and the jobs still queued handed to it."""
        if self.broken:
            self._renew()
            for capture_id in self.store.queued():
                self.submit(capture_id)

    def shutdown(self) -> None:
        # Running jobs stop with the workers; the next start requeues them.
        self.pool.shutdown(wait=False, cancel_futures=True)


_PF_EXITING = 0x4  # Linux task flag: the process is exiting


def _alive(pid: int | None) -> bool:
    """The process runs: not gone, not a zombie, and not exiting (its pipes close, and the pool notices,
    before it is a zombie: the exiting flag is what is certain at that moment)."""
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[-1].split()  # after the command name, which may hold anything
    return fields[0] not in ("Z", "X") and not int(fields[6]) & _PF_EXITING
