"""Azure Firewall's legacy ``AzureDiagnostics`` log: one English sentence per record in ``msg_s``.

The sentence shapes, as Azure Firewall's documentation shows them
(https://learn.microsoft.com/en-us/azure/firewall/firewall-diagnostics,
https://learn.microsoft.com/en-us/azure/firewall/logs-and-metrics):

- application rules: ``HTTPS request from 10.1.0.5:55640 to mcr.microsoft.com:443. Action: Allow.
  Rule Collection: aks. Rule: mcr`` — with ``Url: ...`` after the target, ``Policy: / Rule Collection
  Group:`` before the collection, ``Web Category: ...`` at the end; ``Action: Deny. No rule matched.
  Proceeding with default action``; ``Action: Deny. Reason: SNI TLS extension was missing.`` (no ``to``
  part at all); ``Failed to resolve address``; and a double space in ``HTTP  request``.
- network rules: ``TCP request from 10.0.2.4:51990 to 13.69.65.17:443. Action: Deny`` (UDP, ICMP
  ``Type=8``), NAT: ``... was DNAT'ed to 10.0.0.4:3389``.
- threat intelligence and IDPS: ``... Action: Deny. ThreatIntel: Bot Networks``, ``... Action: Alert.
  Signature: 2008983. IDS: ... Priority: 2. Classification: ...``.
- DNS proxy: ``DNS Request: 10.0.0.4:54203 - 46722 A IN example.com. udp 36 false 512 NOERROR
  qr,rd,ra 106 0.0123s`` and ``Error: 2 example.com. A: read udp ...: i/o timeout``.

Parsed by anchored regular expressions over the whole sentence, then ``Key: value`` fields; a
sentence none of them fits is an unparsed line (counted and shown), never a guess.
"""

from __future__ import annotations

import re
from typing import Any

from analyzer.sources.records import DENIED, OK, dns_lookup, name_of, observation, port_of, protocol_of, split_host_port

KIND = "azure-diagnostics"

_REQUEST = re.compile(
    r"^(?P<proto>HTTPS?|TCP|UDP|ICMP(?: Type=\d+)?)\s+request from (?P<src>\S+?)"
    r"(?: to (?P<dst>\S+?))?(?: was DNAT'ed to (?P<nat>\S+?))?\.?(?:\s+(?P<rest>.*))?$",
    re.IGNORECASE,
)
_KEYS = (
    "Url|Action|Policy|Rule Collection Group|Rule Collection|Rule|Reason|Web Category|ThreatIntel|Signature|IDS|"
    "Priority|Classification"
)
# A key starts the text or follows ". " (values such as URLs may hold colons, never ". Key:").
_FIELD = re.compile(rf"(?:^|(?<=\.)\s+|^\s*)(?P<key>{_KEYS})\s*:\s*", re.IGNORECASE)
_NO_RULE = re.compile(r"No rule matched\.?\s*Proceeding with default action", re.IGNORECASE)
_RESOLVE = re.compile(r"Failed to resolve address", re.IGNORECASE)
_DNS = re.compile(
    r"^DNS Request:\s*(?P<src>\S+)\s+-\s+\d+\s+(?P<qtype>\S+)\s+(?P<qclass>\S+)\s+(?P<qname>\S+)\s+(?P<proto>\S+)"
    r"\s+\d+\s+\S+\s+\d+\s+(?P<rcode>[A-Z]+)\b",
    re.IGNORECASE,
)
_DNS_ERROR = re.compile(r"^Error:\s*\d+\s+(?P<qname>\S+)\s+(?P<qtype>[A-Z0-9]+):\s*(?P<why>.*)$", re.IGNORECASE)


def parse(msg: str, ts: int | None) -> dict[str, Any] | None:
    """The observation (or DNS lookup) one ``msg_s`` sentence describes; None when it fits no shape."""
    text = msg.strip()
    m = _DNS.match(text)
    if m:
        return dns_lookup(kind=KIND, ts=ts, qname=m["qname"], qtype=m["qtype"].upper(), rcode=m["rcode"].upper())
    m = _DNS_ERROR.match(text)
    if m:
        return dns_lookup(kind=KIND, ts=ts, qname=m["qname"], qtype=m["qtype"].upper(), rcode="SERVFAIL")
    m = _REQUEST.match(text)
    if m is None:
        return None
    fields = _fields(m["rest"] or "")
    word = m["proto"].split()[0].upper()
    client, client_port = split_host_port(m["src"])
    target = m["dst"]
    host, port = split_host_port(target) if target else (None, None)
    action = fields.get("action", "").split(".")[0].strip().lower()
    reason = fields.get("reason")
    rest = m["rest"] or ""
    if _NO_RULE.search(rest):
        reason = "No rule matched"
    elif _RESOLVE.search(rest):
        reason = "Failed to resolve address"
    rule = fields.get("rule")
    if "threatintel" in fields:
        rule = f"ThreatIntel: {fields['threatintel']}"
    elif "signature" in fields:
        rule = f"IDPS {fields['signature']}"
        reason = reason or fields.get("ids")
    elif "web category" in fields and not rule:
        rule = f"Web Category: {fields['web category']}"
    if m["nat"]:
        rule = rule or "DNAT"
        action = action or "dnat"
    verdict = DENIED if action in ("deny", "drop") or (not action and reason) else OK
    if not action and not reason and not m["nat"]:
        return None  # a request line without any verdict says nothing
    fqdn = name_of(host)
    if word in ("HTTP", "HTTPS"):
        protocol = protocol_of(word)
        source = "sni" if word == "HTTPS" else "host"
    else:
        protocol = protocol_of(word)
        source = "none"
    if port is None:
        port = 443 if word == "HTTPS" else 80 if word == "HTTP" else 0
    return observation(
        kind=KIND,
        ts=ts,
        protocol=protocol,
        port=port_of(port) or 0,
        fqdn=fqdn,
        address=host if host and fqdn is None else None,
        verdict=verdict,
        source=source if fqdn else "none",
        client=client,
        client_port=client_port,
        reason=reason,
        rule=rule,
    )


def _fields(rest: str) -> dict[str, str]:
    """``Key: value.`` pairs in order; a value runs to the next key."""
    marks = list(_FIELD.finditer(rest))
    out: dict[str, str] = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(rest)
        value = rest[mark.end() : end].strip()
        value = _NO_RULE.sub("", value).strip().rstrip(".").strip()
        out.setdefault(mark["key"].lower(), value)
    return out
