"""TLS ClientHello: server name (SNI), ALPN and whether Encrypted Client Hello is offered.

A ClientHello is recognised by content, on any port: a handshake record (type 22, version
3.x) whose first handshake message is type 1.  The message may be split across several TLS
records and across TCP segments; :func:`parse_client_hello` takes the in-order client byte
stream from its first byte and returns ``None`` until the whole message is there.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from parsers.errors import ParseError
from parsers.text import escape_name

_REC = struct.Struct("!BHH")
_U16 = struct.Struct("!H")
_EXT = struct.Struct("!HH")

CONTENT_HANDSHAKE = 22
HANDSHAKE_CLIENT_HELLO = 1
EXT_SERVER_NAME = 0
EXT_ALPN = 16
EXT_SUPPORTED_VERSIONS = 43
EXT_ECH = 0xFE0D
MAX_RECORD = 16384 + 2048
# Large post-quantum key shares push ClientHellos near 2 KB; 64 KB is a generous hard cap.
MAX_CLIENT_HELLO = 1 << 16


# One per connection: slotted but not frozen (a frozen dataclass's __init__ sets each field
# through object.__setattr__, several times the cost). Treated as read-only all the same.
@dataclass(slots=True)
class ClientHello:
    sni: str | None
    alpn: tuple[str, ...]
    ech: bool  # an encrypted_client_hello extension was sent: ``sni`` is then the outer (public) name
    legacy_version: int
    supported_versions: tuple[int, ...]
    length: int  # handshake message length


def looks_like_client_hello(buf: bytes | bytearray) -> bool:
    """Cheap content test on the first bytes of a client stream (needs 6 bytes to be sure)."""
    if len(buf) < 3:
        return len(buf) == 0 or (buf[0] == CONTENT_HANDSHAKE and (len(buf) < 2 or buf[1] == 3))
    if buf[0] != CONTENT_HANDSHAKE or buf[1] != 3 or buf[2] > 4:
        return False
    return len(buf) < 6 or buf[5] == HANDSHAKE_CLIENT_HELLO


def looks_like_tls_record(buf: bytes | bytearray) -> bool:
    """Does a server's first payload start like a TLS record (handshake, alert, CCS or data)?"""
    return len(buf) >= 3 and buf[0] in (20, 21, 22, 23) and buf[1] == 3 and buf[2] <= 4


