"""Odd captures, and the fast path compared with the full decoder on them (tests/analyzer/test_fastpath_edge_*)."""

from __future__ import annotations

import io
import traceback
from typing import Any

from analyzer.engine import Engine
from analyzer.fastpath import run_pcap, run_pcapng
from analyzer.pipeline import analyze_stream
from fixtures.builders.pcap import pcap_bytes
from parsers.capture import CHUNK, CaptureReader
from parsers.ip import IPPacket
from reports.jsondoc import document
from tests.support.vlan import UNTAGGED, VARIANTS, grown, tag

# Every edge case again behind VLAN tags: the fast path reads tagged frames in reads of their own.
VLANS = (UNTAGGED, *VARIANTS)

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


def pcap(frames: list[tuple[int, bytes, int]], linktype: int = 1, bo: str = "<", vlan: str = UNTAGGED) -> bytes:
    """frames: (ts_us, data, wirelen); ``vlan``: a variant of tests.support.vlan for every frame."""
    out, extra = [], grown(vlan, linktype)
    for ts, data, wirelen in frames:
        tagged = tag(vlan, linktype, data)[1]
        out.append((ts * 1000, tagged, wirelen + (extra if tagged is not data else 0)))
    if vlan != UNTAGGED:
        linktype = tag(vlan, linktype, bytes(64))[0]
    return pcap_bytes(out, linktype, bo=bo, snaplen=65535)


def seq_pcap(
    frames: list[bytes], linktype: int = 1, t0: int = 1_700_000_000_000_000, step: int = 1000, vlan: str = UNTAGGED
) -> bytes:
    return pcap([(t0 + i * step, f, len(f)) for i, f in enumerate(frames)], linktype, vlan=vlan)


class _Tally(Engine):
    """The real engine, telling how many packets the fast path took: counted by their
    connection's settled counter, or handed over from the IP layer on."""

    def __init__(self) -> None:
        super().__init__()
        self.counted = 0
        self.handed_over = 0

    def add_counted(self, packets: int, wirelen_total: int, first_ns: int, last_ns: int) -> None:
        self.counted += packets
        super().add_counted(packets, wirelen_total, first_ns, last_ns)

    def ipv4_packet(self, index: int, ts: int, wirelen: int, linktype: int, pkt: IPPacket, group: bool = False) -> None:
        self.handed_over += 1
        super().ipv4_packet(index, ts, wirelen, linktype, pkt, group)

    # The hand-overs of plain TCP segments and UDP datagrams straight to the engine's TCP and UDP steps.
    def tcp4(self, *args: Any) -> None:
        self.handed_over += 1
        super().tcp4(*args)

    def udp4(self, *args: Any) -> None:
        self.handed_over += 1
        super().udp4(*args)


def fast_taken(raw: bytes, chunk_size: int = CHUNK) -> tuple[int, int]:
    """(packets counted, packets handed over from the IP layer on) by the fast path on ``raw``:
    whether a kind of packet really stays on it (the tables alone would be right either way)."""
    reader = CaptureReader(io.BytesIO(raw), name="t", chunk_size=chunk_size)
    engine = _Tally()
    (run_pcap if reader.info.format == "pcap" else run_pcapng)(reader, engine)
    return engine.counted, engine.handed_over
