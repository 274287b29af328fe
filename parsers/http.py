"""HTTP/1.x request and response heads: method, target, ``Host``, and the CONNECT target.

Recognised by content on any port.  :func:`parse_request` returns ``None`` until the blank
line that ends the head has arrived; the caller uses ``head_length`` and the body framing
(``content_length`` / ``chunked``) to find the next pipelined request.  A chunked body is
stepped over with :func:`parse_chunk_size` and :func:`chunked_trailer_length`, which need
only the size lines and the trailers, never the chunk data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.errors import ParseError
from parsers.text import escape_name

MAX_HEAD = 64 * 1024
METHODS = (
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"REPORT",
    b"SEARCH",
    b"PURGE",
)
_METHOD_PREFIXES = tuple(m + b" " for m in METHODS)
_LONGEST = max(len(m) for m in _METHOD_PREFIXES)
MAX_LINE = 8192
_TOKEN_START = re.compile(rb"^[A-Z][A-Z0-9_-]{0,31}(?: |$)")
_EXTENSION_LINE = re.compile(rb"^[A-Z][A-Z0-9_-]{0,31} \S.* HTTP/\d\.\d$")
# Lenient on purpose: servers (and tshark) accept "GET /" without a version, "HTTP/1.", targets
# with spaces and the like, and the Host header of such a request still names the destination.
_REQUEST_LINE = re.compile(rb"^([A-Z][A-Z0-9_-]*)(?:[ \t]+(.*?))??(?:[ \t]+HTTP/(\d)\.(\d?))?[ \t]*$")
_STATUS_LINE = re.compile(rb"^HTTP/(\d)\.(\d) (\d{3})(?: .*)?$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    target: str
    version: str
    host: str | None  # the Host header as sent (may carry :port)
    head_length: int
    content_length: int | None
    chunked: bool


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    version: str
    head_length: int
    content_length: int | None
    chunked: bool


def looks_like_request(buf: bytes | bytearray) -> bool:
    """True while ``buf`` could still be the start of an HTTP request line.

    Known methods are recognised from their first bytes; any other method token (WebDAV and
    RPC-over-HTTP use many, like ``RPC_IN_DATA``) needs the whole line with its ``HTTP/x.y``.
    """
    head = bytes(buf[:_LONGEST])
    if any(p.startswith(head) or head.startswith(p) for p in _METHOD_PREFIXES):
        return True
    if _TOKEN_START.match(bytes(buf[:33])) is None:
        return False
    nl = buf.find(b"\n", 0, MAX_LINE)
    if nl == -1:
        return len(buf) < MAX_LINE
    return _EXTENSION_LINE.match(bytes(buf[:nl]).rstrip(b"\r")) is not None


_HEAD_END = re.compile(rb"\r?\n\r?\n")


def _split_head(buf: bytes) -> tuple[list[bytes], int] | None:
    # The head ends at the first empty line, whatever mix of CRLF and bare LF (RFC 9112 2.2) ends the lines.
    m = _HEAD_END.search(bytes(buf[: MAX_HEAD + 4]))
    if m is None or m.start() > MAX_HEAD:
        if len(buf) >= MAX_HEAD + 4:
            raise ParseError(f"HTTP head longer than {MAX_HEAD} bytes", "http")
        return None
    end, sep = m.start(), m.end() - m.start()
    lines = bytes(buf[:end]).replace(b"\r\n", b"\n").split(b"\n")
    return lines, end + sep


def _headers(lines: list[bytes]) -> tuple[str | None, int | None, bool]:
    host: str | None = None
    length: int | None = None
    chunked = False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        key = name.strip().lower()
        value = value.strip()
        if key == b"host" and host is None:
            host = escape_name(value)
        elif key == b"content-length":
            if not value.isdigit():
                raise ParseError("Content-Length is not a number", "http")
            length = int(value)
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return host, length, chunked


def parse_request(buf: bytes) -> HttpRequest | None:
    """Parse the request head at the start of ``buf``; ``None`` means more bytes are needed."""
    if not looks_like_request(buf):
        raise ParseError("not an HTTP request line", "http")
    split = _split_head(buf)
    if split is None:
        return None
    lines, head_length = split
    match = _REQUEST_LINE.match(lines[0])
    if match is None:
        raise ParseError("malformed HTTP request line", "http")
    method, target, major, minor = match.groups()
    host, length, chunked = _headers(lines)
    return HttpRequest(
        method.decode("ascii"),
        escape_name(target or b""),
        f"{major.decode()}.{(minor or b'').decode()}" if major else "",
        host,
        head_length,
        length,
        chunked,
    )


def parse_response(buf: bytes) -> HttpResponse | None:
    if len(buf) >= 5 and not bytes(buf[:5]) == b"HTTP/":
        raise ParseError("not an HTTP status line", "http")
    split = _split_head(buf)
    if split is None:
        return None
    lines, head_length = split
    match = _STATUS_LINE.match(lines[0])
    if match is None:
        raise ParseError("malformed HTTP status line", "http")
    major, minor, status = match.groups()
    _host, length, chunked = _headers(lines)
    return HttpResponse(int(status), f"{major.decode()}.{minor.decode()}", head_length, length, chunked)


def split_host_port(authority: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a bare host -> (host, port)."""
    host, port = authority, default_port
    if authority.startswith("["):
        close = authority.find("]")
        if close != -1:
            host = authority[1:close]
            rest = authority[close + 1 :]
            if rest.startswith(":") and _valid_port(rest[1:]):
                port = int(rest[1:])
        return host, port
    if authority.count(":") == 1:
        name, _, p = authority.partition(":")
        return name, int(p) if _valid_port(p) else port
    return host, port


