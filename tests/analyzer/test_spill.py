"""Flat memory: rows written to disk as flows finish give exactly the report held in memory.

Every fixture and corpus capture is analysed twice, once as usual and once with every table
spilling after three rows (analyzer.spill), and the whole reviewed report must come out
byte-identical in JSON and equal in Arrow.  A capture with many connections must keep only a
bounded number of Flow objects and rows in memory while it runs (counted, never timed).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer import api, pipeline, schema
from analyzer.engine import Engine
from analyzer.fastpath import run_pcap
from analyzer.flows import DnsFlow, Flow
from analyzer.frames import Table
from analyzer.options import Options
from analyzer.report import Report
from analyzer.summary import Summarizer
from parsers.capture import CaptureReader
from parsers.capture_writer import CaptureWriter
from reports import jsondoc
from tests.support.paths import CAPTURES, CORPUS, REPLAY, ROOT

TINY = 3  # rows a table holds before it spills: every capture with a few connections spills


def _corpus() -> list[str]:
    if not CORPUS.is_dir():
        return ["(corpus absent)"]
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix in (".pcap", ".pcapng", ".gz"))


def _analyze(path: Path, spill_rows: int, allowlist: Path | None = None) -> Report:
    with path.open("rb") as fh:
        report = pipeline.analyze_stream(fh, str(path), spill_rows=spill_rows)
    rules = api.read_allowlist(allowlist) if allowlist is not None else None
    return api.reviewed(report, rules, Options())


def _same_report(path: Path, allowlist: Path | None = None) -> None:
    held = _analyze(path, pipeline.SPILL_ROWS, allowlist)
    spilled = _analyze(path, TINY, allowlist)
    for name in ("flows", "observations", "dns"):
        if len(held.table(name)) > TINY:  # the test must exercise the disk, not just agree
            assert spilled.table(name).spilled, name
            assert not held.table(name).spilled, name
    assert jsondoc.render(spilled) == jsondoc.render(held)
    for name in schema.TABLES:
        assert spilled.table(name).rows == held.table(name).rows, name
        assert spilled.table(name).to_arrow().equals(held.table(name).to_arrow()), name
    assert spilled.noise() == held.noise()
    assert spilled.dns_only() == held.dns_only()
    directory = spilled.spill.path if spilled.spill is not None else None
    spilled.close()
    assert directory is None or not directory.exists()


@pytest.mark.parametrize("capture", sorted(p.name for p in CAPTURES.glob("*.pcap*")))
def test_spilling_changes_nothing_on_fixtures(capture: str) -> None:
    _same_report(CAPTURES / capture)


@pytest.mark.parametrize(
    ("capture", "allowlist"),
    [
        ("sunbeam-install.pcap", "sunbeam.allowlist.md"),
        ("microk8s-install.pcap", "microk8s.cilium.yaml"),
        ("aks-bootstrap.pcap", "aks.bicep"),
    ],
)
def test_spilling_changes_nothing_in_the_review(capture: str, allowlist: str) -> None:
    """The review writes noise and dns-only into spilled DNS rows as they stream back."""
    _same_report(CAPTURES / capture, REPLAY / allowlist)


@pytest.mark.parametrize("capture", _corpus())
def test_spilling_changes_nothing_on_the_corpus(capture: str) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    _same_report(CORPUS / capture)


# ------------------------------------------------------------------ many connections

_ETH = b"\x00\x16\x3e\x00\x00\x01\x00\x16\x3e\x00\x00\x02\x08\x00"
_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")
_SCANNER = bytes([10, 0, 0, 5])


def _scan(path: Path, connections: int) -> None:
    """A SYN scan: every third probe answered by RST, every third by SYN-ACK, the rest silent."""
    with path.open("wb") as fh:
        out = CaptureWriter(fh, format="pcap")
        t = 1_718_000_000_000_000_000

        def tcp(src: bytes, dst: bytes, sp: int, dp: int, seq: int, ack: int, flags: int) -> None:
            nonlocal t
            seg = _TCP.pack(sp, dp, seq, ack, 0x50, flags, 65535, 0, 0)
            t += 10_000
            out.write(t, _ETH + _IP.pack(0x45, 0, 20 + len(seg), 0, 0x4000, 64, 6, 0, src, dst) + seg)

        for i in range(connections):
            target = bytes([198, 18, i >> 8 & 0xFF, i & 0xFF])
            sport = 40000 + i % 20000
            tcp(_SCANNER, target, sport, 443, i, 0, 0x02)
            if i % 3 == 0:
                tcp(target, _SCANNER, 443, sport, 0, i + 1, 0x14)
            elif i % 3 == 1:
                tcp(target, _SCANNER, 443, sport, 7 + i, i + 1, 0x12)
        out.close()


def test_a_scan_keeps_few_flows_and_rows_in_memory(tmp_path: Path) -> None:
    """With a cap of 1000 open flows and 500 rows per table, 30 000 connections never hold more
    than the cap (plus what arrives between two eviction checks) in memory, and give the same
    tables as an analysis that held everything."""
    path = tmp_path / "scan.pcap"
    _scan(path, 30_000)
    spill_dir = pipeline.SpillDir()
    rows = pipeline.FlowRows(spill_dir, spill_rows=500)
    peaks = {"open": 0, "flows_alive": 0, "rows": 0}

    def done(flow: Flow | DnsFlow) -> None:
        rows.flow_done(flow)
        peaks["open"] = max(peaks["open"], engine.open_flows())
        peaks["rows"] = max(peaks["rows"], rows.held())
        if flow.uid % 5000 == 0:  # a census of every Flow object the interpreter still holds
            alive = sum(1 for o in gc.get_objects() if isinstance(o, Flow | DnsFlow))
            peaks["flows_alive"] = max(peaks["flows_alive"], alive)

    engine = Engine(on_flow_done=done, max_open=1000)
    with path.open("rb") as fh:
        run_pcap(CaptureReader(fh, name=str(path)), engine, None, None)
        engine.close()
    # Between two checks (every 16 384 records) at most that many new flows can open.
    slack = 16_384
    assert engine.finished == 30_000
    assert 0 < peaks["open"] <= 1000 + slack
    assert 0 < peaks["flows_alive"] <= 1000 + slack + 10
    assert peaks["rows"] <= 3 * 500
    assert engine.shed > 0  # the silent probes were still open when the cap was reached
    assert "ended early" in engine.shed_warnings()[0]
    flows = Table("flows", rows.flows.finish())
    assert flows.spilled and len(flows) == 30_000
    with path.open("rb") as fh:
        held = pipeline.analyze_stream(fh, str(path), spill_rows=10**9)  # everything in memory, no cap reached
    assert len(held.flows) == 30_000 and not held.flows.spilled and "ended early" not in str(held.warnings)
    # Every probe was answered at once or never: ending the oldest early changed no row.
    assert flows.rows == held.flows.rows
    assert Table("observations", rows.observations.finish()).rows == held.observations.rows
    assert rows.summary.table().rows == held.summary.rows
    spill_dir.cleanup()


def test_unnamed_destinations_beyond_the_cap_are_counted_together() -> None:
    summarizer = Summarizer(max_address_groups=2)
    base = {
        "protocol": "TCP",
        "port": 443,
        "fqdn": None,
        "bytes": 60,
        "verdict": "no-reply",
        "first_seen": 10,
        "last_seen": 20,
        "source": "none",
        "via": None,
        "detail": "1 SYN(s), no answer",
        "link_broadcast": False,
    }
    for i in range(5):
        summarizer.add({**base, "address": f"198.18.0.{i}", "count": 1}, (i,))
    summarizer.add({**base, "fqdn": "example.org", "address": "198.18.1.1", "count": 1}, (9,))
    rows = summarizer.table().rows
    listed = [r for r in rows if r["fqdn"] is None and r["addresses"]]
    assert sorted(a for r in listed for a in r["addresses"]) == ["198.18.0.0", "198.18.0.1"]
    (other,) = [r for r in rows if r["fqdn"] is None and not r["addresses"]]
    assert other["count"] == 3
    assert other["detail"].startswith("addresses beyond the first 2 listed")
    assert [r["fqdn"] for r in rows if r["fqdn"]] == ["example.org"]  # named groups are never capped
    assert sum(r["count"] for r in rows) == 6
    (warning,) = summarizer.warnings()
    assert "3 more connections" in warning
    assert Summarizer().warnings() == []


def test_detail_ties_go_to_the_first_in_report_order_whatever_the_arrival_order() -> None:
    row = {
        "protocol": "UDP",
        "port": 123,
        "fqdn": "ntp.example",
        "address": "198.18.0.1",
        "count": 1,
        "bytes": 1,
        "verdict": "no-reply",
        "first_seen": 1,
        "last_seen": 1,
        "source": "dns",
        "via": None,
        "link_broadcast": False,
    }
    forward, backward = Summarizer(), Summarizer()
    forward.add({**row, "detail": "a"}, (1,))
    forward.add({**row, "detail": "b"}, (2,))
    backward.add({**row, "detail": "b"}, (2,))
    backward.add({**row, "detail": "a"}, (1,))
    (row_forward,) = forward.table().rows  # table() is read once: it hands its groups over as rows
    (row_backward,) = backward.table().rows
    assert row_forward == row_backward
    assert row_forward["detail"] == "a (1 of 2 connections)"


def test_a_spilled_table_keeps_the_table_surface() -> None:
    held = _analyze(CAPTURES / "sunbeam-install.pcap", pipeline.SPILL_ROWS)
    spilled = _analyze(CAPTURES / "sunbeam-install.pcap", TINY)
    a, b = held.flows, spilled.flows
    assert b.spilled and len(a) == len(b) > TINY
    assert list(a) == list(b)
    assert a.column("fqdn") == b.column("fqdn")
    assert a.where(protocol="TLS").rows == b.where(protocol="TLS").rows
    assert a.to_pandas().equals(b.to_pandas())
    assert sum(x.num_rows for x in b.arrow_batches(rows_per_batch=4)) == len(b)
    # To another process (analyze_many) a spilled table travels whole, and so does its report.
    again = pickle.loads(pickle.dumps(b))
    assert not again.spilled and again.rows == a.rows
    report = pickle.loads(pickle.dumps(spilled))
    assert not report.flows.spilled and jsondoc.render(report) == jsondoc.render(held)
    assert "(spilled)" in repr(b)


@pytest.mark.parametrize("order", ["ascending", "shuffled", "descending"])
def test_a_sink_gives_its_rows_in_key_order_however_they_came(order: str) -> None:
    keys = list(range(1000))
    if order == "shuffled":
        keys = keys[::7] + [k for k in keys if k % 7]  # every run overlaps the others
    elif order == "descending":
        keys.reverse()
    spill_dir = pipeline.SpillDir()
    sink = pipeline.RowSink("parse_errors", spill_dir, run_rows=64)
    for k in keys:
        sink.add((k // 10, k % 10), {"frame": k, "layer": "x" * (k % 5), "reason": None if k % 3 else "r"})
    rows = sink.finish()
    assert not isinstance(rows, list) and rows.count == 1000
    assert rows.in_order == (order == "ascending")  # ascending runs are read one after another
    assert [r["frame"] for r in rows] == list(range(1000))
    assert list(rows) == [{"frame": k, "layer": "x" * (k % 5), "reason": None if k % 3 else "r"} for k in range(1000)]
    spill_dir.cleanup()
    assert spill_dir.path is not None and not spill_dir.path.exists()


_SPILLER = """
import sys, time
from analyzer.spill import SpillDir
d = SpillDir()
d.new_file("flows").write_bytes(b"x")
print(d.path, flush=True)
time.sleep(float(sys.argv[1]))
"""


def _spiller(tmp: Path, seconds: float) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _SPILLER, str(seconds)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_killed_analysis_spill_directory_is_removed_by_the_next_one(tmp_path: Path) -> None:
    # SIGKILL runs no finalizer: the killed process's directory stays until another process sweeps it;
    # a directory whose process still runs is left alone, and so is anything not named like ours.
    killed, killed_dir = _spiller(tmp_path, 60)
    alive, alive_dir = _spiller(tmp_path, 60)
    other = tmp_path / "egress-spill-notapid"
    other.mkdir()
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert killed_dir.is_dir() and (killed_dir / "flows-00001.run").exists()
        nxt, next_dir = _spiller(tmp_path, 0)
        nxt.wait()
        assert not killed_dir.exists()
        assert alive_dir.is_dir() and other.is_dir()
        assert not next_dir.exists()  # the finalizer of a process that ends normally still removes its own
    finally:
        alive.kill()
        alive.wait()
