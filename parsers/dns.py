"""DNS messages (RFC 1035) over UDP and over TCP (two-byte length prefix, RFC 7766).

Names are decoded with compression pointers; a pointer must point strictly backwards
(before the label it appears in), which alone makes loops impossible, and the total number
of jumps is capped as a second guard.  Label bytes outside printable ASCII are written as
``\\DDD`` escapes (the presentation format of RFC 4343 / dig), so a hostile name never carries
raw control bytes into the analyzer.
"""

from __future__ import annotations

import re
import socket
import struct
from dataclasses import dataclass

from parsers.errors import ParseError

_HDR = struct.Struct("!HHHHHH")
_QTAIL = struct.Struct("!HH")
_RRTAIL = struct.Struct("!HHIH")
_U16 = struct.Struct("!H")

MAX_POINTER_HOPS = 64
MAX_NAME_LEN = 255

QTYPE_NAMES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    35: "NAPTR",
    39: "DNAME",
    41: "OPT",
    43: "DS",
    46: "RRSIG",
    47: "NSEC",
    48: "DNSKEY",
    52: "TLSA",
    64: "SVCB",
    65: "HTTPS",
    99: "SPF",
    255: "ANY",
    257: "CAA",
}
RCODE_NAMES = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    6: "YXDOMAIN",
    7: "YXRRSET",
    8: "NXRRSET",
    9: "NOTAUTH",
    10: "NOTZONE",
}
TYPE_A = 1
TYPE_CNAME = 5
TYPE_AAAA = 28
TYPE_DNAME = 39


def type_name(qtype: int) -> str:
    return QTYPE_NAMES.get(qtype, f"TYPE{qtype}")


def rcode_name(rcode: int) -> str:
    return RCODE_NAMES.get(rcode, f"RCODE{rcode}")


# Built for every DNS message: slotted but not frozen (a frozen dataclass's __init__ sets each
# field through object.__setattr__, several times the cost). Treated as read-only all the same.
@dataclass(slots=True)
class Question:
    name: str
    qtype: int
    qclass: int


@dataclass(slots=True)
class ResourceRecord:
    name: str
    rtype: int
    rclass: int
    ttl: int
    # Decoded value: dotted address for A/AAAA, a name for CNAME/DNAME/NS/PTR, else None.
    value: str | None


@dataclass(slots=True)
class DnsMessage:
    id: int
    is_response: bool
    opcode: int
    rcode: int
    truncated: bool  # the TC bit: the answer did not fit and the client should retry over TCP
    questions: tuple[Question, ...]
    answers: tuple[ResourceRecord, ...]
    size: int  # bytes this message occupied


_PLAIN_LABEL = re.compile(rb"[\x21-\x2d\x2f-\x5b\x5d-\x7e]*")
# The octets of plain labels joined by dots: printable ASCII but the backslash.  A name is plain
# when deleting these leaves nothing (bytes.translate: 0.2 us for a 40-octet name, the fullmatch
# of the same character class 0.33 us).
_PLAIN_NAME_OCTETS = bytes([*range(0x21, 0x5C), *range(0x5D, 0x7F)])


