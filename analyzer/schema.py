"""Column schemas of every table the analyzer produces, declared once.

Event tables (flows, http, parse_errors) start with the same join keys, Zeek style:
``ts, uid, src, sport, dst, dport, transport``.  Aggregates (summary, dns) are keyed by
what they group on.  Reports, Parquet exports and the nightly history read these schemas;
add columns freely, never rename or retype one.

Declared as plain (name, type) pairs so that a run which writes JSON or a terminal table never
imports pyarrow (a tenth of a second of start-up); :func:`arrow_schema` builds the Arrow schema
when Parquet, pandas or DuckDB need it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

Columns = tuple[tuple[str, str], ...]

SCHEMA_VERSION = "egress-analyzer/2"  # 2: address/via became list columns; review results are columns

JOIN_KEYS: Columns = (
    ("ts", "timestamp"),
    ("uid", "int64"),
    ("src", "string"),
    ("sport", "int32"),
    ("dst", "string"),
    ("dport", "int32"),
    ("transport", "string"),
)

FLOWS: Columns = (
    *JOIN_KEYS,
    ("protocol", "string"),  # TLS, HTTP, HTTP-CONNECT, QUIC, DNS, TCP, UDP
    ("port", "int32"),  # the port the firewall sees asked for (CONNECT: the target's)
    ("fqdn", "string"),
    ("source", "string"),  # sni, host, connect, dns, none
    ("verdict", "string"),
    ("detail", "string"),
    ("packets", "int64"),
    ("bytes", "int64"),
    ("via", "string"),  # proxy ip:port when the connection went through one
    ("last_ts", "timestamp"),
    ("sni", "string"),
    ("http_host", "string"),  # the first Host header, as sent (may carry :port)
    ("http_hosts", "list<string>"),  # every distinct Host header on the connection
    ("requests", "int64"),
    ("http_status", "int32"),
    ("ech", "bool"),
    ("dns_name", "string"),
    ("service", "string"),
    ("client_packets", "int64"),
    ("server_packets", "int64"),
    ("client_payload", "int64"),
    ("server_payload", "int64"),
)

HTTP: Columns = (
    *JOIN_KEYS,
    ("host", "string"),
    ("port", "int32"),
    ("source", "string"),
    ("requests", "int64"),
    ("via", "string"),
)

SUMMARY: Columns = (
    ("protocol", "string"),
    ("port", "int32"),
    ("fqdn", "string"),
    ("addresses", "list<string>"),  # every distinct destination address, sorted; renderers shorten it
    ("count", "int64"),
    ("bytes", "int64"),
    ("verdict", "string"),
    ("action", "string"),
    ("first_seen", "timestamp"),
    ("last_seen", "timestamp"),
    ("source", "string"),
    ("vias", "list<string>"),  # proxies (ip:port) the connections went through, sorted
    ("detail", "string"),
    # The review, as columns of the row it speaks of (null where it does not apply):
    ("noise", "string"),  # noise kind (search-list, cluster, mdns, ...): not egress through the firewall
    ("noise_reason", "string"),
    ("status", "string"),  # with an allowlist: covered, blocked-but-allowed or missing
    ("entry", "string"),  # the allowlist entry that allows the row (covered, blocked-but-allowed)
    ("entry_line", "int32"),
    ("reason", "string"),  # why the row is missing or blocked although allowed
)

DNS: Columns = (
    ("qname", "string"),
    ("qtype", "string"),
    ("rcode", "string"),  # of the last response; null when never answered
    ("answers", "list<string>"),
    ("cname_chain", "list<string>"),
    ("count", "int64"),  # queries plus unsolicited responses seen
    ("queries", "int64"),
    ("responses", "int64"),
    ("unanswered", "int64"),
    ("servers", "list<string>"),
    ("service", "string"),  # dns, mdns, llmnr
    ("first_seen", "timestamp"),
    ("last_seen", "timestamp"),
    ("noise", "string"),  # noise kind of the name (search-list, mdns, reverse, ...), null when it is egress
    ("noise_reason", "string"),
    ("status", "string"),  # with an allowlist: dns-only when the name resolved but was never connected to
)

PARSE_ERRORS: Columns = (
    ("frame", "int64"),
    ("layer", "string"),
    ("reason", "string"),
)

# Observations: one row per (connection, name) from any source (a capture today, firewall logs
# later); analyzer.summary aggregates them into SUMMARY.
OBSERVATIONS: Columns = (
    ("protocol", "string"),
    ("port", "int32"),
    ("fqdn", "string"),
    ("address", "string"),
    ("count", "int64"),
    ("bytes", "int64"),
    ("verdict", "string"),
    ("first_seen", "timestamp"),
    ("last_seen", "timestamp"),
    ("source", "string"),
    ("via", "string"),
    ("detail", "string"),
    # The connection's first packet went to a link-layer broadcast/multicast address (a subnet
    # broadcast such as 10.0.0.255 is known by this alone): noise of kind broadcast.
    ("link_broadcast", "bool"),
    # Where the row comes from and what a log said of it (analyzer/sources); a capture's rows carry
    # source_kind "capture" and their client, the rest null unless a log confirmed or contradicted them.
    ("source_kind", "string"),  # capture, azure-firewall, azure-diagnostics, squid, aws-network-firewall
    ("client", "string"),  # the connection's client address
    ("client_port", "int32"),  # its port (null for a log row that counts several connections)
    ("verdict_reason", "string"),  # the log's reason: No rule matched, SNI TLS extension was missing, ...
    ("rule", "string"),  # the rule that decided: Rule, ThreatIntel, IDPS <signature>, http_access
    ("confirmed", "bool"),  # a capture and a log agree on the Action (null: only one source spoke of it)
    ("conflict", "string"),  # the other source's Action when they disagree (Deny, Allow)
)

# What the logs said per summary row (same key: protocol, port, fqdn or address, verdict): the
# rule and reason behind an Action, and how many connections a capture and a log agreed on.
LOG_VERDICTS: Columns = (
    ("protocol", "string"),
    ("port", "int32"),
    ("fqdn", "string"),
    ("address", "string"),  # the row's address when it has no name
    ("verdict", "string"),
    ("action", "string"),
    ("count", "int64"),
    ("rule", "string"),  # the most frequent rule
    ("verdict_reason", "string"),  # the most frequent reason
    ("confirmed", "int64"),  # connections a capture and a log agree on
    ("conflicts", "int64"),  # connections they disagree on
    ("conflict", "string"),  # the other source's Action where they disagree
    ("source_kinds", "list<string>"),
)

# Allowlist entries no observed connection matched (with an allowlist).
EXCESS: Columns = (
    ("entry", "string"),
    ("file", "string"),
    ("line", "int32"),
    ("reason", "string"),
)

# Findings about the allowlist on its own (egress lint, and every analyze with an allowlist).
LINT: Columns = (
    ("entry", "string"),
    ("file", "string"),
    ("line", "int32"),
    ("problem", "string"),  # invalid, matches-everything, public-suffix-wildcard, over-broad, multi-tenant, ...
    ("detail", "string"),
)

# The output tables, in report order.
TABLES: dict[str, Columns] = {
    "summary": SUMMARY,
    "flows": FLOWS,
    "http": HTTP,
    "dns": DNS,
    "parse_errors": PARSE_ERRORS,
    "excess": EXCESS,
    "lint": LINT,
    "observations": OBSERVATIONS,
}

# The nightly history (analyzer/history): per run, one row per capture with its provenance, then
# the report tables of each capture keyed by the capture's SHA-256 (a capture stored twice under
# two paths keeps one copy of its rows).
HISTORY_CAPTURES: Columns = (
    ("sha256", "string"),
    ("path", "string"),  # the absolute path the capture was read from
    ("name", "string"),  # relative to the run's common folder: host-a/out.pcap (same base names stay apart)
    ("size", "int64"),
    ("packets", "int64"),
    ("first_ts", "timestamp"),
    ("last_ts", "timestamp"),
    ("truncated", "bool"),
    ("tool_version", "string"),
    ("settings", "string"),  # fingerprint of the allowlist and options the capture was reviewed with
    ("reused", "bool"),  # rows copied from an earlier run (same SHA-256 and settings), not analysed again
    ("error", "string"),  # the one-line reason when the capture could not be read (no rows then)
    ("warnings", "list<string>"),
)
HISTORY_KEY: Columns = (("sha256", "string"),)
# Report tables the history keeps, each stored as ``<table>.parquet`` with HISTORY_KEY in front.
HISTORY_STORED = ("observations", "summary", "dns", "excess", "lint")

# The morning report's drift items: one row per change between a night and its baseline.
DRIFT: Columns = (
    ("class", "string"),  # new, gone, newly-blocked, unblocked, port-change, regression, unused-entry, flapping,
    # expired-suppression
    ("name", "string"),  # the fqdn (the address when none was seen); the entry or pattern for the last two classes
    ("ports", "list<string>"),  # TCP/443, UDP/123: tonight's (the last night's for gone)
    ("baseline_ports", "list<string>"),
    ("first_night", "string"),  # YYYY-MM-DD the name was first seen in the window
    ("last_night", "string"),  # YYYY-MM-DD the name was last seen
    ("nights_seen", "int32"),  # nights of the window (baseline and tonight) the name was seen
    ("nights", "int32"),  # nights in the window
    ("verdict", "string"),  # last verdict (the worst of the night's connections)
    ("previous_verdict", "string"),  # its verdict on the last baseline night it was seen
    ("action", "string"),
    ("status", "string"),  # allowlist status tonight: covered, blocked-but-allowed, missing
    ("entry", "string"),  # the allowlist entry involved
    ("entry_line", "int32"),
    ("captures", "list<string>"),  # the captures (history names) that show it
    ("suppressed", "bool"),  # matched a live suppression: reported, never gated
    ("reason", "string"),  # the suppression's reason
    ("expires", "string"),  # the suppression's expiry, YYYY-MM-DD
)

# Per name and night across the window: what the HTML timeline draws.
TIMELINE: Columns = (
    ("name", "string"),
    ("night", "string"),
    ("ports", "list<string>"),
    ("verdict", "string"),
    ("action", "string"),
    ("count", "int64"),
)

HISTORY: dict[str, Columns] = {
    "history_captures": HISTORY_CAPTURES,
    **{f"history_{name}": (*HISTORY_KEY, *TABLES[name]) for name in HISTORY_STORED},
    "drift": DRIFT,
    "timeline": TIMELINE,
}
# The in-cluster port check (egress analyze --port-policy, issue 16): one row per node-to-node flow
# group (source, destination, protocol, port) with the rule that allows it or why the policy denies it,
# and one row per policy rule, shaped like ARTESCA's role tables, with what the captures exercised.
PORT_FLOWS: Columns = (
    ("first_seen", "timestamp"),
    ("scope", "string"),  # in-cluster (both ends have roles), from-outside (only the destination has)
    ("src", "string"),
    ("src_roles", "list<string>"),
    ("dst", "string"),
    ("dst_roles", "list<string>"),
    ("protocol", "string"),  # TCP, UDP
    ("port", "int32"),
    ("connections", "int64"),
    ("blocked", "int64"),  # connections the capture shows blocked (no-reply, reset, unreachable)
    ("verdict", "string"),  # ok, or the verdict of the last blocked connection
    ("policy", "string"),  # allowed, denied
    ("denied_at", "string"),  # ingress, egress, egress+ingress (null when allowed)
    ("egress_rule", "string"),  # rule id, or failsafe, not-enforced, default-deny, pass (null: no egress check)
    ("ingress_rule", "string"),
    ("nearest", "string"),  # the Allow rule that almost matched a denied flow (rule id)
    ("nearest_reason", "string"),  # wrong-source, wrong-destination, wrong-node-role, wrong-roles, wrong-port
    # The rule that would allow a denied flow (null when allowed), on this row's protocol and port: its
    # direction, the roles of the endpoints the policy is on, and the roles of the peers it admits (an
    # empty list: outside the cluster).  Renderers word it ("ingress TCP/2380 on etcd from etcd,master").
    ("needed_direction", "string"),
    ("needed_roles", "list<string>"),
    ("needed_peer_roles", "list<string>"),
    ("status", "string"),  # ok, likely-cause (blocked, denied), points-elsewhere (blocked, allowed), denied-but-passed
)
PORT_RULES: Columns = (
    ("rule", "string"),  # <policy>/<direction>/<n>: what port_flows points at
    ("policy", "string"),
    ("order", "string"),  # the policy's order as written (102, 100.5); null: none (evaluated last)
    ("network", "string"),
    ("role", "string"),  # the endpoints the policy is on: (any), In cluster, Etcd nodes
    ("protocol_port", "string"),  # TCP(:2380), TCP(*), VRRP()
    ("traffic_type", "string"),
    ("direction", "string"),
    ("source", "string"),
    ("destination", "string"),
    ("action", "string"),
    ("file", "string"),
    ("line", "int32"),
    ("flows", "int64"),  # flow groups it allowed
    ("connections", "int64"),
    ("blocked", "int64"),  # of those connections, blocked all the same (the cause is elsewhere)
    ("used", "bool"),  # false: never exercised by the captures
)
PORT_POLICY: dict[str, Columns] = {"port_flows": PORT_FLOWS, "port_rules": PORT_RULES}

ALL = {**TABLES, **HISTORY, **PORT_POLICY, "log_verdicts": LOG_VERDICTS}


@cache
def column_names(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in ALL[table])


@cache
def timestamp_columns(table: str) -> tuple[str, ...]:
    return tuple(name for name, kind in ALL[table] if kind == "timestamp")


@cache
def arrow_schema(table: str) -> pa.Schema:
    """The table's Arrow schema (timestamps are ns, UTC)."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("ns", tz="UTC"),
        "list<string>": pa.list_(pa.string()),
    }
    return pa.schema([pa.field(name, types[kind]) for name, kind in ALL[table]])
