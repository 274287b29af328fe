"""Link-layer decoders: find where the IP packet starts inside a captured frame.

``decode_link(linktype, data)`` returns ``(ethertype, offset)``: the EtherType of the
network-layer payload (0x0800 IPv4, 0x86DD IPv6, anything else is not ours) and the byte
offset where it starts.  Raises :class:`ParseError` when the link header itself is cut or
malformed, or when the link type is one we do not decode.
"""

from __future__ import annotations

import struct

from parsers.errors import ParseError

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_QINQ_OLD = 0x9100
ETH_MPLS = 0x8847
ETH_MPLS_MC = 0x8848
ETH_PPPOE = 0x8864

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_RAW_12 = 12  # DLT_RAW as most BSDs number it in old files
LINKTYPE_RAW_14 = 14  # DLT_RAW on OpenBSD
LINKTYPE_PPP_HDLC = 50
LINKTYPE_RAW = 101
LINKTYPE_C_HDLC = 104
LINKTYPE_IEEE802_11 = 105
LINKTYPE_LOOP = 108
LINKTYPE_IEEE802_11_RADIOTAP = 127
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_NFLOG = 239
LINKTYPE_PKTAP = 258
LINKTYPE_LINUX_SLL2 = 276

LINK_NAMES = {
    LINKTYPE_NULL: "null",
    LINKTYPE_ETHERNET: "ether",
    LINKTYPE_PPP: "ppp",
    LINKTYPE_RAW_12: "rawip",
    LINKTYPE_RAW_14: "rawip",
    LINKTYPE_PPP_HDLC: "ppp-hdlc",
    LINKTYPE_RAW: "rawip",
    LINKTYPE_C_HDLC: "chdlc",
    LINKTYPE_LOOP: "loop",
    LINKTYPE_LINUX_SLL: "linux-sll",
    LINKTYPE_IPV4: "rawip4",
    LINKTYPE_IPV6: "rawip6",
    LINKTYPE_NFLOG: "nflog",
    LINKTYPE_LINUX_SLL2: "linux-sll2",
    LINKTYPE_PKTAP: "pktap",
    LINKTYPE_IEEE802_11: "ieee-802-11",
    LINKTYPE_IEEE802_11_RADIOTAP: "ieee-802-11-radiotap",
}
SUPPORTED_LINKTYPES = frozenset(LINK_NAMES)

_U16 = struct.Struct("!H")
_TLV = struct.Struct("<HH")
_U32LE = struct.Struct("<I")
_U32BE = struct.Struct("!I")
_PKTAP = struct.Struct("<III")
_U16LE = struct.Struct("<H")

# BSD loopback address families: AF_INET is 2 everywhere; AF_INET6 differs per OS
# (Linux 10, FreeBSD 28, macOS/Darwin 30, NetBSD/OpenBSD 24).
_AF_INET6 = frozenset((10, 24, 28, 30))
_PPP_TO_ETHER = {0x0021: ETH_IPV4, 0x0057: ETH_IPV6}


def _ip_by_version(data: bytes, off: int) -> int:
    """Raw-IP link types carry no type field: the IP version nibble decides."""
    if off >= len(data):
        raise ParseError("no IP header after link header", "link")
    version = data[off] >> 4
    if version == 4:
        return ETH_IPV4
    if version == 6:
        return ETH_IPV6
    raise ParseError(f"raw IP frame with IP version {version}", "link")


def _ethertype_chain(data: bytes, off: int, ethertype: int) -> tuple[int, int]:
    """Walk VLAN/QinQ tags, MPLS labels and PPPoE sessions down to the network layer."""
    for _ in range(16):  # bounded: a frame with more stacked tags than this is garbage
        if ethertype in (ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD):
            if off + 4 > len(data):
                raise ParseError("VLAN tag cut short", "link")
            ethertype = _U16.unpack_from(data, off + 2)[0]
            off += 4
        elif ethertype in (ETH_MPLS, ETH_MPLS_MC):
            while True:
                if off + 4 > len(data):
                    raise ParseError("MPLS label cut short", "link")
                bottom = data[off + 2] & 1
                off += 4
                if bottom:
                    break
            return _ip_by_version(data, off), off
        elif ethertype == ETH_PPPOE:
            if off + 8 > len(data):
                raise ParseError("PPPoE header cut short", "link")
            ppp = _U16.unpack_from(data, off + 6)[0]
            return _PPP_TO_ETHER.get(ppp, 0), off + 8
        else:
            return ethertype, off
    raise ParseError("too many stacked VLAN/MPLS headers", "link")


