"""Odd captures, and the fast path compared with the full decoder on them (tests/analyzer/test_fastpath_edge_*)."""

from __future__ import annotations

import io
import traceback
from typing import Any

from analyzer.pipeline import analyze_stream
from fixtures.builders.pcap import pcap_bytes
from parsers.capture import CHUNK
from reports.jsondoc import document

TABLES = ("capture", "summary", "flows", "http", "dns", "parse_errors", "warnings")


def tables(raw: bytes, fast: bool, chunk_size: int = CHUNK) -> dict[str, Any]:
    try:
        doc = document(analyze_stream(io.BytesIO(raw), "t", fast=fast, chunk_size=chunk_size))
    except Exception as exc:
        return {"exception": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()}
    return {k: doc[k] for k in TABLES}


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k in set(a) | set(b):
        if k == "tb":
            continue
        if a.get(k) != b.get(k):
            out[k] = (a.get(k), b.get(k))
    return out


def pcap(frames: list[tuple[int, bytes, int]], linktype: int = 1, bo: str = "<") -> bytes:
    """frames: (ts_us, data, wirelen)."""
    return pcap_bytes([(ts * 1000, data, wirelen) for ts, data, wirelen in frames], linktype, bo=bo, snaplen=65535)


def seq_pcap(frames: list[bytes], linktype: int = 1, t0: int = 1_700_000_000_000_000, step: int = 1000) -> bytes:
    return pcap([(t0 + i * step, f, len(f)) for i, f in enumerate(frames)], linktype)
