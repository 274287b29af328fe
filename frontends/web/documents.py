"""The finished analysis of one capture as files: every document the API serves, rendered once by the worker.

A folder per capture, ``reports/<capture id>/``, holds ``report.json|html|md|csv`` (what ``egress analyze
--format`` writes), ``export.<target>`` for every target of ``egress export --to``, and ``facts.json``:
what the status endpoint and the page need (packets, counts, diagnosis, each export's notes, the drift
against a profile's baseline).  The folder is written under a temporary name and moved into place with
``os.replace``: a folder that exists is whole.

Files, not a pickled ``Report``: a file rendered by the version that analysed stays readable by every
later version of the server, a report whose tables live in spill files is never copied into a pickle,
and serving a document is a file read, not a render in the web process.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from analyzer.api import NightReport, Report, diagnose
from reports import csvout, exports, html, jsondoc, markdown

FACTS = "facts.json"
FACTS_VERSION = 1
FORMATS = ("json", "html", "md", "csv")
_RENDERERS = {"json": jsondoc.render, "html": html.render, "md": markdown.render, "csv": csvout.render}


def folder(data: Path, capture_id: str) -> Path:
    return data / "reports" / capture_id


def report_file(data: Path, capture_id: str, fmt: str) -> Path:
    assert fmt in _RENDERERS  # a request names a format from a fixed list, never a path
    return folder(data, capture_id) / f"report.{fmt}"


def export_file(data: Path, capture_id: str, target: str) -> Path:
    assert target in exports.TARGETS
    return folder(data, capture_id) / f"export.{target}"


def legacy_pickle(data: Path, capture_id: str) -> Path:
    """Where servers before the document folders kept the report (a pickle, never read now)."""
    return data / "reports" / f"{capture_id}.pickle"


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


def drift_facts(night: NightReport) -> dict[str, Any]:
    """The drift of an upload against its profile's baseline, as the API returns it."""
    return {
        "profile": night.profile,
        "baseline": list(night.baseline),
        "baseline_nights": night.baseline_nights,
        "baseline_state": night.baseline_state,
        "items": night.drift.rows,
    }


def write(
    data: Path, capture_id: str, report: Report, drift: dict[str, Any] | None = None, drift_error: str | None = None
) -> dict[str, Any]:
    """Render every document of ``report`` into the capture's folder; returns the facts written beside them."""
    started = time.perf_counter()
    target = folder(data, capture_id)
    # In tmp/ (same file system, emptied at each start): a worker killed mid-render leaves nothing in reports/.
    tmp = data / "tmp" / f"{capture_id}.documents.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for fmt, render in _RENDERERS.items():
        (tmp / f"report.{fmt}").write_text(render(report), encoding="utf-8", newline="")
    notes = {}
    for name in exports.TARGETS:
        written = exports.build(report, name)
        (tmp / f"export.{name}").write_text(written.text, encoding="utf-8", newline="")
        notes[name] = list(written.notes)
    facts: dict[str, Any] = {
        "version": FACTS_VERSION,
        "packets": report.capture.packets,
        "counts": counts(report),
        "diagnosis": list(diagnose(report)),
        "notes": notes,
        "drift": drift,
        "drift_error": drift_error,
        "render_seconds": round(time.perf_counter() - started, 4),
    }
    (tmp / FACTS).write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    # A folder left by a worker that died after placing it but before the job was marked done.
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return facts


def read_facts(data: Path, capture_id: str) -> dict[str, Any] | None:
    """The facts of a finished capture; None when its folder is missing or from an unknown layout."""
    try:
        facts = json.loads((folder(data, capture_id) / FACTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) and facts.get("version") == FACTS_VERSION else None


def remove(data: Path, capture_id: str) -> None:
    shutil.rmtree(folder(data, capture_id), ignore_errors=True)
    legacy_pickle(data, capture_id).unlink(missing_ok=True)
