"""Eviction runs on a different schedule in the fast path: it counts its own packets
(fastpath.py `packets & EVICT_MASK`) while Engine.frame/ipv4_packet test stats.packets, which
leaves out every packet the fast path counted.  A closed flow is finished after 30 s linger
in the full run (at packet 16384) but never in the fast run, so a late packet of its tuple
starts a new flow in one and not the other."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from tests.support.fastpath_cases import VLANS, diff, fast_taken, pcap, tables

S = 1_000_000
T0 = 1_700_000_000 * S


def _p(src, dst, sport, dport, flags, seq=1, ack=1):
    return bytes(Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack))


@pytest.mark.parametrize("vlan", VLANS)
def test_closed_flow_eviction_matches(vlan: str) -> None:
    c, s = "10.0.0.5", "203.0.113.9"
    fr = []
    closed = [
        _p(c, s, 40000, 9000, "S", 100, 0),
        _p(s, c, 9000, 40000, "SA", 500, 101),
        _p(c, s, 40000, 9000, "A", 101, 501),
        _p(c, s, 40000, 9000, "FA", 101, 501),
        _p(s, c, 9000, 40000, "FA", 501, 102),
        _p(c, s, 40000, 9000, "A", 102, 502),
    ]
    fr += [(T0 + i, f) for i, f in enumerate(closed)]
    busy = [
        _p(c, s, 41000, 9001, "S", 100, 0),
        _p(s, c, 9001, 41000, "SA", 500, 101),
        _p(c, s, 41000, 9001, "A", 101, 501),
    ]
    fr += [(T0 + 100 + i, f) for i, f in enumerate(busy)]
    ack = busy[2]
    n = 16384 - len(fr) + 5  # the whole capture just passes one EVICT_EVERY; the fast path's own count does not
    fr += [(T0 + 1000 + i * (60 * S // n), ack) for i in range(n)]
    fr.append((T0 + 61 * S, _p(c, s, 40000, 9000, "A", 102, 502)))
    raw = pcap([(t, f, len(f)) for t, f in fr], vlan=vlan)
    fast, full = tables(raw, True), tables(raw, False)
    assert len(fast["flows"]) == len(full["flows"])  # fast 2, full 3
    assert diff(fast, full) == {}
    assert fast_taken(raw) == fast_taken(pcap([(t, f, len(f)) for t, f in fr]))
