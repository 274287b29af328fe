"""Closed connections finish CLOSED_LINGER_NS after their last packet, whichever packet closed
them and however late packets moved that time on: Engine.evict skips its walk of the closed
flows only while none of them can be due."""

from __future__ import annotations

from analyzer.engine import CLOSED_LINGER_NS, Engine
from analyzer.flows import AnyFlow
from parsers.transport import TCP_ACK, TCP_FIN, TCP_SYN

S = 1_000_000_000
_ETH = bytes(14)  # a unicast Ethernet header: all tcp4 reads of the link
_C, _S = b"\x0a\x00\x00\x05", b"\xcb\x00\x71\x09"


def _close(engine: Engine, cport: int, t: int) -> None:
    """A connection from cport opened and closed (FIN both ways) at capture time t."""
    steps = [
        (True, 100, TCP_SYN),
        (False, 500, TCP_SYN | TCP_ACK),
        (True, 101, TCP_FIN | TCP_ACK),
        (False, 501, TCP_FIN | TCP_ACK),
    ]
    for k, (from_client, seq, flags) in enumerate(steps):
        ends = (_C, _S, cport, 443) if from_client else (_S, _C, 443, cport)
        engine.tcp4(k + 1, t, 60, 1, _ETH, 0, *ends, seq, flags, b"")


def _late_ack(engine: Engine, cport: int, t: int) -> None:
    engine.tcp4(9, t, 60, 1, _ETH, 0, _C, _S, cport, 443, 102, TCP_ACK, b"")


def _done(engine: Engine) -> list[int]:
    flows: list[AnyFlow] = engine.done
    return sorted(f.cport for f in flows)


def test_closed_flows_finish_after_the_linger_each_by_its_own_last_packet() -> None:
    engine = Engine()
    _close(engine, 40001, 0)
    _close(engine, 40002, 20 * S)
    _close(engine, 40003, 1 * S)
    _late_ack(engine, 40003, 25 * S)  # after its close: its linger runs from here
    engine.evict(CLOSED_LINGER_NS)
    assert _done(engine) == []
    engine.evict(CLOSED_LINGER_NS + 1)
    assert _done(engine) == [40001]
    engine.evict(20 * S + CLOSED_LINGER_NS)
    assert _done(engine) == [40001]
    engine.evict(20 * S + CLOSED_LINGER_NS + 1)
    assert _done(engine) == [40001, 40002]
    engine.evict(25 * S + CLOSED_LINGER_NS + 1)
    assert _done(engine) == [40001, 40002, 40003]
    assert not engine._closed and not engine.flows


def test_a_flow_closed_after_an_evict_that_found_none_due_is_still_finished() -> None:
    engine = Engine()
    engine.evict(5 * S)  # nothing closed yet
    _close(engine, 40001, 10 * S)
    engine.evict(10 * S + CLOSED_LINGER_NS + 1)
    assert _done(engine) == [40001]
