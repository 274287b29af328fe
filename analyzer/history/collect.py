"""One capture's contribution to a night: its provenance and its report tables as rows keyed by SHA-256.

:func:`capture_result` is what runs on a worker, local or Dask: it analyses one capture and returns
only the small tables the history keeps (no flows, no HTTP events), so a cluster ships little back
to the client that writes the history.  The local executor reaches the same function through
:func:`analyzer.api.analyze_many`'s result (:func:`from_item`), so both give identical rows.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.errors import InputError
from analyzer.schema import HISTORY_STORED

if TYPE_CHECKING:
    from analyzer.allowlist.model import Allowlist
    from analyzer.api import BatchItem
    from analyzer.options import Options

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")
# Firewall and proxy logs (analyzer/sources) stored beside the captures: taken when their content is
# a log egress reads, so that an allowlist or a README in the folder is not a failed capture.
LOG_SUFFIXES = tuple(s + gz for s in (".log", ".json", ".jsonl", ".csv", ".txt") for gz in ("", ".gz"))
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What one analysed capture adds to the history (``error`` set: it could not be read, no rows)."""

    path: str
    packets: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    truncated: bool = False
    warnings: tuple[str, ...] = ()
    error: str | None = None
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # HISTORY_STORED name -> rows


def from_item(item: BatchItem) -> CaptureResult:
    report = item.report
    if report is None:
        return CaptureResult(item.path, error=item.error)
    c = report.capture
    tables = {name: report.table(name).rows for name in HISTORY_STORED}
    return CaptureResult(item.path, c.packets, c.first_ts, c.last_ts, c.truncated, report.warnings, None, tables)


def capture_result(path: str, allowlist: Allowlist | None, options: Options) -> CaptureResult:
    """Analyse one capture for the history (the function a Dask worker runs)."""
    from analyzer.api import BatchItem, analyze

    try:
        return from_item(BatchItem(path, analyze(path, allowlist=allowlist, options=options), None))
    except InputError as exc:
        return from_item(BatchItem(path, None, str(exc)))


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def find_captures(sources: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Files as given, directories walked recursively for captures; sorted, each once.

    A missing source, or a directory holding no capture, is bad input: one line naming it.
    """
    found: list[str] = []
    for source in sources:
        p = Path(source)
        if p.is_dir():
            inside = sorted(str(f) for f in p.rglob("*") if f.is_file() and _wanted(f))
            if not inside:
                raise InputError(f"{p}: no captures found (.pcap, .pcapng, .cap, or those gzip'd, or firewall logs)")
            found += inside
        elif p.exists():
            found.append(str(p))
        else:
            raise InputError(f"{p}: no such file or folder")
    return list(dict.fromkeys(os.path.abspath(f) for f in found))


def _wanted(f: Path) -> bool:
    name = f.name.lower()
    if name.endswith(CAPTURE_SUFFIXES):
        return True
    if not name.endswith(LOG_SUFFIXES):
        return False
    from analyzer.sources import detect
    from analyzer.sources.text import HEAD_BYTES

    try:
        with f.open("rb") as fh:
            return detect(fh.read(HEAD_BYTES)) not in (None, "capture")
    except OSError:
        return False


def history_names(paths: Sequence[str]) -> dict[str, str]:
    """Each capture's name in the history: its path relative to the captures' common folder
    (``host-a/out.pcap``, ``host-b/out.pcap``), so same-named captures stay apart."""
    if not paths:
        return {}
    common = os.path.commonpath([os.path.dirname(p) for p in paths])
    return {p: os.path.relpath(p, common) for p in paths}


def settings_fingerprint(allowlist: Allowlist | None, options: Options) -> str:
    """What a stored review depends on besides the capture: a capture is reused only when this matches."""
    doc: dict[str, Any] = {
        "dialect": options.dialect,
        "internal_domains": list(options.internal_domains),
        "include_noise": sorted(options.include_noise),
        "fast": options.fast,
        "tool": tool_version(),
    }
    if allowlist is not None:
        doc["entries"] = [
            [e.pattern, sorted(e.protocols), [str(p) for p in e.ports], e.file, e.line, e.kind, e.rule]
            for e in allowlist.entries
        ]
        doc["invalid"] = [[i.file, i.line, i.text, i.problem] for i in allowlist.invalid]
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


@cache
def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"egress-analyzer {version('egress-analyzer')}"
    except PackageNotFoundError:
        return "egress-analyzer (not installed)"
