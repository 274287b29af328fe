"""End of capture: Engine.close finishes every open flow at once, and FlowRows turns a flow into the
same rows whatever shortcuts it takes (shared unnamed targets, the summary folded from values)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.engine import Engine
from analyzer.fastpath import run_pcap
from analyzer.flows import DnsFlow, Flow
from analyzer.naming import targets
from analyzer.pipeline import FlowRows
from analyzer.spill import SpillDir
from analyzer.summary import Summarizer
from parsers.capture import CaptureReader
from tests.support.paths import CAPTURES

CAPTURE_NAMES = ["sunbeam-install.pcap", "http-connect-proxy.pcap", "microk8s-install.pcap", "syn-no-reply.pcap"]


def _fed(path: Path, done: list[Flow | DnsFlow]) -> Engine:
    engine = Engine(on_flow_done=done.append)
    with path.open("rb") as fh:
        run_pcap(CaptureReader(fh, name=str(path)), engine, None, None)
    return engine


@pytest.mark.parametrize("capture", CAPTURE_NAMES)
def test_close_finishes_every_open_flow_once_in_map_order(capture: str) -> None:
    done: list[Flow | DnsFlow] = []
    engine = _fed(CAPTURES / capture, done)
    before = len(done)
    # The order _finish one flow at a time took them: connections, then DNS conversations, each in
    # the order their maps hold them.
    expected = [f for f, client in engine.flows.values() if client] + [
        f for f, client in engine.dns_flows.values() if client
    ]
    assert expected, "the capture must leave flows open for close to finish"
    finished = engine.finished
    engine.close()
    assert done[before:] == expected
    assert engine.finished == finished + len(expected)
    assert len({id(f) for f in done}) == len(done)  # none finished twice
    assert not engine.flows and not engine.dns_flows and not engine._closed
    assert engine.settled_tcp(b"") is None and not engine._settled_tcp and not engine._settled_udp
    for flow in done:
        if isinstance(flow, Flow):
            assert flow.fast_keys is None
            assert flow.c_stream is None and flow.s_stream is None  # released


@pytest.mark.parametrize("capture", CAPTURE_NAMES)
def test_the_summary_folded_from_values_is_the_one_folded_from_rows(capture: str) -> None:
    """FlowRows folds each observation from the values it has at hand (Summarizer.fold); a log's
    rows go through Summarizer.add.  Both must give the same summary, row for row."""
    done: list[Flow | DnsFlow] = []
    _fed(CAPTURES / capture, done).close()
    rows = FlowRows(SpillDir())
    for flow in done:
        rows.flow_done(flow)
    observations = rows.observations.finish()
    assert isinstance(observations, list) and observations
    from_rows = Summarizer()
    keys = sorted((f.first_ns, f.uid, i) for f in done for i, t in enumerate(targets(f)) if t.protocol != "DNS")
    assert len(keys) == len(observations)
    for key, row in zip(keys, observations, strict=True):
        from_rows.add(row, key)
    assert rows.summary.table().rows == from_rows.table().rows


def test_an_unnamed_target_is_shared_and_cannot_change() -> None:
    a = DnsFlow(1, 4, "10.0.0.5", 40000, "10.0.0.2", 53, 1_000, "dns")
    b = DnsFlow(2, 4, "10.0.0.6", 40001, "10.0.0.2", 53, 2_000, "dns")
    (ta,) = targets(a)
    assert targets(a) is targets(b)  # one per protocol and port
    assert (ta.protocol, ta.port, ta.fqdn, ta.source) == ("DNS", 53, None, "none")
    with pytest.raises(AttributeError):
        ta.fqdn = "changed"  # type: ignore[misc]