def _label_text(raw: bytes) -> str:
    if _PLAIN_LABEL.fullmatch(raw):  # the common case, at C speed
        return raw.decode("ascii")
    out = []
    for b in raw:
        if 0x21 <= b <= 0x7E and b not in (0x2E, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return "".join(out)


def read_name(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    """Decode the name at ``pos``; return it and the offset just after it in the record.

    ``end`` bounds the bytes read in place (a record's RDLENGTH); once a compression pointer is
    followed, the labels it points to may lie anywhere earlier in the message.
    """
    return _in_place_name(buf, pos, end) or _walk_name(buf, pos, end)


# Decoded text of the wire form of names without pointers.  Distinct names are few next to the
# messages (an answer repeats its question; installs ask for the same hosts again and again); past
# this many the cache starts over, which bounds it (about 200 bytes an entry) for a capture of a
# resolver under load.  The handshake capture's 21.8k messages hold 10k distinct names.
_NAME_TEXT: dict[bytes, str] = {}
MAX_CACHED_NAMES = 8192


def _in_place_name(buf: bytes, pos: int, end: int) -> tuple[str, int] | None:
    """The name at ``pos`` when it is labels in place up to the zero octet, inside ``end`` and at
    most 255 octets (a question's name, nearly always); None for anything else, which
    :func:`_walk_name` then reads or rejects with its precise reason.

    A name seen before costs no walk: the cache holds only wire forms whose walk ends at their first
    zero octet, so when the bytes from ``pos`` to the first zero octet spell one, the walk from
    ``pos`` would read those same bytes to the same end (inside ``end``: the search stops there).
    """
    zero = buf.find(0, pos, end)
    if zero < 0:
        return None  # no zero octet before end: not in place
    wire = buf[pos : zero + 1]
    text = _NAME_TEXT.get(wire)
    if text is not None:
        return text, zero + 1
    return _decode_in_place(buf, pos, end, zero, wire)


def _decode_in_place(buf: bytes, pos: int, end: int, zero: int, wire: bytes) -> tuple[str, int] | None:
    """:func:`_in_place_name` past a cache miss: ``zero`` is the first zero octet from ``pos``,
    ``wire`` the bytes from ``pos`` through it."""
    labels: list[bytes] = []
    p = pos
    while p < end:
        length = buf[p]
        if not length:
            if p - pos >= MAX_NAME_LEN:  # the wire form, p + 1 - pos octets, is too long
                return None
            text = _labels_text(labels)
            if p == zero:  # else a label holds a zero octet: no lookup would find the entry
                if len(_NAME_TEXT) >= MAX_CACHED_NAMES:
                    _NAME_TEXT.clear()
                _NAME_TEXT[wire] = text
            return text, p + 1
        if length > 63:  # a compression pointer, or the deprecated (0x40) or reserved (0x80) label type
            return None
        after = p + 1 + length
        labels.append(buf[p + 1 : after])
        p = after
    return None


def _labels_text(labels: list[bytes]) -> str:
    # Most names are plain ASCII: one test and one decode for the whole name, not one per label.
    # A dot inside a label (escaped below) makes the joined name hold more dots than label gaps.
    raw = b".".join(labels)
    if not raw.translate(None, _PLAIN_NAME_OCTETS) and raw.count(b".") == len(labels) - 1:
        return raw.decode("ascii")
    return ".".join([_label_text(label) for label in labels])


def _walk_name(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    """:func:`read_name` for any name: pointers followed, every rule checked label by label."""
    labels: list[bytes] = []
    wire_len = 1  # the terminating zero octet counts towards the 255-octet limit (RFC 1035 3.1)
    hops = 0
    after: int | None = None
    floor = pos  # a pointer must point before the start of the labels being read
    while True:
        if pos >= end:
            raise ParseError("name runs past the end of the message", "dns")
        length = buf[pos]
        kind = length & 0xC0
        if kind == 0xC0:
            if pos + 2 > end:
                raise ParseError("compression pointer cut short", "dns")
            target = _U16.unpack_from(buf, pos)[0] & 0x3FFF
            if after is None:
                after = pos + 2
            hops += 1
            if target >= floor or hops > MAX_POINTER_HOPS:
                raise ParseError(f"compression pointer loop or forward pointer at offset {pos}", "dns")
            floor = target
            pos = target
            end = len(buf)
            continue
        if kind != 0:
            raise ParseError(f"unsupported label type 0x{kind:02x} at offset {pos}", "dns")
        if length == 0:
            pos += 1
            break
        if pos + 1 + length > end:
            raise ParseError("label runs past the end of the message", "dns")
        wire_len += length + 1
        if wire_len > MAX_NAME_LEN:
            raise ParseError("name longer than 255 bytes", "dns")
        labels.append(buf[pos + 1 : pos + 1 + length])
        pos += 1 + length
    return _labels_text(labels), (after if after is not None else pos)


class DnsParseError(ParseError):
    """Malformed DNS; ``partial`` holds the header and the records read before the problem, if any."""

    layer = "dns"

    def __init__(self, reason: str, partial: DnsMessage | None = None) -> None:
        super().__init__(reason, "dns")
        self.partial = partial


def parse_message(buf: bytes) -> DnsMessage:
    """Parse one complete DNS message.  Bytes after the message are ignored.

    A message cut short or broken *after* its questions raises :class:`DnsParseError` with the
    questions and answers read so far in ``partial``: a snap length that cut the answers
    must not hide which name was asked.
    """
    end = len(buf)
    if end < 12:
        raise ParseError("DNS header cut short", "dns")
    ident, flags, qd, an, ns, _ar = _HDR.unpack_from(buf, 0)
    pos = 12
    questions = []
    first: str | None = None  # the first question's name when it lies in place at offset 12
    zero = buf.find(0, 12, end) if qd else -1
    if zero >= 0:
        # _in_place_name written out for the first question, a call less per message: the cache
        # lookup here, a miss decoded by the function it calls.
        wire = buf[12 : zero + 1]
        first = _NAME_TEXT.get(wire)
        if first is not None:
            pos = zero + 1
        else:
            in_place = _decode_in_place(buf, 12, end, zero, wire)
            if in_place is not None:
                first, pos = in_place
        if first is not None:  # else the loop below reads it, from offset 12, as any other
            if pos + 4 > end:
                raise ParseError("question cut short", "dns")
            qtype, qclass = _QTAIL.unpack_from(buf, pos)
            pos += 4
            questions.append(Question(first, qtype, qclass))
            qd -= 1
    for _ in range(qd):
        hit = _in_place_name(buf, pos, end)
        if hit is None:
            name, pos = _walk_name(buf, pos, end)
        else:
            name = hit[0]
            if pos == 12:
                first = name
            pos = hit[1]
        if pos + 4 > end:
            raise ParseError("question cut short", "dns")
        qtype, qclass = _QTAIL.unpack_from(buf, pos)
        pos += 4
        questions.append(Question(name, qtype, qclass))
    answers: list[ResourceRecord] = []
    # Answer and authority sections; the additional section carries glue we do not need.
    try:
        for index in range(an + ns):
            if first is not None and buf[pos : pos + 2] == _POINTER_TO_FIRST:
                # Nearly every record is owned by the question's name, as a pointer to it: the
                # name is the one already read (the walk would follow the pointer, one hop to an
                # earlier offset, and read the same bytes to the same end).
                name = first
                pos += 2
            else:
                name, pos = read_name(buf, pos, end)
            if pos + 10 > end:
                raise ParseError("resource record cut short", "dns")
            rtype, rclass, ttl, rdlen = _RRTAIL.unpack_from(buf, pos)
            pos += 10
            if pos + rdlen > end:
                raise ParseError("resource record data cut short", "dns")
            if index < an:
                if rtype == TYPE_A and rdlen == 4:  # the common answer, without the call to _rdata
                    value: str | None = socket.inet_ntoa(buf[pos : pos + 4])
                else:
                    value = _rdata(buf, pos, rdlen, rtype)
                answers.append(ResourceRecord(name, rtype, rclass, ttl, value))
            pos += rdlen
    except ParseError as exc:
        raise DnsParseError(exc.reason, _message(ident, flags, questions, answers, pos)) from exc
    # _message written out, with comparisons for its bool() calls: this runs for every message.
    return DnsMessage(
        ident,
        flags & 0x8000 != 0,
        (flags >> 11) & 0x0F,
        flags & 0x000F,
        flags & 0x0200 != 0,
        tuple(questions),
        tuple(answers),
        pos,
    )


_POINTER_TO_FIRST = b"\xc0\x0c"  # a compression pointer to offset 12, the first question's name


def _message(ident: int, flags: int, questions: list[Question], answers: list[ResourceRecord], size: int) -> DnsMessage:
    return DnsMessage(
        ident,
        bool(flags & 0x8000),
        (flags >> 11) & 0x0F,
        flags & 0x000F,
        bool(flags & 0x0200),
        tuple(questions),
        tuple(answers),
        size,
    )


def _rdata(buf: bytes, pos: int, rdlen: int, rtype: int) -> str | None:
    if rtype == TYPE_A:
        if rdlen != 4:
            raise ParseError(f"A record with {rdlen} bytes", "dns")
        return socket.inet_ntoa(buf[pos : pos + 4])
    if rtype == TYPE_AAAA:
        if rdlen != 16:
            raise ParseError(f"AAAA record with {rdlen} bytes", "dns")
        return socket.inet_ntop(socket.AF_INET6, bytes(buf[pos : pos + 16]))
    if rtype in (TYPE_CNAME, TYPE_DNAME, 2, 12):
        name, after = read_name(buf, pos, pos + rdlen)
        if after != pos + rdlen:
            raise ParseError(f"name in {type_name(rtype)} record does not fill its RDLENGTH", "dns")
        return name
    return None


def split_tcp_message(buf: bytes | bytearray) -> tuple[bytes, int] | None:
    """The first length-prefixed message of a DNS-over-TCP stream, unparsed, and the bytes it takes.

    ``None`` when more bytes are needed; a length too small for a DNS header is malformed.
    """
    if len(buf) < 2:
        return None
    length = _U16.unpack_from(buf, 0)[0]
    if length < 12:
        raise ParseError(f"DNS over TCP message length {length} < 12", "dns")
    if len(buf) < 2 + length:
        return None
    return bytes(buf[2 : 2 + length]), 2 + length


def parse_tcp_stream(buf: bytes) -> tuple[DnsMessage, int] | None:
    """Parse the first length-prefixed message of a DNS-over-TCP stream.

    Returns ``(message, bytes_consumed)``, or ``None`` when more bytes are needed.
    """
    split = split_tcp_message(buf)
    if split is None:
        return None
    message, used = split
    return parse_message(message), used