def parse_client_hello(buf: bytes) -> ClientHello | None:
    """Parse the ClientHello at the start of ``buf``; ``None`` means more bytes are needed."""
    handshake = bytearray()
    pos = 0
    while True:
        if len(buf) - pos < 5:
            return None
        ctype, version, length = _REC.unpack_from(buf, pos)
        if ctype != CONTENT_HANDSHAKE:
            raise ParseError(f"record type {ctype} before the ClientHello was complete", "tls")
        if version >> 8 != 3:
            raise ParseError(f"record version 0x{version:04x}", "tls")
        if length == 0 or length > MAX_RECORD:
            raise ParseError(f"record length {length}", "tls")
        if len(buf) - pos - 5 < length:
            # Even a partial record can tell us early that the message is not a ClientHello.
            partial = buf[pos + 5 : len(buf)]
            if not handshake and partial and partial[0] != HANDSHAKE_CLIENT_HELLO:
                raise ParseError(f"first handshake message has type {partial[0]}, not ClientHello", "tls")
            return None
        if not handshake and len(buf) >= 9 + pos and buf[pos + 5] == HANDSHAKE_CLIENT_HELLO:
            # The usual case, the whole message in the first record: read it in place (no copies).
            need = 4 + int.from_bytes(buf[pos + 6 : pos + 9], "big")
            if need <= length:  # (and so within MAX_CLIENT_HELLO: a record is at most MAX_RECORD)
                return _parse_body(buf[pos + 9 : pos + 5 + need])
        handshake += buf[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if len(handshake) >= 4:  # the message, once its header is in: the same reading as QUIC's
            hello = parse_client_hello_message(bytes(handshake))
            if hello is not None:
                return hello


def parse_client_hello_message(buf: bytes) -> ClientHello | None:
    """The ClientHello handshake message at the start of ``buf``, without a TLS record layer
    (as QUIC carries it in CRYPTO frames); ``None`` means more bytes are needed."""
    if len(buf) < 4:
        if buf and buf[0] != HANDSHAKE_CLIENT_HELLO:
            raise ParseError(f"first handshake message has type {buf[0]}, not ClientHello", "tls")
        return None
    if buf[0] != HANDSHAKE_CLIENT_HELLO:
        raise ParseError(f"first handshake message has type {buf[0]}, not ClientHello", "tls")
    need = 4 + int.from_bytes(buf[1:4], "big")
    if need > MAX_CLIENT_HELLO:
        raise ParseError(f"ClientHello length {need - 4} is implausible", "tls")
    if len(buf) < need:
        return None
    return _parse_body(bytes(buf[4:need]))


def _parse_body(body: bytes) -> ClientHello:
    # Bounds are tested inline and only the extensions we read are sliced: a ClientHello carries
    # fifteen or so extensions, and a closure plus a slice per extension was a third of its cost.
    end = len(body)
    if end < 35:
        raise ParseError("ClientHello header runs past the message", "tls")
    legacy_version = _U16.unpack_from(body, 0)[0]
    pos = 35 + body[34]  # version(2) + random(32) + session id
    if pos + 2 > end:
        raise ParseError("ClientHello cipher suites runs past the message", "tls")
    pos += 2 + _U16.unpack_from(body, pos)[0]
    if pos + 1 > end:
        raise ParseError("ClientHello compression methods runs past the message", "tls")
    pos += 1 + body[pos]
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    ech = False
    versions: tuple[int, ...] = ()
    if pos == end:  # no extensions at all (SSL 3.0 style)
        return ClientHello(None, (), False, legacy_version, (), end)
    if pos + 2 > end:
        raise ParseError("ClientHello extensions length runs past the message", "tls")
    ext_end = pos + 2 + _U16.unpack_from(body, pos)[0]
    pos += 2
    if ext_end > end:
        raise ParseError("ClientHello extensions run past the message", "tls")
    unpack_ext = _EXT.unpack_from
    while pos + 4 <= ext_end:
        etype, elen = unpack_ext(body, pos)
        pos += 4
        if pos + elen > ext_end:
            raise ParseError(f"extension {etype} runs past the extensions block", "tls")
        if etype == EXT_SERVER_NAME:
            if sni is None:
                sni = _server_name(body[pos : pos + elen])
        elif etype == EXT_ALPN:
            alpn = _alpn(body[pos : pos + elen])
        elif etype == EXT_ECH:
            ech = True
        elif etype == EXT_SUPPORTED_VERSIONS and elen:
            data = body[pos : pos + elen]
            # One read of all the list's whole entries (the struct module caches the format):
            # half the cost of a generator of 16-bit reads, for each of the 8.5k hellos of a
            # handshake-dense capture.
            versions = struct.unpack_from(f"!{min(data[0], len(data) - 1) // 2}H", data, 1)
        pos += elen
    return ClientHello(sni, alpn, ech, legacy_version, versions, end)


def _server_name(data: bytes) -> str | None:
    if len(data) < 2:
        raise ParseError("server_name extension cut short", "tls")
    list_end = 2 + _U16.unpack_from(data, 0)[0]
    if list_end > len(data):
        raise ParseError("server_name list runs past the extension", "tls")
    pos = 2
    while pos + 3 <= list_end:
        name_type = data[pos]
        nlen = _U16.unpack_from(data, pos + 1)[0]
        pos += 3
        if pos + nlen > list_end:
            raise ParseError("server name runs past the list", "tls")
        if name_type == 0 and nlen:
            return escape_name(data[pos : pos + nlen])
        pos += nlen
    return None


def _alpn(data: bytes) -> tuple[str, ...]:
    if len(data) < 2:
        return ()
    end = min(len(data), 2 + _U16.unpack_from(data, 0)[0])
    out = []
    pos = 2
    while pos < end:
        n = data[pos]
        out.append(escape_name(data[pos + 1 : pos + 1 + n]))
        pos += 1 + n
    return tuple(out)
