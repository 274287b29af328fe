"""AWS Network Firewall alert and flow logs, and Route 53 Resolver query logs.

Network Firewall: https://docs.aws.amazon.com/network-firewall/latest/developerguide/firewall-logging-contents.html
(``firewall_name, availability_zone, event_timestamp, event``, the event in Suricata EVE JSON with
``event_type`` alert or netflow).  Route 53 Resolver:
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs-format.html.
"""

from __future__ import annotations

import json
from pathlib import Path

from analyzer.api import analyze, read_allowlist
from analyzer.firewalls.destinations import justified, notes
from analyzer.sources import detect


def _nfw(event: dict[str, object]) -> str:
    return json.dumps({"firewall_name": "egress-fw", "availability_zone": "eu-west-1a",
                       "event_timestamp": "1718000000", "event": event})  # fmt: skip


def test_network_firewall_alerts_and_flows(tmp_path: Path) -> None:
    base = {"timestamp": "2024-06-10T06:13:20.500000+0000", "flow_id": 1, "src_ip": "10.0.0.5", "proto": "TCP"}
    lines = [
        _nfw({**base, "event_type": "alert", "src_port": 50000, "dest_ip": "198.51.100.94", "dest_port": 443,
              "app_proto": "tls", "tls": {"sni": "packages.microsoft.com"},
              "alert": {"action": "blocked", "signature_id": 5, "rev": 1, "signature": "not in allowlist",
                        "category": "", "severity": 3}}),
        _nfw({**base, "event_type": "alert", "src_port": 50001, "dest_ip": "198.51.100.98", "dest_port": 80,
              "app_proto": "http", "http": {"hostname": "azure.archive.ubuntu.com", "url": "/"},
              "alert": {"action": "allowed", "signature_id": 6, "signature": "ubuntu", "severity": 3}}),
        _nfw({**base, "event_type": "netflow", "src_port": 50002, "dest_ip": "198.51.100.90", "dest_port": 443,
              "netflow": {"pkts": 10, "bytes": 4000, "start": "x", "end": "y"}}),
        # the answer's direction of the same flow: not a connection of its own
        _nfw({**base, "event_type": "netflow", "src_ip": "198.51.100.90", "src_port": 443, "dest_ip": "10.0.0.5",
              "dest_port": 50002, "netflow": {"pkts": 9, "bytes": 9000}}),
    ]  # fmt: skip
    path = tmp_path / "nfw.log"
    path.write_text("\n".join(lines) + "\n")
    assert detect(path.read_bytes()) == "aws-network-firewall"
    report = analyze(path)
    got = sorted((r["protocol"], r["port"], r["fqdn"] or r["addresses"][0], r["verdict"]) for r in report.summary)
    assert got == [
        ("HTTP", 80, "azure.archive.ubuntu.com", "ok"),
        ("TCP", 443, "198.51.100.90", "ok"),
        ("TLS", 443, "packages.microsoft.com", "denied"),
    ]
    (blocked,) = [o for o in report.observations if o["verdict"] == "denied"]
    assert blocked["rule"] == "5: not in allowlist" and blocked["client_port"] == 50000
    (flow,) = [o for o in report.observations if o["address"] == "198.51.100.90"]
    assert flow["bytes"] == 4000


