"""AWS Network Firewall alert and flow logs, and Route 53 Resolver query logs (JSON lines).

Network Firewall (https://docs.aws.amazon.com/network-firewall/latest/developerguide/firewall-logging-contents.html):
``{"firewall_name", "availability_zone", "event_timestamp", "event": {...}}`` where ``event`` is
Suricata EVE JSON: ``event_type`` ``alert`` (with ``alert.action`` ``allowed``/``blocked``,
``alert.signature_id``, ``alert.signature``) or ``netflow`` (``netflow.pkts``, ``netflow.bytes``),
``src_ip, src_port, dest_ip, dest_port, proto, app_proto``, and ``tls.sni``/``http.hostname``.
A netflow event is one direction of a flow: only the client's direction (destination port below
the source port) is a connection here, so that the answer's direction is not counted twice.

Route 53 Resolver (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs-format.html):
``query_timestamp, query_name, query_type, rcode, answers[].Rdata, srcaddr, srcport, transport``
and, with DNS Firewall, ``firewall_rule_action`` (``ALLOW``, ``ALERT`` or ``BLOCK``),
``firewall_rule_group_id`` and ``firewall_domain_list_id``.  A ``BLOCK`` shows as rcode ``BLOCK`` in
the dns table, and is also a denial in the summary: protocol DNS, port 53, the name, verdict
``denied``, the rule group and domain list as its rule.  DNS Firewall judges names, not ports: the
allowlist review matches such a row by name alone (:func:`analyzer.allowlist.diff.diff`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from analyzer.sources.jsonstream import records as json_records
from analyzer.sources.records import DENIED, OK, Tally, dns_lookup, iso_ns, name_of, observation, port_of, protocol_of
from analyzer.sources.text import LogText

NFW = "aws-network-firewall"
ROUTE53 = "route53-resolver"


def read_nfw(text: LogText, tally: Tally) -> Iterator[dict[str, Any]]:
    tally.tables.add("aws-network-firewall")
    for line, record in json_records(text, tally):
        event = record.get("event")
        if not isinstance(event, dict) or "firewall_name" not in record:
            tally.bad(line, "not an AWS Network Firewall record")
            continue
        row = _nfw_event(event, record)
        if row is _SKIP:
            continue  # a record of a kind that is no connection (tls inspection, the answer's direction)
        if row is None:
            tally.bad(line, "an AWS Network Firewall event without addresses")
            continue
        tally.seen(row["first_seen"])
        yield row


_SKIP: dict[str, Any] = {}  # a record that is no connection: not counted as unparsed either


def _nfw_event(event: dict[str, Any], record: dict[str, Any]) -> dict[str, Any] | None:
    kind = event.get("event_type")
    sport, dport = port_of(event.get("src_port")), port_of(event.get("dest_port"))
    client, server = event.get("src_ip"), event.get("dest_ip")
    if not isinstance(client, str) or not isinstance(server, str) or dport is None:
        return None
    ts = iso_ns(event.get("timestamp")) or iso_ns(_epoch(record.get("event_timestamp")))
    tls, http = event.get("tls"), event.get("http")
    sni = name_of(tls.get("sni")) if isinstance(tls, dict) else None
    hostname = name_of(http.get("hostname")) if isinstance(http, dict) else None
    fqdn = sni or hostname
    app = str(event.get("app_proto") or "").lower()
    protocol = (
        "TLS" if sni or app == "tls" else "HTTP" if hostname or app == "http" else protocol_of(event.get("proto"))
    )
    source = "sni" if sni else "host" if hostname else "none"
    if kind == "alert":
        alert = _dict(event.get("alert"))
        action = str(alert.get("action", "")).lower()
        sig = alert.get("signature")
        rule = f"{alert.get('signature_id')}" + (f": {sig}" if sig else "") if alert.get("signature_id") else None
        verdict = DENIED if action in ("blocked", "dropped", "rejected") else OK
        reason = f"alert {action}" if action else None
        nbytes = 0
    elif kind == "netflow":
        if sport is not None and sport < dport:
            return _SKIP
        flow = _dict(event.get("netflow"))
        verdict, reason, rule = OK, None, None
        nbytes = int(flow.get("bytes") or 0) if str(flow.get("bytes") or "0").isdigit() else 0
    else:
        return _SKIP
    return observation(
        kind=NFW,
        ts=ts,
        protocol=protocol,
        port=dport,
        fqdn=fqdn,
        address=None if fqdn else server,
        verdict=verdict,
        source=source,
        client=client,
        client_port=sport,
        reason=reason,
        rule=rule,
        nbytes=nbytes,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _epoch(value: Any) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def read_route53(text: LogText, tally: Tally) -> Iterator[dict[str, Any]]:
    tally.tables.add("route53-resolver")
    for line, record in json_records(text, tally):
        qname = record.get("query_name")
        if not isinstance(qname, str) or not qname.strip():
            tally.bad(line, "not a Route 53 Resolver query log record")
            continue
        ts = iso_ns(record.get("query_timestamp"))
        tally.seen(ts)
        blocked = str(record.get("firewall_rule_action", "")).upper() == "BLOCK"
        row = dns_lookup(
            kind=ROUTE53,
            ts=ts,
            qname=qname,
            qtype=str(record.get("query_type") or "") or None,
            rcode="BLOCK" if blocked else (str(record.get("rcode") or "") or None),
        )
        answers = record.get("answers")
        row["answers"] = (
            sorted(str(a["Rdata"]) for a in answers if isinstance(a, dict) and a.get("Rdata"))
            if isinstance(answers, list)
            else []
        )
        row["client"] = record.get("srcaddr") if isinstance(record.get("srcaddr"), str) else None
        if blocked:  # the lookup, denied: analyzer.sources.build.Fold also folds it as a denial of the name
            rule = " ".join(
                str(record[k]) for k in ("firewall_rule_group_id", "firewall_domain_list_id") if record.get(k)
            )
            row.update(verdict=DENIED, verdict_reason="DNS Firewall blocked the lookup", rule=rule or None)
        yield row
