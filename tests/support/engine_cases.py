"""Small hand-built captures run through both packet paths: the fast path (pcap and pcapng) must give
the full decoder's answer before a test looks at that answer."""

from __future__ import annotations

import io
from typing import Any

from analyzer.api import analyze
from analyzer.options import Options
from analyzer.report import Report
from fixtures.builders.pcapng import epb, idb, shb
from tests.support.fastpath_cases import diff, fast_taken, seq_pcap, tables
from tests.support.vlan import VARIANTS, tag_all

T0_US = 1_700_000_000_000_000
# Enough packets of a settled connection that the fast path counts most of them itself.
BULK = 40


def pcapng_bytes(frames: list[bytes], linktype: int = 1, step_us: int = 1000) -> bytes:
    out = shb("<") + idb("<", linktype)
    for i, f in enumerate(frames):
        out += epb("<", 0, T0_US + i * step_us, f, len(f))
    return out


def both_paths(frames: list[bytes], linktype: int = 1, options: Options | None = None) -> Report:
    """The reviewed report of ``frames``, after checking that the fast path agrees with the full
    decoder on them, written as pcap and as pcapng, and (Ethernet frames) behind VLAN tags in every
    variant of tests.support.vlan, where the fast path must take as many packets as untagged."""
    raw = seq_pcap(frames, linktype=linktype)
    ng = pcapng_bytes(frames, linktype)
    for data in (raw, ng):
        fast, full = tables(data, True), tables(data, False)
        assert "exception" not in full, full.get("tb")
        assert diff(fast, full) == {}
    if linktype == 1:
        taken = fast_taken(raw)
        for variant in VARIANTS:
            tagged_link, tagged = tag_all(variant, frames)
            for data in (seq_pcap(tagged, linktype=tagged_link), pcapng_bytes(tagged, tagged_link)):
                fast, full = tables(data, True), tables(data, False)
                assert "exception" not in full, full.get("tb")
                assert diff(fast, full) == {}, variant
                assert fast_taken(data) == taken, variant
    return analyze(io.BytesIO(raw), options=options, name="t.pcap")


def rows(report: Report) -> list[dict[str, Any]]:
    return list(report.summary.rows)
