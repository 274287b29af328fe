"""A capture with no whole packet record: the constructor's read already warned, and the raw walk
reads the same bytes again (raw_chunks yields them) and warns a second time."""

from __future__ import annotations

import struct

import pytest

from fixtures.builders.packets import established
from tests.support.fastpath_cases import VLANS, diff, seq_pcap, tables
from tests.support.vlan import tag

T0 = 1_700_000_000_000_000


def _ng(vlan: str) -> tuple[bytes, bytes]:
    from fixtures.builders.pcapng import epb, idb, shb

    linktype, f = tag(vlan, 1, established()[0])
    return shb("<") + idb("<", linktype), epb("<", 0, T0, f, len(f))


def _cases(vlan: str) -> list[bytes]:
    pcap = seq_pcap(established(), vlan=vlan)
    return [
        pcap[: 24 + 16 + 10],  # first record cut
        pcap[: 24 + 10],  # first record header cut
        pcap[:32] + struct.pack("<I", (1 << 24) + 1) + pcap[36:],  # first record corrupt caplen
        _ng(vlan)[0] + _ng(vlan)[1][:-8],  # first EPB cut
        _ng(vlan)[0] + struct.pack("<II", 5, 13) + b"\0" * 20,  # invalid block length before any packet
    ]


@pytest.mark.parametrize("vlan", VLANS)
@pytest.mark.parametrize(
    "case",
    range(5),
    ids=["pcap-cut", "pcap-header-cut", "pcap-corrupt", "pcapng-cut", "pcapng-invalid-length"],
)
def test_single_warning(case: int, vlan: str) -> None:
    raw = _cases(vlan)[case]
    assert diff(tables(raw, True), tables(raw, False)) == {}
