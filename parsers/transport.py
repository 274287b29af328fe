"""TCP, UDP, ICMP and ICMPv6 headers.

ICMP destination-unreachable messages quote the IP header and the first eight bytes of
the packet that failed; :func:`decode_icmp` returns that quoted 5-tuple so the analyzer
can pin the error on the flow it belongs to.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from parsers.errors import ParseError
from parsers.ip import PROTO_TCP, PROTO_UDP, decode_ipv4, decode_ipv6

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10

_TCP = struct.Struct("!HHIIBBH")
_UDP = struct.Struct("!HHH")
_PORTS = struct.Struct("!HH")


# One per packet: slotted but not frozen (a frozen dataclass's __init__ sets each field through
# object.__setattr__, several times the cost). Treated as read-only all the same.
@dataclass(slots=True)
class TCPSegment:
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes


@dataclass(slots=True)
class UDPDatagram:
    sport: int
    dport: int
    payload: bytes


@dataclass(slots=True)
class ICMPError:
    """An ICMP(v6) error about an earlier packet, with that packet's quoted 5-tuple."""

    version: int  # 4 for ICMP, 6 for ICMPv6
    type: int
    code: int
    unreachable: bool  # destination unreachable (vs. time exceeded, packet too big, ...)
    quoted_src: bytes
    quoted_dst: bytes
    quoted_proto: int
    quoted_sport: int
    quoted_dport: int


def decode_tcp(data: bytes) -> TCPSegment:
    if len(data) < 20:
        raise ParseError("TCP header cut short", "tcp")
    sport, dport, seq, ack, off_res, flags, window = _TCP.unpack_from(data, 0)
    hlen = (off_res >> 4) * 4
    if hlen < 20:
        raise ParseError(f"TCP data offset {hlen} < 20", "tcp")
    if hlen > len(data):
        raise ParseError("TCP options cut short", "tcp")
    return TCPSegment(sport, dport, seq, ack, flags, window, data[hlen:])


def decode_udp(data: bytes) -> UDPDatagram:
    if len(data) < 8:
        raise ParseError("UDP header cut short", "udp")
    sport, dport, length = _UDP.unpack_from(data, 0)
    if length >= 8 and length <= len(data):
        return UDPDatagram(sport, dport, data[8:length])
    if length != 0 and length < 8:
        raise ParseError(f"UDP length {length} < 8", "udp")
    # length 0 (jumbo / offload) or longer than captured (snap length): take what we have.
    return UDPDatagram(sport, dport, data[8:])


def decode_icmp(data: bytes, version: int) -> ICMPError | None:
    """Return the quoted flow of an ICMP error, or ``None`` for other ICMP messages."""
    if len(data) < 8:
        raise ParseError("ICMP header cut short", "icmp" if version == 4 else "icmpv6")
    itype, code = data[0], data[1]
    if version == 4:
        if itype not in (3, 11, 12):  # unreachable, time exceeded, parameter problem
            return None
        unreachable = itype == 3
    else:
        if itype not in (1, 2, 3, 4):  # unreachable, too big, time exceeded, parameter problem
            return None
        unreachable = itype == 1
    quoted = data[8:]
    layer = "icmp" if version == 4 else "icmpv6"
    try:
        inner = decode_ipv4(quoted) if version == 4 else decode_ipv6(quoted)
    except ParseError as exc:
        raise ParseError(f"quoted packet: {exc.reason}", layer) from exc
    sport = dport = 0
    if inner.proto in (PROTO_TCP, PROTO_UDP) and inner.frag_offset == 0:
        if len(inner.payload) < 4:
            raise ParseError("quoted transport header cut short", layer)
        sport, dport = _PORTS.unpack_from(inner.payload, 0)
    return ICMPError(version, itype, code, unreachable, inner.src, inner.dst, inner.proto, sport, dport)