def decode_ethernet(data: bytes, off: int = 0) -> tuple[int, int]:
    if off + 14 > len(data):
        raise ParseError("Ethernet header cut short", "link")
    ethertype = _U16.unpack_from(data, off + 12)[0]
    if ethertype <= 1500:  # 802.3 length field: LLC/SNAP frames are never IP egress for us
        return 0, off + 14
    return _ethertype_chain(data, off + 14, ethertype)


def _decode_nflog(data: bytes) -> tuple[int, int]:
    # NFLOG: 4-byte header (family, version, resource id) then TLVs whose length and type are
    # in the *capturing host's* byte order (little-endian on every host that matters).
    if len(data) < 4:
        raise ParseError("NFLOG header cut short", "link")
    family = data[0]
    off = 4
    while off + 4 <= len(data):
        tlv_len, tlv_type = _TLV.unpack_from(data, off)
        if tlv_len < 4:
            raise ParseError(f"NFLOG TLV with length {tlv_len}", "link")
        if (tlv_type & 0x7FFF) == 9:  # NFULA_PAYLOAD
            start = off + 4
            if family == 2:
                return ETH_IPV4, start
            if family == 10:
                return ETH_IPV6, start
            return _ip_by_version(data, start), start
        off += (tlv_len + 3) & ~3
    return 0, len(data)  # no payload TLV: a log entry without the packet


def _decode_null(data: bytes) -> tuple[int, int]:
    if len(data) < 4:
        raise ParseError("loopback header cut short", "link")
    # The family is in the writer's host byte order, which the file does not record.
    family = _U32LE.unpack_from(data, 0)[0]
    if family > 0xFFFF:
        family = _U32BE.unpack_from(data, 0)[0]
    if family == 2:
        return ETH_IPV4, 4
    if family in _AF_INET6:
        return ETH_IPV6, 4
    return 0, 4


def _decode_80211(data: bytes, off: int) -> tuple[int, int]:
    """802.11 data frames carry LLC/SNAP with an EtherType; management and control frames carry no IP."""
    if off + 24 > len(data):
        raise ParseError("802.11 header cut short", "link")
    fc0, fc1 = data[off], data[off + 1]
    if (fc0 >> 2) & 0x3 != 2 or fc0 & 0x40:  # not a data frame, or a null-data subtype
        return 0, len(data)
    if fc1 & 0x40:  # protected: the payload is encrypted
        return 0, len(data)
    hlen = 24
    if fc1 & 0x03 == 0x03:  # ToDS and FromDS: a fourth address
        hlen += 6
    if fc0 & 0x80:  # QoS data: QoS control field
        hlen += 2
        if fc1 & 0x80:  # +HTC/order
            hlen += 4
    pos = off + hlen
    if pos + 8 > len(data):
        raise ParseError("802.11 LLC header cut short", "link")
    if data[pos : pos + 3] != b"\xaa\xaa\x03":
        return 0, len(data)
    return _ethertype_chain(data, pos + 8, _U16.unpack_from(data, pos + 6)[0])


def _decode_ppp(data: bytes, off: int = 0) -> tuple[int, int]:
    if off + 2 <= len(data) and data[off] == 0xFF and data[off + 1] == 0x03:
        off += 2  # HDLC-like framing: address 0xff, control 0x03
    if off + 1 > len(data):
        raise ParseError("PPP header cut short", "link")
    if data[off] & 1:  # protocol field compressed to one byte
        return _PPP_TO_ETHER.get(data[off], 0), off + 1
    if off + 2 > len(data):
        raise ParseError("PPP header cut short", "link")
    return _PPP_TO_ETHER.get(_U16.unpack_from(data, off)[0], 0), off + 2


