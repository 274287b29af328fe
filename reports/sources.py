"""How the renderers speak of logs read as sources: their header lines, the Confirmed cell, the KQL.

The KQL is the query an operator runs in Log Analytics to see the same table from the firewall's
side (the private-AKS notes start from ``AZFWApplicationRule | summarize count() by Protocol,
DestinationPort, Fqdn``): the tables the logs came from, the clients and time span of the report,
grouped as the summary is.  Values are quoted as KQL string literals, so a hostile name in a log
can never end the string.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from analyzer.report import Report
from reports.display import iso
from reports.safe import terminal

_STRUCTURED = ("AZFWApplicationRule", "AZFWNetworkRule", "AZFWNatRule", "AZFWThreatIntel", "AZFWIdpsSignature")
_LEGACY = {"AzureFirewallApplicationRule", "AzureFirewallNetworkRule", "AzureDiagnostics"}
MAX_CLIENTS = 20


def log_header(report: Report) -> str:
    """The first line of a report read from logs only (a capture's says packets and link types)."""
    cap = report.capture
    span = f"{iso(cap.first_ts)} .. {iso(cap.last_ts)}" if cap.first_ts is not None else "no timestamps"
    head = f"{terminal(cap.path)}: {terminal(cap.format)}, {cap.packets} records, {cap.flows} observations, {span}"
    if cap.truncated:
        head += ", last line cut off"
    if cap.parse_errors:
        head += f", {cap.parse_errors} unparsed lines"
    return head


def source_lines(report: Report) -> list[str]:
    """One line per log read next to a capture."""
    return [
        f"log {terminal(s.path)}: {terminal(s.format)}{' (gzip)' if s.compressed else ''}, {s.records} records"
        + (f", {s.unparsed} unparsed" if s.unparsed else "")
        for s in report.sources
    ]


def confirmed_text(said: dict[str, Any]) -> str | None:
    if not said:
        return None
    if said.get("conflicts"):
        return f"conflict: log says {said.get('conflict')}"
    if said.get("confirmed"):
        return "yes"
    return None


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return value is not None


def kql_literal(value: str) -> str:
    """A KQL string literal: double quotes, backslash escapes, no raw control character."""
    out = ['"']
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def kql(report: Report) -> str | None:
    """The Log Analytics query that gives the summary's table from the firewall's own log, or None when
    no Azure Firewall log was read."""
    tables = {t for s in report.sources for t in s.tables}
    structured = [t for t in _STRUCTURED if t in tables]
    legacy = bool(tables & _LEGACY)
    if not structured and not legacy:
        return None
    clients = sorted({str(o["client"]) for o in report.observations if _is_ip(o.get("client"))})
    where = []
    cap = report.capture
    if cap.first_ts is not None and cap.last_ts is not None:
        start, end = iso(cap.first_ts - 60_000_000_000), iso(cap.last_ts + 60_000_000_000)
        where.append(f"| where TimeGenerated between (datetime({start}) .. datetime({end}))")
    if clients and len(clients) <= MAX_CLIENTS:
        where.append(f"| where SourceIp in ({', '.join(kql_literal(c) for c in clients)})")
    if structured:
        source = structured[0] if len(structured) == 1 else "union " + ", ".join(structured)
        lines = [source]
        if len(structured) > 1 or "AZFWApplicationRule" not in structured:
            lines.append("| extend Fqdn = coalesce(Fqdn, DestinationIp)")
        lines += where
        lines.append("| summarize count_ = count() by Protocol, DestinationPort, Fqdn, Action, Rule")
    else:
        lines = [
            "AzureDiagnostics",
            '| where Category in ("AzureFirewallApplicationRule", "AzureFirewallNetworkRule")',
            '| parse msg_s with Protocol " request from " SourceIp ":" SourcePort:int " to " Fqdn ":" '
            'DestinationPort:int "." * "Action: " Action "." *',
            *where,
            "| summarize count_ = count() by Protocol, DestinationPort, Fqdn, Action",
        ]
    lines.append("| order by count_ desc")
    return "\n".join(lines)
