"""Broadcast and multicast are never egress: noise of kind ``broadcast``, by IP address (multicast,
255.255.255.255) or by the link layer (a subnet broadcast such as 10.0.0.255 looks like any host)."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Ether
from scapy.packet import Packet

from analyzer.noise import NOISE_KINDS, is_group_address, is_private_address
from analyzer.options import Options
from parsers.link import link_group
from tests.support.engine_cases import BULK, both_paths, rows

HOST = "203.0.113.5"  # documentation addresses, so the private kind cannot be what catches them
SUBNET_BROADCAST = "203.0.113.255"
NBNS_QUERY = (
    bytes.fromhex("8a1b01100001000000000000") + b"\x20" + b"EOEBFACACACACACACACACACACACACAAA" + b"\x00\x00\x20\x00\x01"
)


def _udp(
    ip: Packet, sport: int, dport: int, n: int = 1, link: str = "eth", mac: str = "ff:ff:ff:ff:ff:ff"
) -> list[bytes]:
    pkt = ip / UDP(sport=sport, dport=dport) / NBNS_QUERY
    if link == "eth":
        frame: Packet = Ether(dst=mac) / pkt
    elif link.startswith("sll2-"):
        frame = CookedLinuxV2(pkttype=int(link[5:])) / pkt
    else:
        frame = CookedLinux(pkttype=int(link[4:])) / pkt
    return [bytes(frame)] * n


_LINKTYPE = {"eth": 1, "sll": 113, "sll2": 276}

# (case, frames, linktype): each goes to a group, by its address or its link header.
GROUP_CASES = {
    "nbns-subnet-broadcast": (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137), 1),
    "nbns-subnet-broadcast-bulk": (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, BULK), 1),
    "ethernet-group-bit": (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 40000, 17500, 3, mac="01:00:5e:00:00:01"), 1),
    "sll-broadcast": (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, 2, link="sll-1"), 113),
    "sll-multicast": (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, 2, link="sll-2"), 113),
    "sll2-broadcast": (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, 2, link="sll2-1"), 276),
    "sll2-multicast": (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, 2, link="sll2-2"), 276),
    # By address alone, whatever the link header says (an outgoing SLL packet carries no destination).
    "limited-broadcast-dhcp": (_udp(IP(src="0.0.0.0", dst="255.255.255.255"), 68, 67, link="sll-4"), 113),
    "ssdp-ipv4-multicast": (_udp(IP(src=HOST, dst="239.255.255.250"), 40000, 1900, BULK, mac="00:11:22:33:44:55"), 1),
    "mcast-test-net": (_udp(IP(src=HOST, dst="233.252.0.1"), 40000, 5000, mac="00:11:22:33:44:55"), 1),
    "ipv6-multicast": (_udp(IPv6(src="2001:db8::5", dst="ff05::c"), 40000, 1900, 2, mac="33:33:00:00:00:0c"), 1),
    "dhcpv6-multicast": (_udp(IPv6(src="fe80::5", dst="ff02::1:2"), 546, 547, link="sll-4"), 113),
}


@pytest.mark.parametrize("case", sorted(GROUP_CASES))
def test_broadcast_and_multicast_are_noise_not_deny(case: str) -> None:
    frames, linktype = GROUP_CASES[case]
    report = both_paths(frames, linktype)
    (row,) = rows(report)
    assert row["noise"] == "broadcast", row
    assert report.blocked() == []
    kept = both_paths(frames, linktype, Options(include_noise=frozenset({"broadcast"})))
    (row,) = rows(kept)
    assert (row["noise"], row["action"]) == (None, "Deny")
    assert len(kept.blocked()) == 1


@pytest.mark.parametrize(
    ("frames", "linktype"),
    [
        (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, BULK, mac="00:11:22:33:44:55"), 1),  # unicast MAC
        (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, link="sll-0"), 113),  # SLL: to us
        (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, link="sll-4"), 113),  # SLL: outgoing
        (_udp(IP(src=HOST, dst=SUBNET_BROADCAST), 137, 137, link="sll2-0"), 276),
        # An anonymised capture with 33:33 MACs on unicast IPv6: no IPv6 broadcast exists.
        (_udp(IPv6(src="2001:db8::5", dst="2001:db8:1::80"), 40000, 443, mac="33:33:5a:99:ca:db"), 1),
    ],
    ids=["unicast-mac", "sll-host", "sll-outgoing", "sll2-host", "ipv6-unicast-behind-33-33"],
)
def test_unicast_stays_egress(frames: list[bytes], linktype: int) -> None:
    report = both_paths(frames, linktype)
    (row,) = rows(report)
    assert (row["noise"], row["action"]) == (None, "Deny")


def test_an_answered_flow_behind_a_group_mac_is_unicast() -> None:
    """A broadcast address never answers from itself: an answer means the MAC was odd, not the flow."""
    ask = _udp(IP(src=HOST, dst="198.51.100.7"), 40000, 123, 2)
    answer = bytes(Ether() / IP(src="198.51.100.7", dst=HOST) / UDP(sport=123, dport=40000) / (b"\x24" + bytes(47)))
    report = both_paths([*ask, answer])
    (row,) = rows(report)
    assert (row["noise"], row["verdict"]) == (None, "ok")


def test_multicast_moved_from_private_to_broadcast() -> None:
    assert "broadcast" in NOISE_KINDS
    for addr in ("224.0.0.251", "239.255.255.250", "255.255.255.255", "ff02::1", "ff05::c"):
        assert is_group_address(addr) and not is_private_address(addr), addr
    for addr in ("10.0.0.255", "203.0.113.255", "2001:db8::1", "8.8.8.8", "not an address"):
        assert not is_group_address(addr), addr


def test_link_group_reads_each_link_header() -> None:
    assert link_group(1, bytes(Ether(dst="ff:ff:ff:ff:ff:ff")))
    assert link_group(1, bytes(Ether(dst="01:00:5e:7f:ff:fa")))
    assert not link_group(1, bytes(Ether(dst="00:00:5e:7f:ff:fa")))
    assert link_group(1, b"\x00" * 4 + bytes(Ether(dst="33:33:00:00:00:01")), 4)
    for pkttype, group in ((0, False), (1, True), (2, True), (3, False), (4, False)):
        assert link_group(113, bytes(CookedLinux(pkttype=pkttype))) is group
        assert link_group(276, bytes(CookedLinuxV2(pkttype=pkttype))) is group
    assert not link_group(101, bytes(IP(dst="255.255.255.255")))  # raw IP: no link destination
    assert not link_group(1, b"") and not link_group(113, b"\x00") and not link_group(276, b"\x00" * 10)
