"""SOCKS4/4a/5 handshakes: the strict sniffer that recognises SOCKS on any port, and the parser."""

from __future__ import annotations

import random
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.builders.dns import wire_message
from fixtures.builders.tls import client_hello
from parsers import socks


def socks4(port: int, ip: str, user: bytes = b"", domain: bytes | None = None, command: int = 1) -> bytes:
    address = socket.inet_aton("0.0.0.1") if domain is not None else socket.inet_aton(ip)
    out = bytes((4, command)) + struct.pack("!H", port) + address + user + b"\x00"
    return out + (domain + b"\x00" if domain is not None else b"")


def socks5_greeting(*methods: int) -> bytes:
    return bytes((5, len(methods), *methods))


def socks5_login(user: bytes, password: bytes) -> bytes:
    return bytes((1, len(user))) + user + bytes((len(password),)) + password


def socks5_request(host: str, port: int, command: int = 1) -> bytes:
    try:
        packed = socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        address = bytes((4 if len(packed) == 16 else 1,)) + packed
    except OSError:
        address = bytes((3, len(host))) + host.encode()
    return bytes((5, command, 0)) + address + struct.pack("!H", port)


# (client bytes, the request parse_request reads from them)
HANDSHAKES = {
    "socks4-ip": (socks4(443, "93.184.216.34"), (4, "93.184.216.34", 443)),
    "socks4-user": (socks4(80, "198.51.100.7", b"alice"), (4, "198.51.100.7", 80)),
    "socks4a-domain": (socks4(443, "", b"", b"example.org"), (4, "example.org", 443)),
    "socks4-bind": (socks4(2121, "198.51.100.7", b"u", command=2), (4, "198.51.100.7", 2121)),
    "socks5-ipv4": (socks5_greeting(0) + socks5_request("93.184.216.34", 443), (5, "93.184.216.34", 443)),
    "socks5-domain": (socks5_greeting(0, 2) + socks5_request("example.org", 443), (5, "example.org", 443)),
    "socks5-ipv6": (socks5_greeting(0) + socks5_request("2001:db8::1", 8443), (5, "2001:db8::1", 8443)),
    "socks5-login": (
        socks5_greeting(2) + socks5_login(b"bob", b"\x00s3cr\xffet") + socks5_request("example.org", 80),
        (5, "example.org", 80),
    ),
    "socks5-udp-associate": (socks5_greeting(0) + socks5_request("0.0.0.1", 53, 3), (5, "0.0.0.1", 53)),
}


@pytest.mark.parametrize("case", sorted(HANDSHAKES))
def test_every_prefix_waits_the_whole_is_socks_and_more_is_not(case: str) -> None:
    data, (version, host, port) = HANDSHAKES[case]
    for cut in range(1, len(data)):
        assert socks.sniff_request(data[:cut]) is None, cut
    assert socks.sniff_request(data) is True
    req = socks.parse_request(data)
    assert req is not None and (req.version, req.host, req.port, req.length) == (version, host, port, len(data))
    # A SOCKS client waits for the proxy's answer: bytes behind its request are another protocol's.
    assert socks.sniff_request(data + b"\x16") is False


NOT_SOCKS = {
    "tls-client-hello": client_hello("example.org", seed="socks"),
    "http-get": b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n",
    "http-connect": b"CONNECT example.org:443 HTTP/1.1\r\n\r\n",
    # DNS over TCP whose length prefix starts with 4 or 5: 0x0401 and 0x0502 bytes.
    "dns-tcp-1025": struct.pack("!H", 1025) + wire_message(0x0102, "a" * 50 + ".example.org", None).ljust(1025, b"\0"),
    "dns-tcp-1282": struct.pack("!H", 1282) + wire_message(0x0304, "example.org", None).ljust(1282, b"\0"),
    "ssh": b"SSH-2.0-OpenSSH_9.6\r\n",
    "socks4-port-0": socks4(0, "93.184.216.34"),
    "socks4-to-0.0.0.0": b"\x04\x01\x01\xbb\x00\x00\x00\x00\x00",
    "socks4-binary-user": socks4(443, "93.184.216.34", b"\x01\x02"),
    "socks4-command-3": socks4(443, "93.184.216.34", command=3),
    "socks5-repeated-method": socks5_greeting(0, 0) + socks5_request("example.org", 443),
    "socks5-unknown-method": socks5_greeting(0x0A),
    "socks5-no-methods": b"\x05\x00",
    "socks5-login-not-offered": socks5_greeting(0) + socks5_login(b"bob", b"pw"),
    "socks5-bad-request-version": socks5_greeting(0) + b"\x04\x01\x00\x01" + bytes(6),
    "socks5-reserved-byte": socks5_greeting(0) + b"\x05\x01\x01\x01" + bytes(4) + b"\x01\xbb",
    "socks5-address-type-2": socks5_greeting(0) + b"\x05\x01\x00\x02" + bytes(6),
    "socks5-space-in-name": socks5_greeting(0) + b"\x05\x01\x00\x03\x03a b\x01\xbb",
    "socks5-port-0": socks5_greeting(0) + socks5_request("example.org", 0),
}


@pytest.mark.parametrize("case", sorted(NOT_SOCKS))
def test_other_protocols_and_malformed_handshakes_are_not_socks(case: str) -> None:
    assert socks.sniff_request(NOT_SOCKS[case]) is False


def test_uniform_random_bytes_starting_with_a_socks_version_are_not_socks() -> None:
    """A binary protocol whose first byte is 4 or 5: 100,000 random first segments of 32-512 bytes."""
    rng = random.Random(10)
    for _ in range(100_000):
        data = bytes((rng.choice((4, 5)),)) + rng.randbytes(rng.randrange(31, 512))
        assert socks.sniff_request(data) is False, data.hex()


@settings(max_examples=3000, derandomize=True)
@given(st.binary(min_size=1, max_size=80), st.binary(min_size=1, max_size=8))
def test_sniff_is_a_prefix_decision(data: bytes, more: bytes) -> None:
    """What a stream sees grows: a refusal is final, a yes is the whole request, and only a wait may
    become either.  Whatever sniff accepts, the parser reads to the last byte."""
    verdict = socks.sniff_request(data)
    if verdict is False:
        assert socks.sniff_request(data + more) is False
    elif verdict is True:
        assert socks.sniff_request(data + more) is False
        req = socks.parse_request(data)
        assert req is not None and req.length == len(data)


@settings(max_examples=1000, derandomize=True)
@given(
    st.sampled_from((4, 5)),
    st.integers(1, 65535),
    st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}", fullmatch=True),
    st.binary(max_size=40),
)
def test_built_handshakes_are_found_with_any_trailing_tunnel_data_refused(
    version: int, port: int, host: str, tail: bytes
) -> None:
    data = socks4(port, "", b"u", host.encode()) if version == 4 else socks5_greeting(0) + socks5_request(host, port)
    assert socks.sniff_request(data) is True
    assert socks.sniff_request(data + tail) is (not tail)
