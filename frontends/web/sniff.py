"""The first bytes of an upload decide whether it is a capture at all, before the rest is stored.

pcap (both byte orders, µs and ns), pcapng (its section header block type) and gzip whose
first decompressed bytes are one of those; and the firewall and proxy logs ``egress analyze``
reads (Azure Firewall, squid, AWS Network Firewall, Route 53 Resolver: the analyzer's own
detector decides, from the first :data:`LOG_PROBE` bytes or the whole of a shorter body), plain
or gzip'd.  Anything else is refused (415) with the bytes it started with; a body too short to
hold a capture's file header is refused as 422.
"""

from __future__ import annotations

import zlib

from analyzer.api import detect_source

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "pcap",
    b"\xa1\xb2\xc3\xd4": "pcap",
    b"\x4d\x3c\xb2\xa1": "pcap",
    b"\xa1\xb2\x3c\x4d": "pcap",
    b"\x0a\x0d\x0d\x0a": "pcapng",
}
GZIP = b"\x1f\x8b"
HEADER_BYTES = {"pcap": 24, "pcapng": 28}  # the pcap file header; the smallest section header block
LOG_PROBE = 16 << 10  # text enough for a log's first records (detection wants lines, not bytes)
# How much of a gzip stream to inflate to find the capture's magic (a gzip header with a long file
# name comment could push it further; 64 KiB covers any real one).
_GZIP_PROBE = 64 << 10


class Rejected(Exception):
    """An upload refused before it is stored: the HTTP status and one line saying why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _shown(head: bytes) -> str:
    return " ".join(f"{b:02x}" for b in head[:8])


def sniff(head: bytes, final: bool) -> str | None:
    """The container (``pcap``, ``pcapng``, ``gzip``, ``log``, ``log-gzip``), or None while more bytes are needed.

    ``final``: ``head`` is the whole body.  Raises :class:`Rejected` (415 not a capture, 422 too short).
    """
    if len(head) < 4 and not final:
        return None
    kind = PCAP_MAGICS.get(head[:4])
    if kind is not None:
        if len(head) >= HEADER_BYTES[kind]:
            return kind
        if final:
            raise Rejected(422, f"{len(head)} bytes: cut inside the {kind} file header, not a capture")
        return None
    if head[:2] == GZIP:
        inner = _inflate(head)
        if len(inner) >= 4:
            if inner[:4] in PCAP_MAGICS:
                return "gzip"
            if len(inner) < LOG_PROBE and not final and len(head) < _GZIP_PROBE:
                return None
            if _is_log(head):
                return "log-gzip"
            raise Rejected(415, f"gzip, but not of a pcap or pcapng capture (it starts with {_shown(inner)})")
        if final or len(head) >= _GZIP_PROBE:
            raise Rejected(422, "gzip stream too short to hold a capture")
        return None
    if not head:
        raise Rejected(422, "empty body: no capture")
    if not final and len(head) < LOG_PROBE and _textual(head):
        return None  # text: maybe a log, decided on its first lines
    if _is_log(head):
        return "log"
    if len(head) < 4:
        raise Rejected(422, f"{len(head)} bytes: too short to be a capture")
    raise Rejected(415, f"not a pcap, pcapng or gzip capture (it starts with {_shown(head)})")


def _textual(head: bytes) -> bool:
    return b"\x00" not in head[:512] and head[:1] not in (b"\xff", b"\xfe")


def _is_log(head: bytes) -> bool:
    kind = detect_source(head[: LOG_PROBE * 4])
    return kind not in (None, "capture")


def _inflate(head: bytes) -> bytes:
    try:
        return zlib.decompressobj(wbits=31).decompress(head, 64)
    except zlib.error:
        raise Rejected(422, "gzip stream is corrupt at its start") from None
