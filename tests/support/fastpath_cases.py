"""Odd captures, and the fast path compared with the full decoder on them (tests/analyzer/test_fastpath_edge_*)."""

from __future__ import annotations

import io
import struct
import traceback
from typing import Any

from analyzer.pipeline import analyze_stream
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
    out = [struct.pack(bo + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for ts, data, wirelen in frames:
        out.append(struct.pack(bo + "IIII", ts // 1_000_000, ts % 1_000_000, len(data), wirelen) + data)
    return b"".join(out)


def established(extra: list[bytes] | None = None, link: str = "eth") -> list[bytes]:
    """A TCP connection 10.0.0.5:40000 -> 203.0.113.9:9000, both sides settled (DONE)."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    def pkt(src, dst, sport, dport, flags, seq, ack, data=b""):
        p = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack) / data
        return bytes(Ether() / p) if link == "eth" else bytes(p)

    c, s = "10.0.0.5", "203.0.113.9"
    return [
        pkt(c, s, 40000, 9000, "S", 100, 0),
        pkt(s, c, 9000, 40000, "SA", 500, 101),
        pkt(c, s, 40000, 9000, "A", 101, 501),
        pkt(c, s, 40000, 9000, "PA", 101, 501, b"hello, not TLS or HTTP\r\n"),
        pkt(s, c, 9000, 40000, "PA", 501, 125, b"binary reply\r\n"),
        pkt(c, s, 40000, 9000, "A", 125, 515),
        *(extra or []),
    ]


def seq_pcap(frames: list[bytes], linktype: int = 1, t0: int = 1_700_000_000_000_000, step: int = 1000) -> bytes:
    return pcap([(t0 + i * step, f, len(f)) for i, f in enumerate(frames)], linktype)