def _valid_port(text: str) -> bool:
    # isascii(): str.isdigit() also accepts digits like "²" that int() refuses.
    return text.isascii() and text.isdigit() and int(text) < 65536


def absolute_target_authority(target: str) -> str | None:
    """The authority of an absolute-form target (``GET http://host/...`` sent to a proxy)."""
    m = _ABSOLUTE.match(target)
    if m is None:
        return None
    authority = m.group(1)
    return authority.rpartition("@")[2]  # drop userinfo


_HOSTNAME = re.compile(r"^[A-Za-z0-9_.*-]+$|^[0-9A-Fa-f:.]+$")


def is_authority(host: str) -> bool:
    """Could ``host`` be a DNS name or an IP address (as opposed to a path like "/")?"""
    return bool(host) and _HOSTNAME.match(host) is not None


MAX_CHUNK_LINE = 4096  # a chunk-size line with extensions; longer is not HTTP
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _line_end(buf: bytes | bytearray, start: int, limit: int) -> int | None:
    """Index of the LF ending the line at ``start`` (a CR before it belongs to the ending: RFC 9112
    section 2.2 lets a recipient take a bare LF as a line terminator, as request heads here do)."""
    end = buf.find(b"\n", start, start + limit + 2)
    return None if end < 0 else end


def parse_chunk_size(buf: bytes | bytearray) -> tuple[int, int] | None:
    """The size line of one chunk (RFC 9112 section 7.1): ``(chunk size, bytes the line took)``.

    None until the line has ended; ParseError when the size is not hexadecimal or the line is
    too long.  Chunk extensions (``;name=value``) are allowed and ignored.
    """
    end = _line_end(buf, 0, MAX_CHUNK_LINE)
    if end is None:
        if len(buf) > MAX_CHUNK_LINE:
            raise ParseError("chunk-size line too long", "http")
        return None
    size = bytes(buf[:end]).rstrip(b"\r").split(b";", 1)[0].rstrip(b" \t")
    digits = size.lstrip(b"0") or size[:1]  # leading zeros are allowed, and say nothing
    if not size or len(digits) > 16 or not _HEX.issuperset(size):
        raise ParseError(f"chunk size {escape_name(size[:20])!r} is not hexadecimal", "http")
    return int(size, 16), end + 1


def chunk_data_end(buf: bytes | bytearray) -> int | None:
    """The line ending after a chunk's data: 2 for CRLF, 1 for a bare LF; None until it is there."""
    if buf[:2] == b"\r\n":
        return 2
    if buf[:1] == b"\n":
        return 1
    if buf == b"\r" or not buf:
        return None
    raise ParseError("chunk data is not followed by a line ending", "http")


def chunked_trailer_length(buf: bytes | bytearray) -> int | None:
    """Bytes from just after the last (zero) chunk's size line through the empty line that ends
    the trailer section (1 or 2 with no trailers).  None until it has arrived; ParseError when the
    trailers are too long."""
    pos = 0
    while True:
        end = _line_end(buf, pos, MAX_HEAD - pos)
        if end is None:
            if len(buf) >= MAX_HEAD:
                raise ParseError("chunked body trailers larger than 64 KiB", "http")
            return None
        if not bytes(buf[pos:end]).rstrip(b"\r"):
            return end + 1
        pos = end + 1
