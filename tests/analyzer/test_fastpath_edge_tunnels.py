"""A UDP flow on a tunnel port (created by a datagram that was not a tunnel) swallows later tunnel
packets in the fast path; Engine.udp decodes them as tunnels before looking the flow up."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from tests.support.fastpath_cases import VLANS, diff, fast_taken, seq_pcap, tables

INNER = bytes(Ether() / IP(src="192.168.1.1", dst="192.168.1.2") / TCP(sport=1234, dport=80, flags="S"))
TEREDO = bytes(IPv6(src="2001::1", dst="2001::2") / TCP(sport=1234, dport=443, flags="S"))


def _u(dport: int, data: bytes) -> bytes:
    return bytes(Ether() / IP(src="10.0.0.5", dst="198.51.100.7") / UDP(sport=5000, dport=dport) / data)


CASES = {
    "vxlan": (_u(4789, b"\x00" * 8 + INNER), _u(4789, b"\x08\x00\x00\x00\x00\x00\x01\x00" + INNER)),
    "teredo": (_u(3544, b"x" * 60), _u(3544, TEREDO)),
    # Engine.udp tests every UDP payload of 40+ bytes for Teredo (tunnels.teredo_offset), on any port
    "teredo_on_any_port": (_u(7777, b"x" * 60), _u(7777, TEREDO)),
    "gtpu": (
        _u(2152, b"\x00" * 20),
        _u(2152, b"\x30\xff" + struct.pack("!H", len(INNER) - 14) + b"\0\0\0\1" + INNER[14:]),
    ),
}


@pytest.mark.parametrize("vlan", VLANS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_tunnel_after_non_tunnel_datagram(case: str, vlan: str) -> None:
    raw = seq_pcap(list(CASES[case]), vlan=vlan)
    assert diff(tables(raw, True), tables(raw, False)) == {}
    assert fast_taken(raw) == fast_taken(seq_pcap(list(CASES[case])))
