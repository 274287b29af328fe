"""parsers.tls on ClientHellos built by hand from RFC 8446 / RFC 6066 / RFC 7301, checked with dpkt.

scapy's TLS layer needs the ``cryptography`` package (not a project dependency), so the messages are
built here from the wire layout and dpkt.ssl parses every one of them as an independent sanity check.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import dpkt
import pytest

from fixtures.builders.tls import Hello, ext, padding_ext, records
from fixtures.builders.wire import u16
from parsers.errors import ParseError
from parsers.tls import (
    MAX_CLIENT_HELLO,
    ClientHello,
    looks_like_client_hello,
    looks_like_tls_record,
    parse_client_hello,
    parse_client_hello_message,
)


def expected(hello: Hello, escape: Callable[[bytes], str]) -> ClientHello:
    """What the parser must give back for ``hello``."""
    return ClientHello(
        None if hello.sni is None or hello.no_extensions else escape(hello.sni),
        () if hello.no_extensions else tuple(p.decode() for p in hello.alpn),
        hello.ech and not hello.no_extensions,
        hello.legacy_version,
        () if hello.no_extensions else hello.versions,
        len(hello.body()),
    )


def dpkt_view(stream: bytes) -> tuple[list[int], int, list[int]]:
    """dpkt's reading of the records: their lengths, the handshake type and the extension types."""
    recs, used = dpkt.ssl.tls_multi_factory(stream)
    assert used == len(stream)
    hs_bytes = b"".join(r.data for r in recs)
    hs = dpkt.ssl.TLSHandshake(hs_bytes)
    hello = hs.data
    ext_types = [t for t, _ in getattr(hello, "extensions", [])]
    return [len(r.data) for r in recs], hs.type, ext_types


CASES: dict[str, tuple[Hello, tuple[int, ...]]] = {
    "one-record": (Hello(), ()),
    "split-1-byte-first-record": (Hello(), (1,)),
    "split-inside-handshake-header": (Hello(), (3,)),
    "split-after-handshake-header": (Hello(), (4,)),
    "split-inside-random": (Hello(), (20,)),
    "split-inside-sni": (Hello(), (90,)),
    "three-records": (Hello(), (2, 60)),
    "sni-only": (Hello(alpn=(), versions=()), ()),
    "alpn-only-no-sni": (Hello(sni=None), ()),
    "ech-outer-sni": (Hello(sni=b"public.example.net", ech=True), (50,)),
    "grease-and-unknown-first": (
        Hello(extra_before=[ext(0x0A0A, b""), ext(0xFF01, b"\x00"), ext(10, b"\x00\x02\x00\x1d")]),
        (),
    ),
    "sni-with-control-bytes": (Hello(sni=b"evil\x1b[2J.example\x00.com\\x"), ()),
    "sni-ipv4-literal": (Hello(sni=b"192.0.2.1"), ()),
    "no-session-id": (Hello(session_id=b""), ()),
    "no-extensions": (Hello(no_extensions=True, legacy_version=0x0300), ()),
    "empty-extensions-block": (Hello(sni=None, alpn=(), versions=()), ()),
    "tls12-record-version": (Hello(legacy_version=0x0303, versions=()), ()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_client_hello_three_ways(case: str, stream_check, dig_escape) -> None:
    hello, sizes = CASES[case]
    msg = hello.message()
    stream = records(msg, sizes)
    rec_lens, hs_type, ext_types = dpkt_view(stream)
    assert hs_type == 1 and sum(rec_lens) == len(msg)
    if not hello.no_extensions and hello.extensions():
        assert ext_types == [struct.unpack_from("!H", e)[0] for e in hello.extensions()]
    got = stream_check(parse_client_hello, stream)
    assert got == expected(hello, dig_escape)


def test_split_at_every_point_over_two_records(dig_escape) -> None:
    hello = Hello(sni=b"split.example.org", ech=True)
    msg = hello.message()
    for cut in range(1, len(msg)):
        stream = records(msg, (cut,))
        assert parse_client_hello(stream) == expected(hello, dig_escape), f"split at {cut}"
        assert parse_client_hello(stream[: 5 + cut]) is None  # first record alone
        assert parse_client_hello(stream[:-1]) is None


@pytest.mark.parametrize("record_version", [0x0300, 0x0301, 0x0302, 0x0303])
def test_record_versions(record_version: int, dig_escape) -> None:
    hello = Hello()
    assert parse_client_hello(records(hello.message(), version=record_version)) == expected(hello, dig_escape)


def test_large_client_hello_spans_max_size_records(dig_escape) -> None:
    # Post-quantum key shares make ClientHellos larger than one 16 KiB record.
    hello = Hello(extra_after=[padding_ext(20000)])
    msg = hello.message()
    stream = records(msg, (16384,))
    assert dpkt_view(stream)[0] == [16384, len(msg) - 16384]
    assert parse_client_hello(stream) == expected(hello, dig_escape)
    # Strict prefixes around the record boundary and the end still need more bytes.
    for i in (5, 5 + 16383, 5 + 16384, 5 + 16384 + 5, len(stream) - 1):
        assert parse_client_hello(stream[:i]) is None


def test_ech_sets_flag_and_keeps_outer_sni() -> None:
    plain = parse_client_hello(records(Hello(sni=b"cover.example").message()))
    with_ech = parse_client_hello(records(Hello(sni=b"cover.example", ech=True).message()))
    assert plain is not None and with_ech is not None
    assert (plain.ech, with_ech.ech) == (False, True)
    assert plain.sni == with_ech.sni == "cover.example"


def test_sni_with_control_bytes_comes_back_escaped(dig_escape) -> None:
    raw = b"a\x00b\x07c\x1b]0;pwn\x07\x7f\xff .\\"
    got = parse_client_hello(records(Hello(sni=raw).message()))
    assert got is not None
    assert got.sni == dig_escape(raw)
    assert all(0x21 <= ord(c) <= 0x7E for c in got.sni)


def test_first_host_name_entry_wins() -> None:
    entries = bytes([1]) + u16(3) + b"abc" + bytes([0]) + u16(6) + b"first." + bytes([0]) + u16(6) + b"second"
    hello = Hello(sni=None, extra_before=[ext(0, u16(len(entries)) + entries)])
    got = parse_client_hello(records(hello.message()))
    assert got is not None and got.sni == "first."


@pytest.mark.parametrize("ctype", [20, 21, 23, 24])
def test_non_handshake_record_first_raises(ctype: int) -> None:
    stream = records(b"\x17" * 40, ctype=ctype, version=0x0303)
    with pytest.raises(ParseError):
        parse_client_hello(stream)
    with pytest.raises(ParseError):
        parse_client_hello(stream[:5])  # the header alone already says it is not a handshake


@pytest.mark.parametrize("hs_type", [0, 2, 4, 11, 16, 20])
def test_non_client_hello_handshake_raises(hs_type: int) -> None:
    msg = bytes([hs_type]) + Hello().message()[1:]
    stream = records(msg)
    with pytest.raises(ParseError):
        parse_client_hello(stream)
    with pytest.raises(ParseError):
        parse_client_hello(stream[:6])  # record header + the handshake type byte


def test_application_data_between_client_hello_records_raises() -> None:
    msg = Hello().message()
    stream = records(msg[:30]) + records(b"\x00" * 10, ctype=23) + records(msg[30:])
    with pytest.raises(ParseError):
        parse_client_hello(stream)


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(b"\x16\x02\x00\x00\x10" + b"\x01" * 16, id="record-version-2.0"),
        pytest.param(b"\x16\x03\x01\x00\x00", id="record-length-0"),
        pytest.param(b"\x16\x03\x01\x48\x01" + b"\x01", id="record-length-over-max"),
        pytest.param(
            records(b"\x01" + (MAX_CLIENT_HELLO + 1).to_bytes(3, "big") + b"\x03\x03" * 10), id="hello-too-long"
        ),
    ],
)
def test_bad_record_layer_raises(stream: bytes) -> None:
    with pytest.raises(ParseError):
        parse_client_hello(stream)


