"""The DNS parser's fast paths give exactly what the full label-by-label walk gives.

parsers.dns reads a name lying in place up to its zero octet without following the walk's every
check, takes its text from a cache keyed by the wire form, and gives a record owned by a pointer to
the first question that question's name.  The reference is the same parser with the in-place
reader switched off (every name walked, no cache, no shortcut: the parser as it was before them):
the messages, or the exception's class, reason and partial message, must be equal, for hand-built
messages, mutations of them, and random bytes; and a second parse (the names now cached) too.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR

from parsers import dns
from parsers.errors import ParseError
from tests.parsers.test_fuzz import DNS_SEED, FUZZ, mutated


def _outcome(buf: bytes) -> object:
    try:
        return dns.parse_message(buf)
    except dns.DnsParseError as exc:
        return ("DnsParseError", exc.reason, exc.partial)
    except ParseError as exc:
        return (type(exc).__name__, exc.reason)


def _reference(buf: bytes) -> object:
    real = dns._in_place_name
    dns._in_place_name = lambda buf, pos, end: None
    try:
        return _outcome(buf)
    finally:
        dns._in_place_name = real


def _name_outcome(read: object, buf: bytes, pos: int, end: int) -> object:
    try:
        return read(buf, pos, end)  # type: ignore[operator]
    except ParseError as exc:
        return (type(exc).__name__, exc.reason)


def _labels(*parts: bytes, end: bytes = b"\x00") -> bytes:
    return b"".join(bytes([len(p)]) + p for p in parts) + end


_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")


def _answer(qname: bytes, *records: tuple[bytes, int, bytes], ns: int = 0) -> bytes:
    """A response to one A question, the records' owners as given (b"\\xc0\\x0c": the question)."""
    body = qname + b"\x00\x01\x00\x01"
    for owner, rtype, rdata in records:
        body += owner + _RR.pack(rtype, 1, 60, len(rdata)) + rdata
    return _HEADER.pack(0x1234, 0x8180, 1, len(records) - ns, ns, 0) + body


SEEDS = [
    DNS_SEED,
    # The handshake capture's shape: the answer's owner is a pointer to the question.
    _answer(_labels(b"node0", b"registry-1", b"docker", b"io"), (b"\xc0\x0c", 1, bytes([198, 51, 0, 7]))),
    # A question name the text must escape: a dot inside a label, a backslash, a control byte, case.
    _answer(_labels(b"a.b", b"c\\d", b"\x07x", b"WWW", b"Example"), (b"\xc0\x0c", 28, bytes(range(16)))),
    # A CNAME to a suffix of the question, an A for it, and an authority NS record.
    _answer(
        _labels(b"www", b"example", b"com"),
        (b"\xc0\x0c", 5, _labels(b"cdn", end=b"\xc0\x10")),
        (b"\xc0\x2d", 1, bytes([192, 0, 2, 1])),
        (b"\xc0\x10", 2, _labels(b"ns1", end=b"\xc0\x10")),
        ns=1,
    ),
    # Two questions (mDNS), the second pointing into the first, answers owned by both.
    bytes(
        DNS(
            id=0,
            qr=1,
            qd=[DNSQR(qname="printer.local", qtype="A"), DNSQR(qname="_ipp._tcp.printer.local", qtype="PTR")],
            an=[DNSRR(rrname="printer.local", type="A", rdata="192.0.2.9")],
        ).compress()
    ),
    # Two questions in place: the pointer to offset 12 is the first one's name, not the second's.
    _HEADER.pack(0, 0x8400, 2, 1, 0, 0)
    + _labels(b"one", b"local")
    + b"\x00\x01\x00\x01"
    + _labels(b"two", b"local")
    + b"\x00\x01\x00\x01"
    + b"\xc0\x0c"
    + _RR.pack(1, 1, 60, 4)
    + bytes(4),
    # The root as the question's name.
    _answer(b"\x00", (b"\xc0\x0c", 1, bytes(4))),
]

# Names the in-place reader must leave to the walk, each for its own reason.
BAD_NAMES = [
    _labels(b"a", end=b"\x40" + b"x" * 64 + b"\x00"),  # extended label type (0x40)
    _labels(b"a", end=b"\x80" + b"x" * 3),  # reserved label type (0x80)
    b"\x05abc",  # label past the end
    b"\x03abc",  # no zero octet
    _labels(b"a", end=b"\xc0\x00"),  # a pointer to itself
    _labels(b"a", end=b"\xc0"),  # pointer cut short
]


@pytest.mark.parametrize("seed", SEEDS, ids=range(len(SEEDS)))
def test_seed_parses_as_the_walk_parses_it(seed: bytes) -> None:
    dns._NAME_TEXT.clear()
    first = _outcome(seed)
    assert isinstance(first, dns.DnsMessage)  # the seeds are valid: the fast paths do run
    assert first == _reference(seed) == _outcome(seed)


@FUZZ
@given(st.one_of(st.sampled_from(SEEDS).flatmap(mutated), st.binary(max_size=200)))
def test_any_message_parses_as_the_walk_parses_it(buf: bytes) -> None:
    dns._NAME_TEXT.clear()
    cold = _outcome(buf)
    warm = _outcome(buf)
    assert cold == warm == _reference(buf)


@FUZZ
@given(st.sampled_from(SEEDS).flatmap(mutated), st.data())
def test_read_name_is_the_walk_anywhere(buf: bytes, data: st.DataObject) -> None:
    """read_name at any offset and with any end (a record's RDLENGTH) is what the walk reads."""
    if not buf:
        return
    pos = data.draw(st.integers(0, len(buf) - 1))
    end = data.draw(st.integers(pos, len(buf)))
    dns._NAME_TEXT.clear()
    expected = _name_outcome(dns._walk_name, buf, pos, end)
    assert _name_outcome(dns.read_name, buf, pos, end) == expected  # cold
    assert _name_outcome(dns.read_name, buf, pos, end) == expected  # cached


@pytest.mark.parametrize("name", BAD_NAMES, ids=range(len(BAD_NAMES)))
def test_bad_names_raise_what_the_walk_raises(name: bytes) -> None:
    expected = _name_outcome(dns._walk_name, name, 0, len(name))
    assert isinstance(expected, tuple)  # each is malformed
    assert _name_outcome(dns.read_name, name, 0, len(name)) == expected
    message = _answer(name, (b"\xc0\x0c", 1, bytes(4)))
    assert _outcome(message) == _reference(message)


def test_in_place_name_of_255_octets_is_read_and_256_left_to_the_walk() -> None:
    longest = _labels(*[b"a" * 62] * 4, b"a")  # 4 * 63 + 2 + the zero octet
    assert len(longest) == 255
    assert dns._in_place_name(longest, 0, len(longest)) == (".".join(["a" * 62] * 4 + ["a"]), 255)
    too_long = _labels(*[b"a" * 62] * 4, b"aa")
    assert len(too_long) == 256
    assert dns._in_place_name(too_long, 0, len(too_long)) is None
    with pytest.raises(ParseError, match="longer than 255"):
        dns.read_name(too_long, 0, len(too_long))


def test_name_cache_is_bounded() -> None:
    dns._NAME_TEXT.clear()
    for i in range(dns.MAX_CACHED_NAMES + 10):
        wire = _labels(b"host%d" % i, b"example")
        assert dns.read_name(wire, 0, len(wire)) == (f"host{i}.example", len(wire))
        assert len(dns._NAME_TEXT) <= dns.MAX_CACHED_NAMES
