"""The light DNS path: a UDP conversation on a DNS port is a DnsFlow, never a full Flow, and gives
exactly what a Flow fed the same datagrams gives (the Flow is the reference)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analyzer.engine import Engine
from analyzer.flows import PROTO_UDP, DnsFlow, Flow
from analyzer.naming import targets
from analyzer.verdicts import verdict
from parsers.capture import CaptureReader
from parsers.errors import ParseError
from tests.support.paths import CAPTURES

_QUERY = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")
_ANSWER = bytes.fromhex(
    "123481800001000100000000076578616d706c6503636f6d0000010001c00c000100010000003c00045db8d822"
)

FEEDS: dict[str, list[tuple[bool, bytes, int]]] = {
    "answered": [(True, _QUERY, 80), (False, _ANSWER, 96)],
    "unanswered": [(True, _QUERY, 80), (True, _QUERY, 80)],
    "answer first": [(False, _ANSWER, 96)],
    "cut after the question": [(True, _QUERY, 80), (False, _ANSWER[:-6], 90)],
    "garbage": [(True, b"\x00\x01", 60), (False, b"", 42)],
}


def _run(flow: Flow | DnsFlow, feed: list[tuple[bool, bytes, int]]) -> tuple[list[Any], list[Any]]:
    errors: list[Any] = []
    messages: list[Any] = []
    for i, (from_client, payload, wirelen) in enumerate(feed):
        flow.udp_packet(
            from_client,
            payload,
            wirelen,
            1_000 + i,
            lambda e: errors.append((e.layer, e.reason)),
            lambda f, m, ts: messages.append((f is flow, m, ts)),
        )
    return errors, messages


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_a_dns_flow_is_what_a_flow_would_be(name: str) -> None:
    feed = FEEDS[name]
    server_first = not feed[0][0]
    full = Flow(7, PROTO_UDP, 4, "10.0.0.5", 40000, "10.0.0.2", 53, 1_000)
    light = DnsFlow(7, 4, "10.0.0.5", 40000, "10.0.0.2", 53, 1_000, "dns")
    full.server_first = light.server_first = server_first
    assert _run(full, feed) == _run(light, feed)
    assert verdict(full) == verdict(light)
    assert targets(full) == targets(light)
    for attr in ("c_packets", "s_packets", "c_bytes", "s_bytes", "c_payload", "s_payload", "last_ns", "service"):
        assert getattr(full, attr) == getattr(light, attr), attr
    for attr in ("sni", "ech", "requests", "http_status", "syn_count", "tls_hello", "quic", "rst_from"):
        assert getattr(full, attr) == getattr(light, attr), attr  # what the row reads from a Flow
    assert list(full.host_headers) == list(light.host_headers)


def _flows(path: Path) -> list[Flow | DnsFlow]:
    engine = Engine()
    with path.open("rb") as fh:
        engine.feed(CaptureReader(fh, name=str(path)))
    return engine.close()


@pytest.mark.parametrize("capture", ["sunbeam-install.pcap", "microk8s-install.pcap", "dns-tcp.pcap"])
def test_dns_over_udp_takes_the_light_path_and_nothing_else_does(capture: str) -> None:
    flows = _flows(CAPTURES / capture)
    light = [f for f in flows if isinstance(f, DnsFlow)]
    assert light or capture == "dns-tcp.pcap"
    for f in flows:
        on_dns_port = f.proto == PROTO_UDP and f.service is not None
        assert isinstance(f, DnsFlow) == on_dns_port, (f.client, f.cport, f.server, f.sport)


def test_a_dns_parse_error_is_reported_like_a_flows() -> None:
    light = DnsFlow(1, 4, "10.0.0.5", 40000, "10.0.0.2", 53, 0, "dns")
    errors: list[ParseError] = []
    light.udp_packet(True, b"\xff", 43, 1, errors.append, lambda f, m, ts: None)
    assert [e.layer for e in errors] == ["dns"]
