"""SOCKS4/4a and SOCKS5 (RFC 1928/1929) handshakes: the target a client asked its proxy for.

The client side is parsed alone (greeting, optional username/password, request); the
server side gives the proxy's answer.  Both return ``None`` until complete.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from parsers.errors import ParseError
from parsers.text import escape_name

_U16 = struct.Struct("!H")


@dataclass(frozen=True, slots=True)
class SocksRequest:
    version: int  # 4 or 5
    command: int  # 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE
    host: str  # a domain name or an address literal
    port: int
    length: int  # client bytes up to the end of the request; the tunnel starts after them


@dataclass(frozen=True, slots=True)
class SocksReply:
    version: int
    granted: bool
    code: int
    length: int


def looks_like_socks(buf: bytes | bytearray) -> bool:
    if not buf:
        return True
    if buf[0] == 5:
        return len(buf) < 2 or 1 <= buf[1] <= 16
    if buf[0] == 4:
        return len(buf) < 2 or buf[1] in (1, 2)
    return False


def parse_request(buf: bytes | bytearray) -> SocksRequest | None:
    if not buf:
        return None
    if buf[0] == 4:
        return _socks4(buf)
    if buf[0] != 5:
        raise ParseError(f"SOCKS version {buf[0]}", "socks")
    if len(buf) < 2:
        return None
    pos = 2 + buf[1]  # greeting: version, n methods, methods
    if len(buf) < pos + 1:
        return None
    if buf[pos] == 1:  # RFC 1929 username/password sub-negotiation
        if len(buf) < pos + 2:
            return None
        pos += 2 + buf[pos + 1]
        if len(buf) < pos + 1:
            return None
        pos += 1 + buf[pos]
        if len(buf) < pos + 1:
            return None
    if buf[pos] != 5:
        raise ParseError(f"SOCKS5 request with version {buf[pos]}", "socks")
    if len(buf) < pos + 5:
        return None
    command, atyp = buf[pos + 1], buf[pos + 3]
    pos += 4
    if atyp == 1:
        end = pos + 4
        host = socket.inet_ntop(socket.AF_INET, bytes(buf[pos:end])) if len(buf) >= end else ""
    elif atyp == 4:
        end = pos + 16
        host = socket.inet_ntop(socket.AF_INET6, bytes(buf[pos:end])) if len(buf) >= end else ""
    elif atyp == 3:
        end = pos + 1 + buf[pos]
        host = escape_name(bytes(buf[pos + 1 : end]))
    else:
        raise ParseError(f"SOCKS5 address type {atyp}", "socks")
    if len(buf) < end + 2:
        return None
    return SocksRequest(5, command, host, _U16.unpack_from(buf, end)[0], end + 2)


def _socks4(buf: bytes | bytearray) -> SocksRequest | None:
    if len(buf) < 9:
        return None
    command = buf[1]
    port = _U16.unpack_from(buf, 2)[0]
    ip = bytes(buf[4:8])
    nul = buf.find(b"\x00", 8, 8 + 256)
    if nul == -1:
        if len(buf) > 8 + 256:
            raise ParseError("SOCKS4 user id too long", "socks")
        return None
    end = nul + 1
    if ip[:3] == b"\x00\x00\x00" and ip[3]:  # SOCKS4a: the domain follows the user id
        nul2 = buf.find(b"\x00", end, end + 256)
        if nul2 == -1:
            if len(buf) > end + 256:
                raise ParseError("SOCKS4a domain too long", "socks")
            return None
        return SocksRequest(4, command, escape_name(bytes(buf[end:nul2])), port, nul2 + 1)
    return SocksRequest(4, command, socket.inet_ntop(socket.AF_INET, ip), port, end)


def parse_reply(buf: bytes | bytearray, version: int) -> SocksReply | None:
    """The proxy's answer; for SOCKS5 this skips method selection (and the auth status)."""
    if version == 4:
        if len(buf) < 8:
            return None
        return SocksReply(4, buf[1] == 0x5A, buf[1], 8)
    if len(buf) < 2:
        return None
    pos = 2
    if buf[1] == 0xFF:
        return SocksReply(5, False, 0xFF, 2)  # no acceptable authentication method
    if buf[1] == 2:  # username/password: a two-byte status follows
        if len(buf) < 4:
            return None
        if buf[3] != 0:
            return SocksReply(5, False, 0x100 | buf[3], 4)
        pos = 4
    if len(buf) < pos + 5:
        return None
    rep, atyp = buf[pos + 1], buf[pos + 3]
    size = {1: 4, 4: 16}.get(atyp, 1 + buf[pos + 4] if atyp == 3 else -1)
    if size < 0:
        raise ParseError(f"SOCKS5 reply address type {atyp}", "socks")
    end = pos + 4 + size + 2
    if len(buf) < end:
        return None
    return SocksReply(5, rep == 0, rep, end)
