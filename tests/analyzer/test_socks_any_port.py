"""SOCKS recognised by its handshake on any port, named by the tunnelled SNI or the SOCKS target,
with the target's address when the client asked for one; other protocols on odd ports untouched."""

from __future__ import annotations

import random

import pytest

from fixtures.builders.dns import wire_message
from fixtures.builders.packets import conversation
from fixtures.builders.tls import app_data, client_hello, server_flight
from tests.parsers.test_socks import socks4, socks5_greeting, socks5_login, socks5_request
from tests.support.engine_cases import BULK, both_paths

PROXY = "198.51.100.10"
GRANTED4 = b"\x00\x5a" + bytes(6)
CHOSEN = b"\x05\x00"
GRANTED5 = b"\x05\x00\x00\x01" + bytes(6)


def _tunnel(hello_sni: str | None) -> list[tuple[bool, bytes]]:
    """The tunnelled TLS: a ClientHello, the server's flight, then bulk data the fast path counts."""
    out: list[tuple[bool, bytes]] = []
    if hello_sni is not None:
        out += [(True, client_hello(hello_sni, seed="t")), (False, server_flight("t"))]
    out += [(i % 2 == 0, app_data(f"d{i}", 300)) for i in range(BULK)]
    return out


# (client/server exchange, proxy port, expected: fqdn, source, addresses)
CASES = {
    "socks4-ip-sni-odd-port": (
        [(True, socks4(443, "93.184.216.34")), (False, GRANTED4), *_tunnel("www.example.org")],
        4145,
        ("www.example.org", "sni", ["93.184.216.34"]),
    ),
    "socks4-ip-sni-known-port": (
        [(True, socks4(443, "93.184.216.34")), (False, GRANTED4), *_tunnel("www.example.org")],
        1080,
        ("www.example.org", "sni", ["93.184.216.34"]),
    ),
    "socks4a-domain": (
        [(True, socks4(443, "", b"", b"repo.example.org")), (False, GRANTED4), *_tunnel("repo.example.org")],
        10808,
        ("repo.example.org", "sni", []),
    ),
    "socks5-greeting-then-request": (
        [
            (True, socks5_greeting(0, 2)),
            (False, CHOSEN),
            (True, socks5_request("charmhub.example", 443)),
            (False, GRANTED5),
            *_tunnel("charmhub.example"),
        ],
        7890,
        ("charmhub.example", "sni", []),
    ),
    "socks5-login-ipv6-target": (
        [
            (True, socks5_greeting(2)),
            (False, b"\x05\x02"),
            (True, socks5_login(b"bob", b"pw")),
            (False, b"\x01\x00"),
            (True, socks5_request("2001:db8:0:0::7", 443)),
            (False, GRANTED5),
            *_tunnel("v6.example.org"),
        ],
        8889,
        ("v6.example.org", "sni", ["2001:db8::7"]),
    ),
    "socks5-ipv4-target-sni-differs": (
        [
            (True, socks5_greeting(0)),
            (False, CHOSEN),
            (True, socks5_request("93.184.216.34", 443)),
            (False, GRANTED5),
            *_tunnel("cdn.example.org"),
        ],
        20170,
        ("cdn.example.org", "sni", ["93.184.216.34"]),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_socks_on_any_port_is_named_and_addressed(case: str) -> None:
    messages, port, (fqdn, source, addresses) = CASES[case]
    report = both_paths(conversation(messages, port, server=PROXY))
    (row,) = report.summary.rows
    assert (row["protocol"], row["port"], row["fqdn"], row["source"]) == ("SOCKS", 443, fqdn, source)
    assert row["addresses"] == addresses
    assert row["vias"] == [f"{PROXY}:{port}"]
    assert row["verdict"] == "ok"
    assert report.parse_errors.rows == []


def test_socks4_without_sni_shows_the_target_address_and_port() -> None:
    """No name anywhere: the row carries the address the client asked the proxy for (what a network
    rule needs), not nothing.  The tunnelled bytes are not TLS: that is the tls layer's finding."""
    messages = [(True, socks4(8443, "93.184.216.34", b"svc")), (False, GRANTED4), *_tunnel(None)]
    report = both_paths(conversation(messages, 3128, server=PROXY))
    (row,) = report.summary.rows
    assert (row["protocol"], row["port"], row["fqdn"], row["addresses"]) == ("SOCKS", 8443, None, ["93.184.216.34"])
    assert not any(e["layer"] == "socks" for e in report.parse_errors.rows)


def test_a_refusing_socks_proxy_on_an_odd_port_is_proxy_denied() -> None:
    messages = [(True, socks4(443, "93.184.216.34")), (False, b"\x00\x5b" + bytes(6))]
    (row,) = both_paths(conversation(messages, 4145, server=PROXY)).summary.rows
    assert (row["protocol"], row["verdict"], row["addresses"]) == ("SOCKS", "proxy-denied", ["93.184.216.34"])


def _random_binary(seed: int) -> list[tuple[bool, bytes]]:
    rng = random.Random(seed)
    first = bytes((4 + seed % 2,)) + rng.randbytes(rng.randrange(40, 300))
    return [(True, first), (False, rng.randbytes(200)), *[(i % 2 == 0, rng.randbytes(300)) for i in range(BULK)]]


OTHERS = {
    "tls-5000": ([(True, client_hello("tls.example.org", seed="o")), (False, server_flight("o"))], 5000, "TLS"),
    "http-8080": (
        [(True, b"GET / HTTP/1.1\r\nHost: h.example.org\r\n\r\n"), (False, b"HTTP/1.1 200 OK\r\n\r\n")],
        8080,
        "HTTP",
    ),
    "dns-tcp-8053-length-0x0401": (
        [(True, b"\x04\x01" + wire_message(0x0101, "example.org", None).ljust(1025, b"\0"))],
        8053,
        "TCP",
    ),
    "dns-tcp-53-length-0x0502": (
        [(True, b"\x05\x02" + wire_message(0x0202, "example.org", None).ljust(1282, b"\0"))],
        53,
        None,  # DNS: reported in the dns table, not as a connection
    ),
    **{f"random-binary-{s}": (_random_binary(s), 40000 + s, "TCP") for s in range(6)},
}


@pytest.mark.parametrize("case", sorted(OTHERS))
def test_other_protocols_on_odd_ports_are_not_socks(case: str) -> None:
    messages, port, protocol = OTHERS[case]
    report = both_paths(conversation(messages, port))
    assert [r["protocol"] for r in report.summary.rows] == ([protocol] if protocol else [])
    assert all(f["via"] is None for f in report.flows.rows)
    assert not any(e["layer"] == "socks" for e in report.parse_errors.rows)
