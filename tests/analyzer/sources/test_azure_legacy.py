"""Azure Firewall's legacy AzureDiagnostics log: every ``msg_s`` sentence shape.

The shapes are those of Microsoft's legacy log reference and examples
(https://learn.microsoft.com/en-us/azure/firewall/firewall-diagnostics,
https://learn.microsoft.com/en-us/azure/firewall/logs-and-metrics,
https://learn.microsoft.com/en-us/azure/firewall/dns-settings for the DNS proxy lines); the names,
addresses and rules are ours.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.sources.azure_msg import parse
from tests.support.logs import RESOURCE, la_csv

# (sentence, (protocol, port, fqdn or address, verdict, rule, reason, client, client port))
CASES = [
    ("HTTPS request from 10.1.0.5:55640 to mcr.microsoft.com:443. Action: Allow. Rule Collection: aks. Rule: mcr",
     ("TLS", 443, "mcr.microsoft.com", "ok", "mcr", None, "10.1.0.5", 55640)),
    ("HTTP request from 10.1.0.5:53474 to azure.archive.ubuntu.com:80. Url: azure.archive.ubuntu.com/ubuntu/dists/"
     "jammy/InRelease. Action: Allow. Policy: fw-policy. Rule Collection Group: DefaultApplicationRuleCollectionGroup. "
     "Rule Collection: ubuntu. Rule: archive",
     ("HTTP", 80, "azure.archive.ubuntu.com", "ok", "archive", None, "10.1.0.5", 53474)),
    ("HTTPS request from 10.1.0.5:53475 to www.example.org:443. Action: Allow. Policy: fw-policy. Rule Collection "
     "Group: web. Rule Collection: cats. Rule: search. Web Category: SearchEnginesAndPortals",
     ("TLS", 443, "www.example.org", "ok", "search", None, "10.1.0.5", 53475)),
    ("HTTPS request from 10.1.0.5:53476 to packages.microsoft.com:443. Action: Deny. No rule matched. Proceeding with "
     "default action",
     ("TLS", 443, "packages.microsoft.com", "denied", None, "No rule matched", "10.1.0.5", 53476)),
    ("HTTPS request from 10.1.0.5:53477. Action: Deny. Reason: SNI TLS extension was missing.",
     ("TLS", 443, None, "denied", None, "SNI TLS extension was missing", "10.1.0.5", 53477)),
    ("HTTPS request from 10.1.0.5:53478 to nxdomain.example:443. Action: Deny. Reason: Failed to resolve address",
     ("TLS", 443, "nxdomain.example", "denied", None, "Failed to resolve address", "10.1.0.5", 53478)),
    ("HTTP  request from 10.1.0.5:53479 to motd.ubuntu.com:80. Action: Deny. No rule matched. Proceeding with default "
     "action",
     ("HTTP", 80, "motd.ubuntu.com", "denied", None, "No rule matched", "10.1.0.5", 53479)),
    ("TCP request from 10.1.0.5:51990 to 13.69.65.17:443. Action: Deny",
     ("TCP", 443, "13.69.65.17", "denied", None, None, "10.1.0.5", 51990)),
    ("UDP request from 10.1.0.5:123 to 91.189.91.157:123. Action: Allow. Policy: fw-policy. Rule Collection Group: "
     "net. Rule Collection: time. Rule: ntp",
     ("UDP", 123, "91.189.91.157", "ok", "ntp", None, "10.1.0.5", 123)),
    ("ICMP Type=8 request from 10.1.0.5 to 8.8.8.8. Action: Deny",
     ("ICMP", 0, "8.8.8.8", "denied", None, None, "10.1.0.5", None)),
    ("TCP request from 203.0.113.9:40000 to 20.1.2.3:3389 was DNAT'ed to 10.1.0.4:3389",
     ("TCP", 3389, "20.1.2.3", "ok", "DNAT", None, "203.0.113.9", 40000)),
    ("HTTP request from 10.1.0.5:53480 to bad.example:80. Url: bad.example/payload. Action: Deny. ThreatIntel: "
     "Bot Networks",
     ("HTTP", 80, "bad.example", "denied", "ThreatIntel: Bot Networks", None, "10.1.0.5", 53480)),
    ("TCP request from 10.1.0.5:53481 to 198.51.100.67:80. Action: Alert. Signature: 2008983. IDS: USER_AGENTS "
     "Suspicious User Agent. Priority: 2. Classification: A Network Trojan was detected",
     ("TCP", 80, "198.51.100.67", "ok", "IDPS 2008983", "USER_AGENTS Suspicious User Agent", "10.1.0.5", 53481)),
]  # fmt: skip


@pytest.mark.parametrize(("msg", "want"), CASES, ids=[c[0][:40] for c in CASES])
def test_each_sentence_shape(msg: str, want: tuple[object, ...]) -> None:
    row = parse(msg, 0)
    assert row is not None
    got = (row["protocol"], row["port"], row["fqdn"] or row["address"], row["verdict"], row["rule"],
           row["verdict_reason"], row["client"], row["client_port"])  # fmt: skip
    assert got == want


def test_dns_proxy_lines() -> None:
    ok = parse("DNS Request: 10.1.0.5:54203 - 46722 A IN mcr.microsoft.com. udp 36 false 512 NOERROR qr,rd,ra 106 "
               "0.0123s", 0)  # fmt: skip
    err = parse("Error: 2 login.microsoftonline.com.reddog.microsoft.com. A: read udp 10.1.0.6:49126->"
                "168.63.129.160:53: i/o timeout", 0)  # fmt: skip
    assert ok is not None and (ok["fqdn"], ok["qtype"], ok["rcode"]) == ("mcr.microsoft.com", "A", "NOERROR")
    assert err is not None and (err["fqdn"], err["rcode"]) == (
        "login.microsoftonline.com.reddog.microsoft.com",
        "SERVFAIL",
    )


def test_not_a_sentence_is_none() -> None:
    assert parse("HTTPS request from 10.0.0.1:1 to x:443.", 0) is None  # no verdict at all
    assert parse("Something else entirely", 0) is None


def test_legacy_in_every_container(tmp_path: Path) -> None:
    """The same sentences as diagnostic-setting records (properties.msg), an AzureDiagnostics CSV
    export (msg_s) and bare lines, with mixed line endings: one summary."""
    msgs = [c[0] for c in CASES]
    env = {"records": [{"time": "2024-06-10T06:13:20Z", "resourceId": RESOURCE, "operationName":
                        "AzureFirewallApplicationRuleLog", "category": "AzureFirewallApplicationRule",
                        "properties": {"msg": m}} for m in msgs]}  # fmt: skip
    shapes = {
        "env.json": json.dumps(env),
        "diag.csv": la_csv(
            [
                {
                    "TimeGenerated": "2024-06-10T06:13:20Z",
                    "Category": "AzureFirewallApplicationRule",
                    "msg_s": m,
                    "ResourceType": "AZUREFIREWALLS",
                }
                for m in msgs
            ]
        ),
        "bare.txt": "".join(m + ("\r\n" if i % 3 == 0 else "\r" if i % 3 == 1 else "\n") for i, m in enumerate(msgs)),
    }
    summaries = []
    for name, text in shapes.items():
        path = tmp_path / name
        path.write_bytes(text.encode())
        report = analyze(path)
        assert report.capture.parse_errors == 0 and report.capture.packets == len(msgs), name
        summaries.append(
            sorted((r["protocol"], r["port"], r["fqdn"] or "", r["count"], r["verdict"]) for r in report.summary)
        )
        assert report.sources[0].format == {"env.json": "azure-firewall-json", "diag.csv": "azure-firewall-csv",
                                            "bare.txt": "azure-firewall-msg"}[name]  # fmt: skip
    assert summaries[0] == summaries[1] == summaries[2]