def test_route53_resolver_query_log(tmp_path: Path) -> None:
    rec = {"version": "1.100000", "account_id": "111122223333", "region": "eu-west-1", "vpc_id": "vpc-0abc",
           "query_timestamp": "2024-06-10T06:13:20Z", "query_name": "mcr.microsoft.com.", "query_type": "A",
           "query_class": "IN", "rcode": "NOERROR", "answers": [{"Rdata": "198.51.100.90", "Type": "A", "Class": "IN"}],
           "srcaddr": "10.0.0.5", "srcport": "40000", "transport": "UDP", "srcids": {"instance": "i-0abc"}}  # fmt: skip
    blocked = dict(rec, query_name="esm.ubuntu.com.", answers=[], firewall_rule_action="BLOCK",
                   firewall_rule_group_id="rslvr-frg-1", firewall_domain_list_id="rslvr-fdl-1")  # fmt: skip
    path = tmp_path / "resolver.log"
    path.write_text(json.dumps(rec) + "\n" + json.dumps(blocked) + "\n" + json.dumps(rec) + "\n")
    assert detect(path.read_bytes()) == "route53-resolver"
    report = analyze(path)
    dns = {d["qname"]: d for d in report.dns}
    assert dns["mcr.microsoft.com"]["answers"] == ["198.51.100.90"] and dns["mcr.microsoft.com"]["count"] == 2
    assert dns["esm.ubuntu.com"]["rcode"] == "BLOCK"
    # Lookups are not connections; the one DNS Firewall blocked is a denial of its name.
    (row,) = report.summary
    assert (row["protocol"], row["port"], row["fqdn"], row["verdict"], row["action"], row["count"]) == (
        "DNS", 53, "esm.ubuntu.com", "denied", "Deny", 1
    )
    (denial,) = report.observations
    assert denial["rule"] == "rslvr-frg-1 rslvr-fdl-1" and denial["client"] == "10.0.0.5"
    assert denial["verdict_reason"] == "DNS Firewall blocked the lookup"


def _route53_blocks(tmp_path: Path, *names: str, action: str = "BLOCK") -> Path:
    base = {
        "version": "1.100000",
        "query_timestamp": "2024-06-10T06:13:20Z",
        "query_type": "A",
        "query_class": "IN",
        "rcode": "NOERROR",
        "answers": [],
        "srcaddr": "10.0.0.5",
        "srcport": "40000",
        "transport": "UDP",
        "firewall_rule_action": action,
        "firewall_rule_group_id": "rslvr-frg-1",
        "firewall_domain_list_id": "rslvr-fdl-1",
    }
    lines = [json.dumps({**base, "query_name": f"{name}."}) for name in names]
    path = tmp_path / "resolver.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_dns_firewall_block_is_judged_by_name_against_the_allowlist(tmp_path: Path) -> None:
    """DNS Firewall judges names, not ports: an entry naming the blocked name (on any port) allows it, so
    the row is blocked-but-allowed (the DNS firewall lacks it); a name no entry names is missing."""
    rules = tmp_path / "request.txt"
    rules.write_text("esm.ubuntu.com:443\n*.snapcraft.io:443\nunused.example.com:443\n")
    log = _route53_blocks(tmp_path, "esm.ubuntu.com", "api.snapcraft.io", "ghcr.io")
    report = analyze(log, allowlist=read_allowlist(rules))
    status = {r["fqdn"]: (r["status"], r["entry"]) for r in report.summary}
    assert status == {
        "esm.ubuntu.com": ("blocked-but-allowed", "esm.ubuntu.com"),
        "api.snapcraft.io": ("blocked-but-allowed", "*.snapcraft.io"),
        "ghcr.io": ("missing", None),
    }
    reasons = {r["fqdn"]: r["reason"] for r in report.summary}
    assert "a DNS firewall blocked its lookup" in reasons["esm.ubuntu.com"]
    assert reasons["ghcr.io"].startswith("no entry matches ghcr.io")
    assert [e["entry"] for e in report.excess] == ["unused.example.com"]
    # What to ask for: the names, with no port (none is known); the firewall exports leave them out and say why.
    suggested = {n: s.ports for s in report.suggested for n in s.names}
    assert suggested == {"esm.ubuntu.com": ("DNS",), "api.snapcraft.io": ("DNS",), "ghcr.io": ("DNS",)}
    assert justified(report).names == ()
    said = notes(report, "azure")
    assert any(line.startswith("not exported: ghcr.io: a DNS firewall blocked its lookup") for line in said)


def test_a_dns_firewall_alert_is_a_lookup_only(tmp_path: Path) -> None:
    """ALERT lets the query through (and logs it): a lookup, not a denial."""
    report = analyze(_route53_blocks(tmp_path, "esm.ubuntu.com", action="ALERT"))
    assert len(report.summary) == 0 and [d["qname"] for d in report.dns] == ["esm.ubuntu.com"]
