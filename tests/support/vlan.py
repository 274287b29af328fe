"""Tagged variants of captured frames: the VLAN tags a trunk port, a hypervisor bridge or a Linux
``-i any`` capture puts in front of the IP header (tests of the fast path's tagged reads)."""

from __future__ import annotations

import struct

from parsers.link import ETH_QINQ, ETH_QINQ_OLD, ETH_VLAN

UNTAGGED = "untagged"
# Tag stacks written into the frame's own link header (Ethernet, SLL or SLL2).
_STACKS = {"dot1q": (ETH_VLAN,), "qinq": (ETH_QINQ, ETH_VLAN), "qinq-9100": (ETH_QINQ_OLD, ETH_VLAN)}
# Ethernet frames rewritten as Linux cooked captures whose protocol field is an 802.1Q tag.
_COOKED = {"sll-dot1q": 113, "sll2-dot1q": 276}
VARIANTS = (*_STACKS, *_COOKED)
# Where each link header keeps its EtherType, and where the network layer starts.
_TYPE_AT = {1: 12, 113: 14, 276: 0}
_HEADER = {1: 14, 113: 16, 276: 20}
_U16 = struct.Struct("!H")


def _stack(linktype: int, frame: bytes, tpids: tuple[int, ...]) -> bytes:
    at, hlen = _TYPE_AT[linktype], _HEADER[linktype]
    if len(frame) < hlen:
        return frame
    inner = frame[at : at + 2]
    tags = b""
    for i in range(len(tpids)):  # priority 0, VLAN 100, 101 …, then the next tag's TPID or the inner type
        tags += _U16.pack(100 + i) + (_U16.pack(tpids[i + 1]) if i + 1 < len(tpids) else inner)
    return frame[:at] + _U16.pack(tpids[0]) + frame[at + 2 : hlen] + tags + frame[hlen:]


def _packet_type(frame: bytes) -> int:
    """What the kernel would say of an Ethernet destination: broadcast 1, multicast 2, this host 0."""
    return 1 if frame[:6] == b"\xff" * 6 else 2 if frame[0] & 1 else 0


def _cooked(linktype: int, frame: bytes) -> bytes:
    if len(frame) < 14:
        return frame
    kind, source, payload = frame[12:14], frame[6:12] + b"\x00\x00", frame[14:]
    if linktype == 113:  # packet type, ARPHRD_ETHER, address length, address, protocol
        return struct.pack("!HHH", _packet_type(frame), 1, 6) + source + kind + payload
    # SLL2: protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, address
    return kind + struct.pack("!HIHBB", 0, 2, 1, _packet_type(frame), 6) + source + payload


def tag(variant: str, linktype: int, frame: bytes) -> tuple[int, bytes]:
    """(link type, frame) of ``frame`` in ``variant``: tags added in its own link header (Ethernet,
    SLL, SLL2), or an Ethernet frame rewritten as SLL/SLL2 with one 802.1Q tag."""
    if variant == UNTAGGED or linktype not in _TYPE_AT:
        return linktype, frame
    if variant in _STACKS:
        return linktype, _stack(linktype, frame, _STACKS[variant])
    cooked = _COOKED[variant]
    if linktype != 1:
        raise ValueError(f"{variant} rewrites Ethernet frames, not link type {linktype}")
    return cooked, _stack(cooked, _cooked(cooked, frame), (ETH_VLAN,))


def tag_all(variant: str, frames: list[bytes], linktype: int = 1) -> tuple[int, list[bytes]]:
    """The link type and frames of a whole capture in ``variant``."""
    out = [tag(variant, linktype, f) for f in frames]
    return (out[0][0] if out else linktype), [f for _, f in out]


def grown(variant: str, linktype: int = 1) -> int:
    """How many bytes ``variant`` adds to a frame (its wire length grows by as much)."""
    probe = bytes(64)
    return len(tag(variant, linktype, probe)[1]) - len(probe)
