"""Azure Firewall's structured logs (resource-specific tables) and the legacy ``AzureDiagnostics``.

Field names as Microsoft documents each table
(https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwapplicationrule and the
pages of ``azfwnetworkrule``, ``azfwdnsquery``, ``azfwnatrule``, ``azfwthreatintel``,
``azfwidpssignature``): ``TimeGenerated, SourceIp, SourcePort, Fqdn, TargetUrl, Protocol,
DestinationIp, DestinationPort, Action, ActionReason, Policy, RuleCollectionGroup, RuleCollection,
Rule, WebCategory, IsTlsInspected, IsExplicitProxyRequest``; DNS ``QueryName, QueryType,
ResponseCode, ErrorMessage``; threat intelligence ``ThreatDescription``; IDPS ``SignatureId,
Description, Category, Severity``.

Three more tables a diagnostic setting sends hold no verdict on a client's connection, and are not
counted as records egress failed to understand: ``AZFWInternalFqdnResolutionFailure`` (the firewall's
own lookups of a rule's FQDN that failed: ``Fqdn, Error, ServerIp, ServerPort, Policy,
RuleCollectionGroup, RuleCollection, Rule``; a diagnostic setting calls its category
``AZFWFqdnResolveFailure``) becomes a failed lookup in the dns table and a warning naming the rule,
since a rule whose name does not resolve cannot allow it; ``AZFWFlowTrace`` (a flow's TCP flags,
``Flag``) and ``AZFWFatFlow`` (the top flows by rate, ``FlowRate``) are named in a warning and
skipped. A log of nothing else is refused when read alone, and a warning beside other sources.

A record arrives in one of three shapes, all read here: a Log Analytics export row (the columns
above, ``Type`` naming the table; a portal CSV says ``TimeGenerated [UTC]``; the query API's answer
gives its rows as lists, keyed here by its columns: :mod:`analyzer.sources.jsonstream`), a diagnostic setting's
record (``{"category", "time", "resourceId", "properties": {...}}``, the properties named as the
columns), or the legacy ``AzureDiagnostics`` (``Category`` ``AzureFirewallApplicationRule`` and a
``msg_s`` sentence, or ``properties.msg`` in a diagnostic setting's record).  Keys are matched
without regard to case: exports and settings have differed there.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from analyzer.sources import azure_msg
from analyzer.sources.jsonstream import records as json_records
from analyzer.sources.records import (
    DENIED,
    OK,
    Tally,
    dns_lookup,
    is_address,
    iso_ns,
    name_of,
    observation,
    port_of,
    protocol_of,
)
from analyzer.sources.text import LogText

KIND = "azure-firewall"
TABLES = (
    "AZFWApplicationRule",
    "AZFWNetworkRule",
    "AZFWDnsQuery",
    "AZFWNatRule",
    "AZFWThreatIntel",
    "AZFWIdpsSignature",
)
_BY_LOWER = {t.lower(): t for t in TABLES}
RESOLUTION_FAILURE = "AZFWInternalFqdnResolutionFailure"
# The tables of records that say nothing of a connection's fate, and what they hold instead.
_NO_VERDICT = {
    "AZFWFlowTrace": "a flow's TCP flags",
    "AZFWFatFlow": "the top flows by rate",
}
_OTHER_BY_LOWER = {t.lower(): t for t in (RESOLUTION_FAILURE, *_NO_VERDICT)}
# A diagnostic setting names the resolution failures' category apart from their table.
_OTHER_BY_LOWER["azfwfqdnresolvefailure"] = RESOLUTION_FAILURE
NOTE_FIELD_CHARS = 200  # of a record's value in a warning: a CSV field may hold a megabyte
_LEGACY = {
    "azurefirewallapplicationrule": "AzureFirewallApplicationRule",
    "azurefirewallnetworkrule": "AzureFirewallNetworkRule",
    "azurefirewalldnsproxy": "AzureFirewallDnsProxy",
}
_DENY = {"deny", "drop", "block", "blocked"}
# Csv fields can be long (a msg_s, a TargetUrl); the default limit (128 KiB) is enough for one.
csv.field_size_limit(1 << 20)


def read_json(text: LogText, tally: Tally) -> Iterator[dict[str, Any]]:
    for line, record in json_records(text, tally):
        row = from_record(record, tally, line)
        if row is not None:
            yield row


def read_csv(text: LogText, tally: Tally) -> Iterator[dict[str, Any]]:
    """A Log Analytics CSV export (structured tables or ``AzureDiagnostics``)."""
    lines = (line for _, line in text.lines())
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    names = [h.strip().removesuffix(" [UTC]") for h in header]
    for values in reader:
        line = reader.line_num
        if len(values) != len(names):
            if text.truncated:
                tally.truncated = True
                return
            tally.bad(line, f"{len(values)} fields where the header has {len(names)}")
            continue
        row = from_record(dict(zip(names, values, strict=True)), tally, line)
        if row is not None:
            yield row


def from_record(record: dict[str, Any], tally: Tally, line: int) -> dict[str, Any] | None:
    """The observation one record (at ``line``) describes; None when it has none, told to the tally:
    a line not understood, or a table that holds no verdict."""
    props = record.get("properties")
    fields = {str(k).lower(): v for k, v in record.items()}
    if isinstance(props, dict):
        fields.update({str(k).lower(): v for k, v in props.items()})
    category = str(fields.get("type") or fields.get("category") or "").strip()
    ts = iso_ns(fields.get("timegenerated") or fields.get("time"))
    msg = fields.get("msg_s") or fields.get("msg")
    if isinstance(msg, str) and msg:
        tally.tables.add(_LEGACY.get(category.lower(), "AzureDiagnostics"))
        row = azure_msg.parse(msg, ts)
        if row is None:
            tally.bad(line, "not an Azure Firewall record")
        else:
            tally.seen(ts)
        return row
    lower = category.lower()
    table = _BY_LOWER.get(lower) or _OTHER_BY_LOWER.get(lower) or _table_by_fields(fields)
    if table is None:
        tally.bad(line, "not an Azure Firewall record")
        return None
    tally.tables.add(table)
    tally.seen(ts)
    if table in _NO_VERDICT:
        tally.note(f"{table} records ({_NO_VERDICT[table]}) hold no verdict: skipped", keep=True)
        return None
    if table == RESOLUTION_FAILURE:
        return _resolution_failure(fields, ts, tally, line)
    row = _structured(table, fields, ts)
    if row is None:
        tally.bad(line, "not an Azure Firewall record")
    return row


def _table_by_fields(f: dict[str, Any]) -> str | None:
    """An export without its ``Type`` column: the table its filled columns give away. Filled, not
    present: an export of several tables (a CSV, the query API's answer) gives every row every column,
    empty where the row's table has none."""

    def filled(key: str) -> bool:
        return _text(f.get(key)) is not None

    if filled("queryname"):
        return "AZFWDnsQuery"
    if filled("serverip") and filled("fqdn") and not filled("action"):
        return RESOLUTION_FAILURE
    if filled("flag"):  # before the network rule's test: a flow trace has its columns too
        return "AZFWFlowTrace"
    if filled("flowrate"):
        return "AZFWFatFlow"
    if filled("signatureid"):
        return "AZFWIdpsSignature"
    if filled("threatdescription"):
        return "AZFWThreatIntel"
    if filled("translatedip") or filled("translatedport"):
        return "AZFWNatRule"
    if filled("fqdn") and filled("action"):
        return "AZFWApplicationRule"
    if filled("destinationip") and filled("action"):
        return "AZFWNetworkRule"
    return None


def _resolution_failure(f: dict[str, Any], ts: int | None, tally: Tally, line: int) -> dict[str, Any] | None:
    """The firewall's failed lookup of a rule's FQDN: a lookup that failed (SERVFAIL, as a DNS query
    with an error message is read), and a warning naming the rule that cannot allow it."""
    fqdn = name_of(f.get("fqdn"))
    if fqdn is None:
        tally.bad(line, "a resolution failure without its FQDN")
        return None
    names = (_short(f.get(k)) for k in ("policy", "rulecollectiongroup", "rulecollection", "rule"))
    path = " / ".join(n for n in names if n)
    server = _short(f.get("serverip"))
    port = port_of(f.get("serverport"))
    where = f" at {server}:{port}" if server and port else f" at {server}" if server else ""
    error = _short(f.get("error")) or "no reason given"
    rule = f"rule {path}" if path else "a rule"
    tally.note(f"the firewall could not resolve {fqdn}{where} ({error}): {rule} names it, and cannot allow it")
    return dns_lookup(kind=KIND, ts=ts, qname=fqdn, qtype=None, rcode="SERVFAIL", server=server)


def _short(value: Any) -> str | None:
    """A record's value for a warning's text, cut at NOTE_FIELD_CHARS."""
    text = _text(value)
    if text is None or len(text) <= NOTE_FIELD_CHARS:
        return text
    return text[:NOTE_FIELD_CHARS] + "…"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _structured(table: str, f: dict[str, Any], ts: int | None) -> dict[str, Any] | None:
    client = _text(f.get("sourceip"))
    client_port = port_of(f.get("sourceport"))
    if table == "AZFWDnsQuery":
        qname = _text(f.get("queryname"))
        if qname is None:
            return None
        rcode = _text(f.get("responsecode")) or ("SERVFAIL" if _text(f.get("errormessage")) else None)
        return dns_lookup(kind=KIND, ts=ts, qname=qname, qtype=_text(f.get("querytype")), rcode=rcode)
    action = (_text(f.get("action")) or "").lower()
    port = port_of(f.get("destinationport"))
    word = _text(f.get("protocol"))
    fqdn = name_of(f.get("fqdn"))
    address = _text(f.get("destinationip"))
    reason = _text(f.get("actionreason"))
    rule = _text(f.get("rule"))
    if table == "AZFWThreatIntel":
        reason = _text(f.get("threatdescription")) or reason
        rule = "ThreatIntel"
    elif table == "AZFWIdpsSignature":
        reason = _text(f.get("description")) or reason
        rule = f"IDPS {_text(f.get('signatureid')) or '?'}"
    elif table == "AZFWNatRule":
        rule = rule or "DNAT"
    elif table == "AZFWApplicationRule" and not rule and _text(f.get("webcategory")):
        rule = f"Web Category: {_text(f.get('webcategory'))}"
    if fqdn is None and address is None and not reason:
        return None
    protocol = protocol_of(word, port)
    if port is None:
        port = 443 if protocol == "TLS" else 80 if protocol == "HTTP" else 0
    if fqdn is None:
        host = _text(f.get("fqdn"))
        address = address or (host if is_address(host) else None)
    source = "none" if fqdn is None else "sni" if protocol == "TLS" else "host"
    if str(f.get("isexplicitproxyrequest", "")).lower() == "true":
        source = "connect" if fqdn else source
    return observation(
        kind=KIND,
        ts=ts,
        protocol=protocol,
        port=port,
        fqdn=fqdn,
        address=None if fqdn else address,
        verdict=DENIED if action in _DENY else OK,
        source=source,
        client=client,
        client_port=client_port,
        reason=reason,
        rule=rule,
    )


def read_msg_lines(text: LogText, tally: Tally) -> Iterator[dict[str, Any]]:
    """Bare ``msg_s`` sentences, one per line (copied out of the portal or a query result)."""
    tally.tables.add("AzureDiagnostics")
    for line, msg in text.lines():
        row = azure_msg.parse(msg, None)
        if row is None:
            if text.truncated:
                tally.truncated = True
                return
            tally.bad(line, "not an Azure Firewall log sentence")
            continue
        yield row
