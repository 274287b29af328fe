"""HTTP/3 egress named by the SNI of the client's QUIC Initial packets, as tshark names it.

The client's packets come from an independent QUIC stack (aioquic); the corpus differential
(tests/analyzer/test_corpus_differential.py) checks 25 third-party QUIC captures against tshark.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from analyzer.pipeline import analyze
from fixtures.builders.packets import write_frames
from fixtures.builders.quic import client_flight
from parsers.quic import QUIC_V1, QUIC_V2

C = "10.0.0.5"
SERVERS = {"api.snapcraft.io": "203.0.113.21", "images.lxd.canonical.com": "203.0.113.22", "ghcr.io": "203.0.113.23"}


def _capture(path: Path) -> None:
    pkts = []
    big_alpn = [f"protocol-{i:03d}-" + "x" * 40 for i in range(40)]  # a ClientHello over two Initials
    flights = [
        ("api.snapcraft.io", client_flight("api.snapcraft.io", QUIC_V1), 50001),
        ("images.lxd.canonical.com", client_flight("images.lxd.canonical.com", QUIC_V1, big_alpn), 50002),
        ("ghcr.io", client_flight("ghcr.io", QUIC_V2), 50003),
    ]
    for name, datagrams, sport in flights:
        for d in datagrams:
            pkts.append(Ether() / IP(src=C, dst=SERVERS[name]) / UDP(sport=sport, dport=443) / d)
        if name != "ghcr.io":  # ghcr.io never answers: a firewall dropping UDP 443
            pkts.append(Ether() / IP(src=SERVERS[name], dst=C) / UDP(sport=443, dport=sport) / (b"\xc0" + b"\x11" * 60))
    write_frames(path, [bytes(p) for p in pkts], step_ns=10_000_000)


def test_quic_flows_are_named_by_their_sni(tmp_path: Path) -> None:
    path = tmp_path / "h3.pcap"
    _capture(path)
    result = analyze(path)
    flows = {r["fqdn"]: r for r in result.flows.rows}
    assert set(flows) == set(SERVERS)
    for name, row in flows.items():
        assert (row["protocol"], row["port"], row["source"], row["sni"], row["dst"]) == (
            "QUIC",
            443,
            "sni",
            name,
            SERVERS[name],
        )
    summary = {r["fqdn"]: r for r in result.summary.rows}
    assert summary["ghcr.io"]["verdict"] == "no-reply"
    assert summary["api.snapcraft.io"]["verdict"] == "ok"
    assert not result.parse_errors.rows


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_reads_the_same_names(tmp_path: Path) -> None:
    path = tmp_path / "h3.pcap"
    _capture(path)
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", "quic", "-T", "fields", "-e", "tls.handshake.extensions_server_name"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert set(out) == set(SERVERS)
    assert {r["sni"] for r in analyze(path).flows.rows} == set(out)


def test_fast_path_and_full_decoder_agree_on_quic(tmp_path: Path) -> None:
    from reports.jsondoc import document

    path = tmp_path / "h3.pcap"
    _capture(path)
    fast, full = document(analyze(path, fast=True)), document(analyze(path, fast=False))
    for table in ("summary", "flows", "dns", "parse_errors"):
        assert fast[table] == full[table]
