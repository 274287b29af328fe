"""A capture and the firewall's log of the same install: each connection confirmed or contradicted.

The replay: the AKS bootstrap capture (fixtures/captures/aks-bootstrap.pcap, built by
fixtures/build_fixtures.py) and an Azure Firewall log of the same connections written from
AZFWApplicationRule / AZFWNetworkRule fields
(https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwapplicationrule,
https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwnetworkrule).
"""

from __future__ import annotations

from pathlib import Path

from analyzer.api import analyze, analyze_together, read_allowlist
from tests.support.logs import aks_firewall_log, envelope, la_csv
from tests.support.paths import ALLOWLISTS, CAPTURES

AKS = CAPTURES / "aks-bootstrap.pcap"


def _diff(report: object) -> list[tuple[object, ...]]:
    rows = report.summary.rows  # type: ignore[attr-defined]
    return sorted((r["protocol"], r["port"], r["fqdn"] or "", r["status"], r["entry"], r["reason"]) for r in rows)


def test_replay_marks_the_denies_confirmed_and_keeps_the_diff(tmp_path: Path) -> None:
    log = tmp_path / "azfw.json"
    log.write_text(envelope(aks_firewall_log(), indent=1))
    rules = read_allowlist(ALLOWLISTS / "request-table.md")
    alone = analyze(AKS, allowlist=rules)
    both = analyze_together([AKS, log], allowlist=rules)
    assert _diff(both) == _diff(alone)  # the log confirms; it changes nothing the allowlist diff says
    assert [r["count"] for r in both.summary] == [r["count"] for r in alone.summary]
    denied = [r for r in both.summary if r["action"] == "Deny"]
    assert len(denied) == 4
    for r in denied:
        said = both.log_verdict(r)
        assert said is not None and said["confirmed"] == r["count"] and said["conflicts"] == 0
        assert said["verdict_reason"] == "Default Action", r["fqdn"]
    mcr = next(r for r in both.summary if r["fqdn"] == "mcr.microsoft.com")
    assert (both.log_verdict(mcr) or {})["rule"] == "aks-required-fqdns"
    obs = both.observations.rows
    assert all(o["confirmed"] is True for o in obs) and len(obs) == len(alone.observations)
    assert not any("disagree" in w for w in both.warnings)


def test_a_conflict_is_reported(tmp_path: Path) -> None:
    """The capture shows mcr.microsoft.com answered; the log says the firewall denied it."""
    log = tmp_path / "azfw.csv"
    log.write_text(la_csv(aks_firewall_log(conflict="mcr.microsoft.com")))
    both = analyze_together([AKS, log])
    mcr = next(r for r in both.summary if r["fqdn"] == "mcr.microsoft.com")
    said = both.log_verdict(mcr)
    assert said is not None and said["conflicts"] == 2 and said["conflict"] == "Deny" and said["confirmed"] == 0
    assert mcr["action"] == "Allow"  # the capture's own verdict stands; the conflict is beside it
    assert any("2 connection(s) where the capture and the log disagree" in w for w in both.warnings)


def test_log_rows_the_capture_never_saw_are_added(tmp_path: Path) -> None:
    rows = aks_firewall_log()
    extra = dict(rows[0], Fqdn="other-node-only.example", SourceIp="10.0.0.99", SourcePort=1,
                 Type="AZFWApplicationRule", Protocol="HTTPS", DestinationPort=443, Action="Deny")  # fmt: skip
    extra.pop("DestinationIp", None)
    log = tmp_path / "azfw.json"
    log.write_text(envelope([*rows, extra]))
    both = analyze_together([AKS, log])
    (row,) = [r for r in both.summary if r["fqdn"] == "other-node-only.example"]
    assert row["action"] == "Deny" and row["verdict"] == "denied"
    (o,) = [o for o in both.observations if o["fqdn"] == "other-node-only.example"]
    assert o["source_kind"] == "azure-firewall" and o["confirmed"] is None


def test_matching_by_name_port_and_time_window_when_ports_are_unknown(tmp_path: Path) -> None:
    """Bare msg_s lines carry no time; records folded from many connections carry no client port:
    name and port (and the client) must then do."""
    lines = [
        "HTTP request from 10.0.0.5:1 to azure.archive.ubuntu.com:80. Action: Deny. No rule matched. Proceeding "
        "with default action",
        "HTTP request from 10.0.0.5:2 to azure.archive.ubuntu.com:80. Action: Deny. No rule matched. Proceeding "
        "with default action",
    ]
    log = tmp_path / "msg.txt"
    log.write_text("\n".join(lines) + "\n")
    both = analyze_together([AKS, log])
    row = next(r for r in both.summary if r["fqdn"] == "azure.archive.ubuntu.com")
    said = both.log_verdict(row)
    assert said is not None and said["confirmed"] == 2 and said["verdict_reason"] == "No rule matched"
