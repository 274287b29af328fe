"""The analysis of one uploaded capture, in a worker process of the pool (CPU-bound: never in the web process).

The worker records its own progress and outcome in the database (WAL lets it write while the web
process reads), and renders every document the API serves into the capture's folder
(:mod:`frontends.web.documents`), once: the web process only ever serves files.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

from analyzer.api import AllowlistText, InputError, Options, analyze, read_allowlist, report_drift
from frontends.web import documents
from frontends.web.store import Store

PROGRESS_EVERY_S = 0.2
# Test hook: seconds a worker sleeps after taking a job, so a test can stop the server mid-analysis.
DELAY_ENV = "EGRESS_SERVE_TEST_ANALYSIS_DELAY"
# Test hook: a worker given a capture of this name exits on the spot, as one the kernel killed would.
EXIT_ENV = "EGRESS_SERVE_TEST_WORKER_EXIT"

_store: Store | None = None


def init_worker() -> None:
    """Each worker dies with the server (Linux ``PR_SET_PDEATHSIG``): a killed server leaves no orphan
    finishing a job that the next server has requeued."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the server died before prctl took effect
            os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops the pool


def run_job(database: str, data: str, capture_id: str, history: str = "") -> str:
    """Analyse one queued capture; returns its final status."""
    global _store
    if _store is None:
        _store = Store(Path(database))
    store = _store
    job = store.start(capture_id, os.getpid())
    if job is None:
        return "skipped"
    if job.name == os.environ.get(EXIT_ENV):
        os._exit(3)
    delay = float(os.environ.get(DELAY_ENV) or 0)
    if delay:
        time.sleep(delay)
    root = Path(data)
    last = 0.0

    def progress(done: int, total: int | None, packets: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            store.set_progress(capture_id, done)

    try:
        allowlist = None
        if job.allowlist_path:
            path = Path(job.allowlist_path)
            if path.is_relative_to(root):  # uploaded: named by the file the user gave, not where it is kept
                allowlist = read_allowlist(AllowlistText(job.allowlist_label, path.read_text(encoding="utf-8")))
            else:
                allowlist = read_allowlist(path)
        capture = root / "captures" / job.owner / job.sha256
        report = analyze(
            capture, allowlist=allowlist, options=Options(dialect=job.dialect), progress=progress, name=job.name
        )
        drift, drift_error = None, None
        if job.profile and history:
            try:  # the upload still has its report when the history cannot say anything: the line says why
                drift = documents.drift_facts(report_drift(report, history=history, profile=job.profile))
            except InputError as exc:
                drift_error = str(exc)
        facts = documents.write(root, capture_id, report, drift, drift_error)
    except InputError as exc:
        store.fail(capture_id, str(exc))
        return "failed"
    except Exception as exc:  # a bug: the job says so in one line instead of staying 'running' forever
        store.fail(capture_id, f"{job.name}: internal error ({exc.__class__.__name__}); see the server log")
        raise
    store.finish(capture_id, report.capture.packets, facts["counts"], tuple(facts["diagnosis"]), job.size)
    return "done"
