"""Link headers the fast path reads less strictly than parsers.link.decode_link."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP

from fixtures.builders.packets import established
from tests.support.fastpath_cases import diff, seq_pcap, tables

T0 = 1_700_000_000_000_000
LAST = bytes(
    IP(src="203.0.113.9", dst="10.0.0.5") / TCP(sport=9000, dport=40000, flags="A", seq=515, ack=125) / (b"y" * 100)
)


def test_null_loopback_family_with_high_bytes() -> None:
    # decode_null reads a 32-bit family (02 00 01 00 -> 0x00010002 > 0xffff -> big-endian -> not IP);
    # _slow_lookup reads only the low 16 bits (2 -> IPv4) and counts it into the flow.
    frames = [b"\x02\x00\x00\x00" + f for f in established(link="ip")] + [b"\x02\x00\x01\x00" + LAST]
    raw = seq_pcap(frames, linktype=0)
    assert diff(tables(raw, True), tables(raw, False)) == {}


def test_pcapng_ipv6_only_interface_carrying_ipv4() -> None:
    # LINKTYPE_IPV6 (229) always decodes as IPv6 (version 4 is a parse error); _LINK maps it to
    # _RAW, which trusts the version nibble and counts the packet into the IPv4 flow.
    from fixtures.builders.pcapng import epb, idb, shb

    out = shb("<") + idb("<", 1) + idb("<", 229)
    for i, f in enumerate(established()):
        out += epb("<", 0, T0 + i * 1000, f, len(f))
    out += epb("<", 1, T0 + 9000, LAST, len(LAST))
    assert diff(tables(out, True), tables(out, False)) == {}
