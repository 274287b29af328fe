"""A decoder bug (ValueError, IndexError, KeyError, struct.error, TypeError) in one packet never ends the run: it
lands in the parse-errors table as an ``internal`` row with the packet's frame number, and the next
packets are read.

Each of the engine's four ways in is covered: a frame from the full decoder (``frame``), an IP packet
from the fast path (``ipv4_packet``), and the fast path's plain TCP segment and UDP datagram (``tcp4``,
``udp4``). The bug is raised by an engine subclass from the step each way calls inside its guard.
``make test-compiled`` runs this against the compiled engine too, where the guards are C: mypyc types
an ``except`` clause's variable, and the same name given a DnsParseError and then a plain ParseError
once ended a run with a TypeError (analyzer.flows.DnsFlow.udp_packet).
"""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether

from analyzer.engine import Engine
from analyzer.fastpath import run_pcap
from parsers.capture import CaptureReader
from tests.support.fastpath_cases import seq_pcap

CLIENT, SERVER = "10.0.0.5", "203.0.113.80"
BUGS = {
    "ValueError": ValueError,
    "IndexError": IndexError,
    "KeyError": KeyError,
    "struct.error": struct.error,
    "TypeError": TypeError,  # what the compiled build raises for a value of the wrong type
}


def _tcp_syn(sport: int) -> bytes:
    return bytes(Ether() / IP(src=CLIENT, dst=SERVER) / TCP(sport=sport, dport=443, flags="S", seq=1))


def _udp(sport: int) -> bytes:
    return bytes(Ether() / IP(src=CLIENT, dst=SERVER) / UDP(sport=sport, dport=9999) / b"datagram")


def _icmp(ident: int) -> bytes:
    return bytes(Ether() / IP(src=CLIENT, dst=SERVER) / ICMP(id=ident))


class _Buggy(Engine):
    """The real engine, whose step ``broken`` raises ``bug`` for every packet reaching it."""

    def __init__(self, broken: str, bug: type[Exception]) -> None:
        super().__init__()
        self.broken, self.bug = broken, bug

    def _raise_if(self, step: str) -> None:
        if step == self.broken:
            raise self.bug(f"injected in {step}")

    def network(self, *args: Any) -> None:
        self._raise_if("network")
        super().network(*args)

    def ip(self, *args: Any) -> None:
        self._raise_if("ip")
        super().ip(*args)

    def _tcp_open(self, *args: Any) -> Any:
        self._raise_if("_tcp_open")
        return super()._tcp_open(*args)

    def _udp(self, *args: Any) -> None:
        self._raise_if("_udp")
        super()._udp(*args)


def _run(engine: Engine, frames: list[bytes], fast: bool) -> None:
    reader = CaptureReader(io.BytesIO(seq_pcap(frames)), name="t")
    if fast:
        run_pcap(reader, engine)
    else:
        engine.feed(reader)
    engine.close()


# (way in, step broken, packets, whether the fast path reads them): every packet reaches the broken step.
WAYS = {
    "frame": ("network", [_tcp_syn(40000 + i) for i in range(3)], False),
    "ipv4_packet": ("ip", [_icmp(i) for i in range(3)], True),
    "tcp4": ("_tcp_open", [_tcp_syn(40000 + i) for i in range(3)], True),
    "udp4": ("_udp", [_udp(50000 + i) for i in range(3)], True),
}


@pytest.mark.parametrize("bug", BUGS)
@pytest.mark.parametrize("way", WAYS)
def test_a_decoder_bug_is_an_internal_parse_error_and_the_run_goes_on(way: str, bug: str) -> None:
    step, frames, fast = WAYS[way]
    engine = _Buggy(step, BUGS[bug])
    _run(engine, frames, fast)
    name = BUGS[bug].__name__
    assert [(e.frame, e.layer) for e in engine.errors] == [(1, "internal"), (2, "internal"), (3, "internal")]
    assert all(e.reason.startswith(f"internal: {name}: ") and f"injected in {step}" in e.reason for e in engine.errors)
    assert engine.stats.parse_errors == 3
    assert engine.stats.packets == 3  # every packet was counted, the bug's and the ones after it


@pytest.mark.parametrize("way", WAYS)
def test_without_the_bug_the_same_packets_make_no_error(way: str) -> None:
    """The oracle's other half: the packets themselves are good, so every row above is the bug's."""
    _step, frames, fast = WAYS[way]
    engine = _Buggy("none", ValueError)
    _run(engine, frames, fast)
    assert engine.errors == []
    assert engine.stats.packets == 3