# Linux cooked capture packet types (the kernel's PACKET_BROADCAST and PACKET_MULTICAST): what the
# receiving host saw; an outgoing packet is PACKET_OUTGOING (4) whatever its destination.
_SLL_GROUP_TYPES = (1, 2)


def link_group(linktype: int, data: bytes, off: int = 0) -> bool:
    """Whether the frame at ``off`` went to a link-layer broadcast or multicast address: the group
    bit of an Ethernet destination (ff:ff:ff:ff:ff:ff included), or an SLL/SLL2 packet type of
    broadcast or multicast.  Other link types carry no destination: False."""
    if linktype == LINKTYPE_ETHERNET:
        return off < len(data) and bool(data[off] & 1)
    if linktype == LINKTYPE_LINUX_SLL:
        return off + 2 <= len(data) and data[off] == 0 and data[off + 1] in _SLL_GROUP_TYPES
    if linktype == LINKTYPE_LINUX_SLL2:
        return off + 11 <= len(data) and data[off + 10] in _SLL_GROUP_TYPES
    return False


def decode_link(linktype: int, data: bytes) -> tuple[int, int]:
    """Return ``(ethertype, offset)`` of the network-layer packet inside ``data``."""
    if linktype == LINKTYPE_ETHERNET:
        return decode_ethernet(data)
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            raise ParseError("Linux SLL2 header cut short", "link")
        return _ethertype_chain(data, 20, _U16.unpack_from(data, 0)[0])
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            raise ParseError("Linux SLL header cut short", "link")
        return _ethertype_chain(data, 16, _U16.unpack_from(data, 14)[0])
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_12, LINKTYPE_RAW_14):
        return _ip_by_version(data, 0), 0
    if linktype == LINKTYPE_IPV4:
        return ETH_IPV4, 0
    if linktype == LINKTYPE_IPV6:
        return ETH_IPV6, 0
    if linktype == LINKTYPE_NULL:
        return _decode_null(data)
    if linktype == LINKTYPE_LOOP:
        if len(data) < 4:
            raise ParseError("loopback header cut short", "link")
        family = _U32BE.unpack_from(data, 0)[0]
        return (ETH_IPV4 if family == 2 else ETH_IPV6 if family in _AF_INET6 else 0), 4
    if linktype == LINKTYPE_NFLOG:
        return _decode_nflog(data)
    if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC):
        return _decode_ppp(data)
    if linktype == LINKTYPE_C_HDLC:
        if len(data) < 4:
            raise ParseError("Cisco HDLC header cut short", "link")
        return _ethertype_chain(data, 4, _U16.unpack_from(data, 2)[0])
    if linktype == LINKTYPE_IEEE802_11:
        return _decode_80211(data, 0)
    if linktype == LINKTYPE_IEEE802_11_RADIOTAP:
        if len(data) < 4:
            raise ParseError("radiotap header cut short", "link")
        rt_len = _U16LE.unpack_from(data, 2)[0]
        if rt_len < 8 or rt_len > len(data):
            raise ParseError(f"radiotap header length {rt_len}", "link")
        return _decode_80211(data, rt_len)
    if linktype == LINKTYPE_PKTAP:
        # Apple's PKTAP (macOS `tcpdump -i pktap`): a little-endian header whose length and
        # inner link type come first; the inner frame follows.
        if len(data) < 12:
            raise ParseError("PKTAP header cut short", "link")
        hlen, _next, inner = _PKTAP.unpack_from(data, 0)
        if hlen < 12 or hlen > len(data) or inner == LINKTYPE_PKTAP:
            raise ParseError(f"PKTAP header length {hlen}", "link")
        ethertype, off = decode_link(inner, data[hlen:])
        return ethertype, hlen + off
    raise ParseError(f"unsupported link type {linktype}", "link")