def _with_body(body: bytes) -> bytes:
    return records(b"\x01" + len(body).to_bytes(3, "big") + body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\x03\x03" + b"\x00" * 20, id="shorter-than-random"),
        pytest.param(b"\x03\x03" + b"\x00" * 32 + b"\x20" + b"\x00" * 10, id="session-id-overruns"),
        pytest.param(b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x40\x13\x01", id="cipher-suites-overrun"),
        pytest.param(
            b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x05\x00", id="compression-overruns"
        ),
        pytest.param(
            b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + b"\x00\x30" + ext(0, b""),
            id="extensions-length-overruns",
        ),
        pytest.param(
            b"\x03\x03" + b"\x00" * 32 + b"\x00\x00\x02\x13\x01\x01\x00" + b"\x00\x08" + b"\x00\x00\x00\x10\x00\x0e",
            id="extension-overruns-block",
        ),
        pytest.param(
            Hello(sni=None, extra_before=[ext(0, u16(20) + b"\x00\x00\x03abc")]).body(), id="sni-list-overruns"
        ),
        pytest.param(
            Hello(sni=None, extra_before=[ext(0, u16(6) + b"\x00\x00\x09abc")]).body(), id="sni-name-overruns"
        ),
        pytest.param(Hello(sni=None, extra_before=[ext(0, b"\x00")]).body(), id="sni-extension-1-byte"),
    ],
)
def test_malformed_client_hello_body_raises(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_client_hello(_with_body(body))


def test_looks_like_client_hello_on_every_prefix() -> None:
    stream = records(Hello().message())
    for i in range(len(stream) + 1):
        assert looks_like_client_hello(stream[:i]), i
    assert not looks_like_client_hello(b"GET / HTTP/1.1\r\n")
    assert not looks_like_client_hello(records(b"\x02\x00\x00\x00"))  # ServerHello
    assert not looks_like_client_hello(b"\x17\x03\x03\x00\x10")


def test_looks_like_tls_record() -> None:
    for ctype in (20, 21, 22, 23):
        assert looks_like_tls_record(bytes([ctype]) + b"\x03\x03\x00\x02\x00\x00")
    assert not looks_like_tls_record(b"HTTP/1.1 200 OK\r\n")
    assert not looks_like_tls_record(b"\x16\x03")
    assert not looks_like_tls_record(b"\x18\x03\x03\x00\x01")


@pytest.mark.parametrize("case", sorted(CASES))
def test_client_hello_message_without_records_three_ways(case: str, stream_check, dig_escape) -> None:
    """QUIC carries the handshake message in CRYPTO frames, with no TLS record layer."""
    hello, _sizes = CASES[case]
    got = stream_check(parse_client_hello_message, hello.message())
    assert got == expected(hello, dig_escape)


def test_client_hello_message_of_another_type_raises() -> None:
    with pytest.raises(ParseError):
        parse_client_hello_message(b"\x02\x00\x00\x04abcd")  # ServerHello
    with pytest.raises(ParseError):
        parse_client_hello_message(b"\x0b")  # Certificate, known from the first byte
