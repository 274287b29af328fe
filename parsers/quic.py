"""QUIC long-header packets: enough to recognise a QUIC Initial by content on any UDP port.

Decrypting the Initial to read its SNI is a later step; recognising QUIC already lets the
summary say "QUIC" instead of "UDP" for HTTP/3 egress.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from parsers.errors import ParseError

_U32 = struct.Struct("!I")
QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF


@dataclass(frozen=True, slots=True)
class LongHeader:
    version: int
    packet_type: int  # 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry (v1 numbering; v2 is mapped)
    dcid: bytes
    scid: bytes


def _known_version(version: int) -> bool:
    # v1, v2, the IETF drafts (0xff0000xx) and Google's Q0xx/T0xx on IETF framing.
    return version in (QUIC_V1, QUIC_V2) or (version >> 8) == 0xFF0000 or version >> 24 in (0x51, 0x54)


def parse_long_header(buf: bytes) -> LongHeader | None:
    """Return the long header, ``None`` if too short to tell, or raise if it is not QUIC."""
    if len(buf) < 7:
        return None
    first = buf[0]
    if first & 0xC0 != 0xC0:
        raise ParseError("not a QUIC long header (form/fixed bits)", "quic")
    version = _U32.unpack_from(buf, 1)[0]
    if not _known_version(version):
        raise ParseError(f"unknown QUIC version 0x{version:08x}", "quic")
    dlen = buf[5]
    if dlen > 20:
        raise ParseError(f"QUIC destination connection id of {dlen} bytes", "quic")
    if len(buf) < 7 + dlen:
        return None
    dcid = bytes(buf[6 : 6 + dlen])
    slen = buf[6 + dlen]
    if slen > 20:
        raise ParseError(f"QUIC source connection id of {slen} bytes", "quic")
    if len(buf) < 7 + dlen + slen:
        return None
    scid = bytes(buf[7 + dlen : 7 + dlen + slen])
    ptype = (first >> 4) & 0x03
    if version == QUIC_V2:  # v2 rotates the packet type codes (RFC 9369 section 3.2)
        ptype = {1: 0, 2: 1, 3: 2, 0: 3}[ptype]
    return LongHeader(version, ptype, dcid, scid)
