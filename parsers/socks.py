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


# SOCKS5 authentication methods a client offers (RFC 1928 and IANA: 00-09; 80-FE private use).
_METHODS = frozenset((*range(0x0A), *range(0x80, 0xFF)))
_MAX_METHODS = 16  # clients offer a handful; a count beyond this is some other protocol's byte


def _printable(buf: bytes | bytearray, start: int, end: int) -> bool:
    """User ids, user names and domain names as clients send them: visible ASCII, no space."""
    return all(0x21 <= b <= 0x7E for b in buf[start:end])


def sniff_request(buf: bytes | bytearray) -> bool | None:
    """Whether a client's first bytes, on a port not known for SOCKS, are a SOCKS handshake.

    True: a whole SOCKS4/4a request, or a SOCKS5 greeting (with its RFC 1929 login when offered)
    and request, ending exactly where the bytes end: a SOCKS client waits for the proxy's answer
    after each message, so a request with more bytes behind it is some other protocol.  None:
    every byte so far fits and the handshake is not over (the greeting alone, a request cut by a
    segment): ask again with more.  False: not SOCKS.  Each field is held to what clients send
    (a known command and address type, a non-zero port, printable names, distinct auth methods),
    so a binary protocol whose first byte happens to be 4 or 5 fails within a few bytes.
    """
    n = len(buf)
    if not n or buf[0] not in (4, 5):
        return False
    return _sniff4(buf, n) if buf[0] == 4 else _sniff5(buf, n)


def _sniff4(buf: bytes | bytearray, n: int) -> bool | None:
    if n >= 2 and buf[1] not in (1, 2):  # CONNECT, BIND
        return False
    if n >= 4 and buf[2] == buf[3] == 0:  # port 0
        return False
    if n < 8:
        return None
    socks4a = buf[4] == buf[5] == buf[6] == 0
    if socks4a and buf[7] == 0:  # 0.0.0.0: no destination at all
        return False
    end = _sniff_string(buf, 8, n, allow_empty=True)  # the user id
    if socks4a and end:
        end = _sniff_string(buf, end, n, allow_empty=False)  # the domain name
    return None if end is None else end == n


def _sniff_string(buf: bytes | bytearray, start: int, n: int, *, allow_empty: bool) -> int | None:
    """A NUL-terminated printable string at ``start`` (at most 255 bytes): the offset after its NUL,
    None when it runs on to the end of the bytes so far, 0 when it cannot be one."""
    nul = buf.find(b"\x00", start, start + 256)
    if not _printable(buf, start, n if nul == -1 else nul):
        return 0
    if nul == -1:
        return None if n - start < 256 else 0
    if nul == start and not allow_empty:
        return 0
    return nul + 1


def _sniff5(buf: bytes | bytearray, n: int) -> bool | None:
    if n < 2:
        return None
    count = buf[1]
    if not 1 <= count <= _MAX_METHODS:
        return False
    methods = buf[2 : 2 + count]
    if any(m not in _METHODS for m in methods) or len(set(methods)) != len(methods):
        return False
    pos = 2 + count
    if n <= pos:
        return None  # the greeting, alone: the client waits for the proxy's choice of method
    if buf[pos] == 1:  # RFC 1929 login: version 1, user name, password
        if 2 not in methods:
            return False
        if n < pos + 2:
            return None
        ulen = buf[pos + 1]
        if not ulen:
            return False
        if not _printable(buf, pos + 2, min(n, pos + 2 + ulen)):
            return False
        pos += 2 + ulen
        if n <= pos:
            return None
        pos += 1 + buf[pos]  # the password: any bytes
        if n <= pos:
            return None  # the login, whole or not: the client waits for the proxy's verdict on it
    if buf[pos] != 5:
        return False
    if n >= pos + 2 and buf[pos + 1] not in (1, 2, 3):  # CONNECT, BIND, UDP ASSOCIATE
        return False
    if n >= pos + 3 and buf[pos + 2] != 0:  # reserved
        return False
    if n < pos + 5:
        return None
    atyp = buf[pos + 3]
    if atyp == 1:
        end = pos + 4 + 4
    elif atyp == 4:
        end = pos + 4 + 16
    elif atyp == 3:
        size = buf[pos + 4]
        if not size or not _printable(buf, pos + 5, min(n, pos + 5 + size)):
            return False
        end = pos + 5 + size
    else:
        return False
    if n < end + 2:
        return None
    if buf[end] == buf[end + 1] == 0 and buf[pos + 1] == 1:  # CONNECT to port 0
        return False
    return end + 2 == n


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
