"""A capture with no whole packet record: the constructor's read already warned, and the raw walk
reads the same bytes again (raw_chunks yields them) and warns a second time."""

from __future__ import annotations

import struct

import pytest

from fixtures.builders.packets import established
from tests.support.fastpath_cases import diff, seq_pcap, tables

T0 = 1_700_000_000_000_000
PCAP = seq_pcap(established())


def _ng() -> tuple[bytes, bytes]:
    from fixtures.builders.pcapng import epb, idb, shb

    f = established()[0]
    return shb("<") + idb("<", 1), epb("<", 0, T0, f, len(f))


@pytest.mark.parametrize(
    "raw",
    [
        PCAP[: 24 + 16 + 10],  # first record cut
        PCAP[: 24 + 10],  # first record header cut
        PCAP[:32] + struct.pack("<I", (1 << 24) + 1) + PCAP[36:],  # first record corrupt caplen
        _ng()[0] + _ng()[1][:-8],  # first EPB cut
        _ng()[0] + struct.pack("<II", 5, 13) + b"\0" * 20,  # invalid block length before any packet
    ],
    ids=["pcap-cut", "pcap-header-cut", "pcap-corrupt", "pcapng-cut", "pcapng-invalid-length"],
)
def test_single_warning(raw: bytes) -> None:
    assert diff(tables(raw, True), tables(raw, False)) == {}
