"""Encapsulations that Kubernetes nodes put on the wire: GRE, VXLAN (flannel, Calico) and Geneve (Cilium, OVN).

``tcpdump -i any`` on a node sees pod traffic inside these; the inner packet is the egress
we care about.  Each decoder returns where the inner packet starts.
"""

from __future__ import annotations

import struct

from parsers.errors import ParseError
from parsers.link import ETH_IPV4, ETH_IPV6, decode_ethernet

_U16 = struct.Struct("!H")
ETH_TEB = 0x6558  # transparent Ethernet bridging: an Ethernet frame follows
ETH_ERSPAN_II = 0x88BE
ETH_ERSPAN_III = 0x22EB


def decode_gre(data: bytes) -> tuple[int, int, bytes]:
    """Return ``(ethertype, offset, buffer)`` of the packet a GRE header carries."""
    if len(data) < 4:
        raise ParseError("GRE header cut short", "gre")
    flags, ptype = _U16.unpack_from(data, 0)[0], _U16.unpack_from(data, 2)[0]
    version = flags & 0x7
    off = 4
    if flags & 0x8000:  # checksum present (+ reserved)
        off += 4
    if flags & 0x2000:  # key present
        off += 4
    if flags & 0x1000:  # sequence number present
        off += 4
    if version == 1 and flags & 0x0080:  # enhanced GRE (PPTP) acknowledgment number
        off += 4
    if len(data) < off:
        raise ParseError("GRE options cut short", "gre")
    if ptype == ETH_ERSPAN_II:
        off += 8
        ptype = ETH_TEB
    elif ptype == ETH_ERSPAN_III:
        off += 12
        ptype = ETH_TEB
    if ptype == ETH_TEB:
        inner = data[off:]
        ethertype, ioff = decode_ethernet(inner)
        return ethertype, ioff, inner
    if ptype == 0x880B:  # PPP inside enhanced GRE
        if off + 2 <= len(data) and data[off] == 0xFF and data[off + 1] == 0x03:
            off += 2
        if off + 2 > len(data):
            raise ParseError("PPP in GRE cut short", "gre")
        proto = _U16.unpack_from(data, off)[0]
        return {0x0021: ETH_IPV4, 0x0057: ETH_IPV6}.get(proto, 0), off + 2, data
    return ptype, off, data


def decode_vxlan(data: bytes) -> bytes:
    """Return the Ethernet frame inside a VXLAN header."""
    if len(data) < 8:
        raise ParseError("VXLAN header cut short", "vxlan")
    return data[8:]


def decode_geneve(data: bytes) -> tuple[int, int, bytes]:
    if len(data) < 8:
        raise ParseError("Geneve header cut short", "geneve")
    opt_len = (data[0] & 0x3F) * 4
    ptype = _U16.unpack_from(data, 2)[0]
    off = 8 + opt_len
    if len(data) < off:
        raise ParseError("Geneve options cut short", "geneve")
    if ptype == ETH_TEB:
        inner = data[off:]
        ethertype, ioff = decode_ethernet(inner)
        return ethertype, ioff, inner
    return ptype, off, data


def decode_gtpu(data: bytes) -> int:
    """Offset of the user packet inside a GTPv1-U G-PDU (mobile core captures)."""
    if len(data) < 8:
        raise ParseError("GTP-U header cut short", "gtp")
    flags, msg_type = data[0], data[1]
    if flags >> 5 != 1 or msg_type != 0xFF:
        raise ParseError(f"not a GTPv1-U G-PDU (flags 0x{flags:02x}, type {msg_type})", "gtp")
    off = 8
    if flags & 0x07:  # sequence, N-PDU or extension flag: 4 more bytes
        off = 12
        next_ext = data[11] if len(data) >= 12 else 0
        while next_ext:
            if off >= len(data):
                raise ParseError("GTP-U extension header cut short", "gtp")
            ext_len = data[off] * 4
            if ext_len == 0:
                raise ParseError("GTP-U extension header of length 0", "gtp")
            next_ext = data[off + ext_len - 1] if off + ext_len <= len(data) else 0
            off += ext_len
    if off > len(data):
        raise ParseError("GTP-U header cut short", "gtp")
    return off


def decode_l2tp(data: bytes) -> tuple[int, int] | None:
    """``(ethertype, offset)`` of the PPP payload of an L2TPv2 data message; None for control messages."""
    if len(data) < 6:
        raise ParseError("L2TP header cut short", "l2tp")
    flags = _U16.unpack_from(data, 0)[0]
    if flags & 0x000F != 2:
        raise ParseError(f"L2TP version {flags & 0xF}", "l2tp")
    if flags & 0x8000:
        return None  # control message
    off = 2
    if flags & 0x4000:  # length present
        off += 2
    off += 4  # tunnel id, session id
    if flags & 0x0800:  # Ns, Nr present
        off += 4
    if flags & 0x0200:  # offset size present
        if off + 2 > len(data):
            raise ParseError("L2TP offset cut short", "l2tp")
        off += 2 + _U16.unpack_from(data, off)[0]
    if off + 2 <= len(data) and data[off] == 0xFF and data[off + 1] == 0x03:
        off += 2
    if off + 2 > len(data):
        raise ParseError("PPP in L2TP cut short", "l2tp")
    proto = _U16.unpack_from(data, off)[0]
    return {0x0021: ETH_IPV4, 0x0057: ETH_IPV6}.get(proto, 0), off + 2


# The octets a Teredo datagram can start with: 00 for an authentication (00 01) or origin (00 00)
# indicator, 6x for the IPv6 header's version nibble.  A caller may test the first octet against
# these before calling teredo_offset, which has to look at any UDP datagram (a DNS message's first
# octet is its random ID's: 17 in 256 pass).
TEREDO_FIRST_OCTETS = frozenset((0x00, *range(0x60, 0x70)))


def teredo_offset(data: bytes) -> int | None:
    """Where an IPv6 packet starts inside a Teredo (RFC 4380) datagram, if it is one.

    Teredo has no magic number and runs on any port, so the test is structural: optional
    authentication and origin indicators, then an IPv6 header whose payload length fits.
    """
    off = 0
    if len(data) >= 4 and data[0] == 0 and data[1] == 1:  # authentication indicator
        off = 4 + data[2] + data[3] + 9
    if len(data) >= off + 8 and data[off] == 0 and data[off + 1] == 0:  # origin indication
        off += 8
    if len(data) < off + 40 or data[off] >> 4 != 6:
        return None
    plen = _U16.unpack_from(data, off + 4)[0]
    if off + 40 + plen != len(data) or data[off + 6] not in (0, 6, 17, 43, 44, 58, 59, 60):
        return None
    return off
