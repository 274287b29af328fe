"""parsers.dns against scapy's DNS layer and hand-built RFC 1035 messages."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from scapy.config import conf
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRMX, DNSRROPT, DNSRRSOA

from parsers import dns
from parsers.dns import DnsParseError, parse_message, parse_tcp_stream, read_name
from parsers.errors import ParseError

conf.verb = 0

NAME_TYPES = (2, 5, 12, 39)  # NS, CNAME, PTR, DNAME: rdata is a name


# -- scapy as the oracle ------------------------------------------------------------------------


def _name(raw: bytes) -> str:
    return raw.decode("ascii").rstrip(".")


def scapy_view(buf: bytes) -> dict[str, object]:
    """What scapy says the message holds, in the shape of our DnsMessage."""
    d = DNS(buf)
    questions = tuple(dns.Question(_name(q.qname), q.qtype, (q.unicastresponse << 15) | q.qclass) for q in (d.qd or []))
    answers = []
    for rr in d.an or []:
        value: str | None = None
        if rr.type == 1:
            value = str(ipaddress.IPv4Address(rr.rdata))
        elif rr.type == 28:
            value = ipaddress.IPv6Address(rr.rdata).compressed
        elif rr.type in NAME_TYPES:
            value = _name(rr.rdata)
        answers.append(dns.ResourceRecord(_name(rr.rrname), rr.type, (rr.cacheflush << 15) | rr.rclass, rr.ttl, value))
    return {
        "id": d.id,
        "is_response": bool(d.qr),
        "opcode": d.opcode,
        "rcode": d.rcode,
        "truncated": bool(d.tc),
        "questions": questions,
        "answers": tuple(answers),
    }


def assert_matches_scapy(msg: dns.DnsMessage, buf: bytes) -> None:
    view = scapy_view(buf)
    got = {k: getattr(msg, k) for k in view}
    assert got == view


# -- valid messages built with scapy ----------------------------------------------------------------

Q = "www.example.com"


def _cname_chain() -> DNS:
    return DNS(
        id=0x1234,
        qr=1,
        rd=1,
        ra=1,
        qd=DNSQR(qname=Q, qtype="A"),
        an=[
            DNSRR(rrname=Q, type="CNAME", ttl=300, rdata="edge.cdn.example.net"),
            DNSRR(rrname="edge.cdn.example.net", type="CNAME", ttl=60, rdata="e1.cdn.example.net"),
            DNSRR(rrname="e1.cdn.example.net", type="A", ttl=20, rdata="192.0.2.10"),
            DNSRR(rrname="e1.cdn.example.net", type="A", ttl=20, rdata="192.0.2.11"),
            DNSRR(rrname="e1.cdn.example.net", type="AAAA", ttl=20, rdata="2001:db8:0:0:0:0:0:a"),
        ],
    )


VALID: dict[str, bytes] = {
    "query-a": bytes(DNS(id=1, rd=1, qd=DNSQR(qname=Q, qtype="A"))),
    "query-two-questions": bytes(DNS(id=2, rd=1, qd=[DNSQR(qname=Q, qtype="A"), DNSQR(qname=Q, qtype="AAAA")])),
    "query-mixed-case": bytes(DNS(id=3, qd=DNSQR(qname="WwW.ExAmPlE.CoM", qtype="HTTPS"))),
    "query-root-ns": bytes(DNS(id=4, qd=DNSQR(qname=".", qtype="NS"))),
    "query-edns": bytes(DNS(id=5, rd=1, qd=DNSQR(qname=Q, qtype="A"), ar=DNSRROPT(rclass=1232))),
    "response-cname-chain": bytes(_cname_chain()),
    "response-cname-chain-compressed": bytes(_cname_chain().compress()),
    "response-nxdomain-soa": bytes(
        DNS(
            id=6,
            qr=1,
            rcode=3,
            qd=DNSQR(qname="nope.example.com", qtype="A"),
            ns=DNSRRSOA(rrname="example.com", mname="ns1.example.com", rname="hostmaster.example.com", ttl=900),
        ).compress()
    ),
    "response-truncated": bytes(DNS(id=7, qr=1, tc=1, qd=DNSQR(qname=Q, qtype=255))),
    "response-ptr": bytes(
        DNS(
            id=8,
            qr=1,
            qd=DNSQR(qname="10.2.0.192.in-addr.arpa", qtype="PTR"),
            an=DNSRR(rrname="10.2.0.192.in-addr.arpa", type="PTR", rdata="host.example.com"),
        ).compress()
    ),
    "response-mx-txt-and-glue": bytes(
        DNS(
            id=9,
            qr=1,
            aa=1,
            qd=DNSQR(qname="example.com", qtype="MX"),
            an=[
                DNSRRMX(rrname="example.com", preference=10, exchange="mx.example.com"),
                DNSRR(rrname="example.com", type="TXT", rdata=[b"v=spf1 -all"]),
            ],
            ar=[DNSRR(rrname="mx.example.com", type="A", rdata="198.51.100.7"), DNSRROPT()],
        ).compress()
    ),
    "response-aaaa-only": bytes(
        DNS(
            id=10,
            qr=1,
            qd=DNSQR(qname="v6.example", qtype="AAAA"),
            an=DNSRR(rrname="v6.example", type="AAAA", rdata="2001:db8::1:0:0:1"),
        )
    ),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_parse_message_matches_scapy(name: str, packet_check) -> None:
    buf = VALID[name]

    def on_prefix(i: int, got: dns.DnsMessage, whole: dns.DnsMessage) -> None:
        # Only a prefix that still holds the whole message (the additional section is not read) may parse.
        assert i >= whole.size, f"a {i}-byte prefix of a {whole.size}-byte message parsed as {got!r}"
        assert got == whole

    msg = packet_check(parse_message, buf, on_prefix=on_prefix)
    assert_matches_scapy(msg, buf)
    assert msg.size <= len(buf)


@pytest.mark.parametrize("name", sorted(VALID))
def test_parse_message_partial_after_questions(name: str) -> None:
    """A cut after the questions raises DnsParseError whose ``partial`` keeps what was read."""
    buf = VALID[name]
    whole = parse_message(buf)
    seen_partial = False
    for i in range(12, whole.size):
        try:
            parse_message(buf[:i])
        except DnsParseError as exc:
            assert exc.partial is not None
            seen_partial = True
            assert exc.partial.questions == whole.questions
            assert exc.partial.answers == whole.answers[: len(exc.partial.answers)]
            assert (exc.partial.id, exc.partial.rcode) == (whole.id, whole.rcode)
        except ParseError:
            pass
        else:
            pytest.fail(f"{i}-byte prefix parsed")
    has_records_after_questions = len(whole.answers) > 0 or DNS(buf).nscount > 0
    assert seen_partial == has_records_after_questions


@pytest.mark.parametrize("name", sorted(VALID))
def test_parse_tcp_stream_three_ways(name: str, stream_check) -> None:
    buf = VALID[name]
    framed = struct.pack("!H", len(buf)) + buf
    msg, consumed = stream_check(parse_tcp_stream, framed)
    assert consumed == len(framed)  # trailing bytes (checked by stream_check) are never consumed
    assert msg == parse_message(buf)
    assert_matches_scapy(msg, buf)


def test_cname_chain_values_are_what_scapy_built() -> None:
    built = _cname_chain()
    for buf in (bytes(built), bytes(built.compress())):
        msg = parse_message(buf)
        assert [(a.name, a.rtype, a.ttl) for a in msg.answers] == [
            (Q, 5, 300),
            ("edge.cdn.example.net", 5, 60),
            ("e1.cdn.example.net", 1, 20),
            ("e1.cdn.example.net", 1, 20),
            ("e1.cdn.example.net", 28, 20),
        ]
        assert [a.value for a in msg.answers] == [
            "edge.cdn.example.net",
            "e1.cdn.example.net",
            "192.0.2.10",
            "192.0.2.11",
            str(ipaddress.IPv6Address("2001:db8:0:0:0:0:0:a")),
        ]
    # The compressed form really uses pointers (else the pointer path would be untested here).
    assert len(bytes(built.compress())) < len(bytes(built))
    assert b"\xc0" in bytes(built.compress())[12:]


@pytest.mark.parametrize("tc", [0, 1])
@pytest.mark.parametrize("qr", [0, 1])
def test_tc_bit(tc: int, qr: int) -> None:
    buf = bytes(DNS(id=77, qr=qr, tc=tc, qd=DNSQR(qname=Q)))
    msg = parse_message(buf)
    assert msg.truncated is bool(tc)
    assert msg.is_response is bool(qr)


@pytest.mark.parametrize("rcode", range(16))
def test_rcode_and_opcode(rcode: int) -> None:
    opcode = rcode % 6
    buf = bytes(DNS(id=rcode, qr=1, opcode=opcode, rcode=rcode, qd=DNSQR(qname=Q)))
    msg = parse_message(buf)
    assert (msg.rcode, msg.opcode) == (DNS(buf).rcode, DNS(buf).opcode) == (rcode, opcode)
    assert dns.rcode_name(rcode).startswith("RCODE") == (rcode > 10)


def test_rcode_names_from_rfc() -> None:
    # RFC 1035 4.1.1 and RFC 2136 2.2.
    assert [dns.rcode_name(i) for i in range(6)] == ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
    assert dns.type_name(28) == "AAAA" and dns.type_name(65) == "HTTPS" and dns.type_name(1234) == "TYPE1234"


def test_multiple_messages_in_one_tcp_buffer() -> None:
    msgs = [VALID["query-a"], VALID["response-cname-chain-compressed"], VALID["response-truncated"]]
    stream = b"".join(struct.pack("!H", len(m)) + m for m in msgs)
    pos = 0
    for m in msgs:
        got = parse_tcp_stream(stream[pos:])
        assert got is not None
        msg, consumed = got
        assert consumed == 2 + len(m)
        assert_matches_scapy(msg, m)
        pos += consumed
    assert pos == len(stream)
    assert parse_tcp_stream(stream[pos:]) is None
    # The second message cut in half: the first still parses, then "need more".
    cut = stream[: 2 + len(msgs[0]) + 2 + len(msgs[1]) // 2]
    first = parse_tcp_stream(cut)
    assert first is not None and first[1] == 2 + len(msgs[0])
    assert parse_tcp_stream(cut[first[1] :]) is None


@pytest.mark.parametrize("length", [0, 1, 11])
def test_tcp_length_below_header_raises(length: int) -> None:
    with pytest.raises(ParseError):
        parse_tcp_stream(struct.pack("!H", length) + b"\x00" * 40)


def test_tcp_stream_malformed_message_raises() -> None:
    body = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"  # question name points at itself
    with pytest.raises(ParseError):
        parse_tcp_stream(struct.pack("!H", len(body)) + body)


# -- hand-built messages: compression pointers and name limits ---------------------------------------


def header(qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0, flags: int = 0x8180, ident: int = 0xBEEF) -> bytes:
    return struct.pack("!HHHHHH", ident, flags, qd, an, ns, ar)


def labels(*parts: bytes, end: bytes = b"\x00") -> bytes:
    return b"".join(bytes([len(p)]) + p for p in parts) + end


def ptr(offset: int) -> bytes:
    return struct.pack("!H", 0xC000 | offset)


def question(name: bytes, qtype: int = 1, qclass: int = 1) -> bytes:
    return name + struct.pack("!HH", qtype, qclass)


def rr(name: bytes, rtype: int, rdata: bytes, ttl: int = 300, rclass: int = 1) -> bytes:
    return name + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def test_valid_backward_pointers_and_pointer_chains() -> None:
    q = question(labels(b"example", b"com"))
    rr1_name = labels(b"www", end=ptr(12))
    rr1_off = 12 + len(q)
    cname_rdata_off = rr1_off + len(rr1_name) + 10
    rr1 = rr(rr1_name, 5, labels(b"cdn", end=ptr(12)))
    # rr2's name points at rr1's rdata, which itself points at the question: a two-hop chain.
    rr2 = rr(ptr(cname_rdata_off), 1, bytes([203, 0, 113, 9]))
    rr3 = rr(labels(b"v6", end=ptr(cname_rdata_off)), 28, ipaddress.IPv6Address("2001:db8::9").packed)
    buf = header(an=3) + q + rr1 + rr2 + rr3
    msg = parse_message(buf)
    assert_matches_scapy(msg, buf)
    assert [a.name for a in msg.answers] == ["www.example.com", "cdn.example.com", "v6.cdn.example.com"]
    assert [a.value for a in msg.answers] == ["cdn.example.com", "203.0.113.9", "2001:db8::9"]
    assert msg.size == len(buf)


def test_read_name_returns_offset_after_first_pointer() -> None:
    buf = header() + labels(b"example", b"com") + labels(b"a", b"b", end=ptr(12)) + b"tail"
    start = 12 + len(labels(b"example", b"com"))
    name, after = read_name(buf, start, len(buf))
    assert name == "a.b.example.com"
    assert after == start + len(labels(b"a", b"b", end=b"")) + 2
    name, after = read_name(buf, 12, len(buf))
    assert (name, after) == ("example.com", start)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: header() + question(ptr(12)), id="self-pointer-in-question"),
        pytest.param(
            lambda: header(an=1) + question(labels(b"a")) + rr(ptr(12 + 3 + 4), 1, b"\x01\x02\x03\x04"),
            id="self-pointer-in-answer",
        ),
        pytest.param(
            # question name at 12: label "x" then a pointer forward to the answer name, which points back to 12.
            lambda: header(an=1) + question(labels(b"x", end=ptr(12 + 4 + 4))) + rr(ptr(12), 1, b"\x01\x02\x03\x04"),
            id="two-pointer-loop",
        ),
        pytest.param(
            lambda: header(an=1) + question(ptr(12 + 2 + 4)) + rr(labels(b"later", b"example"), 1, b"\x01\x02\x03\x04"),
            id="forward-pointer",
        ),
        pytest.param(lambda: header() + question(ptr(0x3FFF)), id="pointer-past-end"),
        pytest.param(lambda: header() + question(labels(b"a")[:-1] + b"\xc0"), id="pointer-cut-short"),
        pytest.param(lambda: header() + question(b"\x40abc\x00"), id="label-type-0x40"),
        pytest.param(lambda: header() + question(b"\x80abc\x00"), id="label-type-0x80"),
        pytest.param(lambda: header() + question(b"\x05ab"), id="label-past-end"),
        pytest.param(lambda: header() + question(labels(*[b"a" * 63] * 4)), id="name-257-octets"),
    ],
)
def test_malformed_names_raise(build) -> None:
    buf = build()
    with pytest.raises(ParseError):
        parse_message(buf)
    # And no prefix of it escapes as anything but ParseError either.
    for i in range(len(buf) + 1):
        with pytest.raises(ParseError):
            parse_message(buf[:i])


def test_pointer_loop_raises_in_answer_with_partial() -> None:
    q = question(labels(b"example", b"com"))
    loop_at = 12 + len(q)
    buf = header(an=1) + q + rr(ptr(loop_at), 1, b"\x01\x02\x03\x04")
    with pytest.raises(DnsParseError) as info:
        parse_message(buf)
    assert info.value.partial is not None
    assert [x.name for x in info.value.partial.questions] == ["example.com"]
    assert info.value.partial.answers == ()


def test_name_over_255_octets_through_pointers_raises() -> None:
    # 3 x 63-octet labels = 193 octets at offset 12; a 63-octet label plus a pointer to it makes 257.
    base = labels(*[b"b" * 63] * 3)
    buf = header(an=1) + question(base) + rr(labels(b"c" * 63, end=ptr(12)), 1, b"\x01\x02\x03\x04")
    assert parse_message(header() + question(base)).questions[0].name == ".".join(["b" * 63] * 3)
    with pytest.raises(ParseError):
        parse_message(buf)


def _name_of_octets(total: int) -> bytes:
    """A name whose wire form (length octets, label octets and the root's zero octet) is ``total`` long."""
    parts = []
    left = total - 1
    while left:
        n = min(63, left - 1)
        parts.append(b"x" * n)
        left -= n + 1
    raw = labels(*parts)
    assert len(raw) == total
    return raw


def test_name_of_exactly_255_octets_is_accepted() -> None:
    raw = _name_of_octets(255)
    msg = parse_message(header() + question(raw))
    assert len(msg.questions[0].name) == 255 - 2  # dotted text: one char per octet minus first length and root


def test_name_of_256_octets_raises() -> None:
    with pytest.raises(ParseError):
        parse_message(header() + question(_name_of_octets(256)))


def test_pointer_hop_cap() -> None:
    # An ignored (TXT) record whose rdata is a chain of backward pointers ending at the question name.
    def build(hops: int) -> bytes:
        q = question(labels(b"a"))
        txt_name = ptr(12)
        rdata_off = 12 + len(q) + len(txt_name) + 10
        chain = b"".join(ptr(12 if k == 0 else rdata_off + 2 * (k - 1)) for k in range(hops - 1))
        last = rdata_off + 2 * (hops - 2)
        return header(an=2) + q + rr(txt_name, 16, chain) + rr(ptr(last), 1, b"\x01\x01\x01\x01")

    ok = parse_message(build(dns.MAX_POINTER_HOPS))
    assert ok.answers[1].name == "a" and ok.answers[1].value == "1.1.1.1"
    with pytest.raises(ParseError):
        parse_message(build(dns.MAX_POINTER_HOPS + 1))


# -- record data ----------------------------------------------------------------------------------


def test_a_aaaa_cname_rdata() -> None:
    q = question(labels(b"svc", b"example", b"org"))
    v6 = ipaddress.IPv6Address("2001:db8:85a3::8a2e:370:7334")
    buf = header(an=4) + q
    buf += rr(ptr(12), 5, labels(b"lb", end=ptr(16)), ttl=3600)
    buf += rr(ptr(12), 1, bytes([198, 51, 100, 200]), ttl=1)
    buf += rr(ptr(12), 28, v6.packed, ttl=0xFFFFFFFF)
    buf += rr(ptr(12), 39, labels(b"other", b"net"))
    msg = parse_message(buf)
    assert_matches_scapy(msg, buf)
    assert [a.value for a in msg.answers] == ["lb.example.org", "198.51.100.200", v6.compressed, "other.net"]
    assert [a.ttl for a in msg.answers] == [3600, 1, 0xFFFFFFFF, 300]


@pytest.mark.parametrize(("rtype", "rdlen"), [(1, 3), (1, 5), (1, 16), (28, 4), (28, 15), (28, 17)])
def test_wrong_address_length_raises_with_partial(rtype: int, rdlen: int) -> None:
    buf = header(an=2) + question(labels(b"a", b"example"))
    buf += rr(ptr(12), 1, b"\x0a\x00\x00\x01") + rr(ptr(12), rtype, b"\x01" * rdlen)
    with pytest.raises(DnsParseError) as info:
        parse_message(buf)
    partial = info.value.partial
    assert partial is not None and [a.value for a in partial.answers] == ["10.0.0.1"]


def test_cname_running_past_rdlength_raises() -> None:
    buf = header(an=1) + question(labels(b"www", b"example", b"com"))
    # RDLENGTH says 4 ("\x03cdn"), the name's terminating zero octet lies outside the record.
    buf += ptr(12) + struct.pack("!HHIH", 5, 1, 60, 4) + b"\x03cdn" + b"\x00"
    with pytest.raises(ParseError):
        parse_message(buf)


@pytest.mark.parametrize(
    "raw",
    [b"a.b", b"\x07bell", b"sp ace", b"back\\slash", b"\xff\xfe", b"\x1b[31mred", b"tab\there", b"ok-name_1"],
)
def test_label_bytes_are_escaped(raw: bytes, dig_escape) -> None:
    buf = header(flags=0x0100, qd=1) + question(labels(raw, b"example"))
    name = parse_message(buf).questions[0].name
    assert name == dig_escape(raw, also_escape=b".") + ".example"
    assert all(0x20 < ord(c) < 0x7F for c in name)


def test_header_cut_short() -> None:
    for i in range(12):
        with pytest.raises(ParseError):
            parse_message(VALID["query-a"][:i])


def test_first_question_not_in_place_is_walked() -> None:
    # The first question's name is a label then a pointer back into the header, whose ID spells the
    # label "a" and whose flags' high octet ends the name: not in place, so the walk reads it, and the
    # answer owned by a pointer to offset 12 is read by the walk too (no in-place name to reuse).
    q = question(labels(b"x", end=ptr(0)))
    buf = header(ident=0x0161, flags=0x0080, an=1) + q + rr(ptr(12), 1, b"\x0a\x00\x00\x01")
    for _ in range(2):  # the second time past the name cache, which must not hold this name
        msg = parse_message(buf)
        assert [(x.name, x.qtype) for x in msg.questions] == [("x.a", 1)]
        assert [(r.name, r.value) for r in msg.answers] == [("x.a", "10.0.0.1")]
        assert msg.size == len(buf)


def test_zero_octet_inside_a_first_question_label() -> None:
    # The first zero octet ends no name here (it is inside the label "a\0b"): the in-place read goes
    # on to the real end, and the cache, keyed on the bytes up to the first zero octet, keeps nothing.
    buf = header(qd=2, flags=0x0100) + question(labels(b"a\x00b", b"example")) + question(labels(b"a"), qtype=28)
    for _ in range(2):
        msg = parse_message(buf)
        assert [(x.name, x.qtype) for x in msg.questions] == [("a\\000b.example", 1), ("a", 28)]
        assert msg.size == len(buf)
    assert b"\x03a\x00" not in dns._NAME_TEXT
