"""The analysis of one uploaded capture, in a worker process of the pool (CPU-bound: never in the web process).

The worker records its own progress and outcome in the database (WAL lets it write while the web
process reads), and leaves the report as a pickle beside the capture, written to a temporary
name and moved into place: a report file that exists is whole.  The pickle is only ever read by
this server from its own data folder.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import time
from pathlib import Path

from analyzer.api import AllowlistText, InputError, Options, Report, analyze, diagnose, read_allowlist
from frontends.web.store import Store

PROGRESS_EVERY_S = 0.2
# Test hook: seconds a worker sleeps after taking a job, so a test can stop the server mid-analysis.
DELAY_ENV = "EGRESS_SERVE_TEST_ANALYSIS_DELAY"

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


def report_path(data: Path, capture_id: str) -> Path:
    return data / "reports" / f"{capture_id}.pickle"


def load_report(data: Path, capture_id: str) -> Report:
    with report_path(data, capture_id).open("rb") as fh:
        report = pickle.load(fh)
    assert isinstance(report, Report)
    return report


def counts(report: Report) -> dict[str, int]:
    return {
        "destinations": len(report.egress()),
        "named": sum(1 for r in report.egress() if r["fqdn"]),
        "blocked": len(report.blocked()),
        "missing": len(report.missing()),
        "blocked_but_allowed": len(report.blocked_but_allowed()),
        "excess": len(report.excess),
        "noise": sum(1 for r in report.summary.rows if r["noise"] is not None),
        "warnings": len(report.warnings),
    }


def run_job(database: str, data: str, capture_id: str) -> str:
    """Analyse one queued capture; returns its final status."""
    global _store
    if _store is None:
        _store = Store(Path(database))
    store = _store
    job = store.start(capture_id)
    if job is None:
        return "skipped"
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
    except InputError as exc:
        store.fail(capture_id, str(exc))
        return "failed"
    except Exception as exc:  # a bug: the job says so in one line instead of staying 'running' forever
        store.fail(capture_id, f"{job.name}: internal error ({exc.__class__.__name__}); see the server log")
        raise
    target = report_path(root, capture_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("wb") as fh:
        pickle.dump(report, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, target)
    store.finish(capture_id, report.capture.packets, counts(report), diagnose(report), job.size)
    return "done"
