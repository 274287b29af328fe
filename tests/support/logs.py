"""Firewall and proxy logs written by the tests themselves, from the fields the vendors document.

Never a copied sample file: every record here is built from the documented field names (the pages
are cited in the tests that use them), with our own names, addresses and rules.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from analyzer.api import analyze
from reports.display import iso
from tests.support.paths import CAPTURES

RESOURCE = (
    "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK"
    "/AZUREFIREWALLS/FW"
)


def app_rule(
    ts: str, src: str, sport: int, fqdn: str, port: int = 443, action: str = "Deny", rule: str = "", **extra: Any
) -> dict[str, Any]:
    """An AZFWApplicationRule row as Log Analytics exports it (the table's column names)."""
    return {
        "TimeGenerated": ts,
        "Protocol": "HTTPS" if port == 443 else "HTTP",
        "SourceIp": src,
        "SourcePort": sport,
        "DestinationPort": port,
        "Fqdn": fqdn,
        "TargetUrl": "",
        "Action": action,
        "ActionReason": "Default Action" if action == "Deny" and not rule else "",
        "Policy": "aks-policy",
        "RuleCollectionGroup": "aks" if rule else "",
        "RuleCollection": "aks-required" if rule else "",
        "Rule": rule,
        "WebCategory": "",
        "IsTlsInspected": False,
        "IsExplicitProxyRequest": False,
        "Type": "AZFWApplicationRule",
        **extra,
    }


def network_rule(
    ts: str, src: str, sport: int, dst: str, port: int, proto: str, action: str, rule: str = ""
) -> dict[str, Any]:
    return {
        "TimeGenerated": ts,
        "Protocol": proto,
        "SourceIp": src,
        "SourcePort": sport,
        "DestinationIp": dst,
        "DestinationPort": port,
        "Action": action,
        "ActionReason": "Default Action" if action == "Deny" and not rule else "",
        "Policy": "aks-policy",
        "RuleCollectionGroup": "",
        "RuleCollection": "",
        "Rule": rule,
        "Type": "AZFWNetworkRule",
    }


def envelope(rows: list[dict[str, Any]], indent: int | None = None) -> str:
    """The diagnostic setting's shape: ``{"records": [{"category", "time", "resourceId", "properties"}]}``."""
    records = []
    for r in rows:
        props = {k: v for k, v in r.items() if k not in ("TimeGenerated", "Type")}
        records.append(
            {
                "time": r["TimeGenerated"],
                "resourceId": RESOURCE,
                "category": r["Type"],
                "operationName": r["Type"],
                "properties": props,
            }
        )
    return json.dumps({"records": records}, indent=indent)


def la_csv(rows: list[dict[str, Any]], utc_suffix: bool = True) -> str:
    """A Log Analytics CSV export (the portal writes ``TimeGenerated [UTC]``)."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([f"{n} [UTC]" if n == "TimeGenerated" and utc_suffix else n for n in names])
    for r in rows:
        w.writerow(["" if r.get(n) is None else r.get(n) for n in names])
    return out.getvalue()


def aks_firewall_log(conflict: str | None = None) -> list[dict[str, Any]]:
    """An Azure Firewall log of the AKS bootstrap capture: one record per captured connection, the
    firewall denying what the capture shows failing and allowing the rest (``conflict``: a name the log
    denies although the capture shows it allowed)."""
    report = analyze(CAPTURES / "aks-bootstrap.pcap")
    rows = []
    for o in report.observations.rows:
        deny = o["verdict"] != "ok" or (conflict is not None and o["fqdn"] == conflict)
        ts = iso(o["first_seen"] + 150_000_000)  # the firewall logs a little after the SYN
        assert ts is not None
        if o["fqdn"] and o["protocol"] in ("TLS", "HTTP"):
            rows.append(
                app_rule(ts, o["client"], o["client_port"], o["fqdn"], o["port"],
                         "Deny" if deny else "Allow", "" if deny else "aks-required-fqdns")
            )  # fmt: skip
        else:
            proto = "UDP" if o["protocol"] == "UDP" else "TCP"
            rows.append(
                network_rule(ts, o["client"], o["client_port"], o["address"], o["port"], proto,
                             "Deny" if deny else "Allow", "" if deny else "wireserver")
            )  # fmt: skip
    return rows
