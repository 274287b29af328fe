"""Column schemas of every table the analyzer produces, declared once.

Event tables (flows, http, parse_errors) start with the same join keys, Zeek style:
``ts, uid, src, sport, dst, dport, transport``.  Aggregates (summary, dns) are keyed by
what they group on.  Reports, Parquet exports and the nightly history read these schemas;
add columns freely, never rename or retype one.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "egress-analyzer/1"
TS = pa.timestamp("ns", tz="UTC")

JOIN_KEYS = [
    pa.field("ts", TS),
    pa.field("uid", pa.int64()),
    pa.field("src", pa.string()),
    pa.field("sport", pa.int32()),
    pa.field("dst", pa.string()),
    pa.field("dport", pa.int32()),
    pa.field("transport", pa.string()),
]

FLOWS = pa.schema(
    [
        *JOIN_KEYS,
        pa.field("protocol", pa.string()),  # TLS, HTTP, HTTP-CONNECT, QUIC, DNS, TCP, UDP
        pa.field("port", pa.int32()),  # the port the firewall sees asked for (CONNECT: the target's)
        pa.field("fqdn", pa.string()),
        pa.field("source", pa.string()),  # sni, host, connect, dns, none
        pa.field("verdict", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("packets", pa.int64()),
        pa.field("bytes", pa.int64()),
        pa.field("via", pa.string()),  # proxy ip:port when the connection went through one
        pa.field("last_ts", TS),
        pa.field("sni", pa.string()),
        pa.field("http_host", pa.string()),  # the first Host header, as sent (may carry :port)
        pa.field("http_hosts", pa.list_(pa.string())),  # every distinct Host header on the connection
        pa.field("requests", pa.int64()),
        pa.field("http_status", pa.int32()),
        pa.field("ech", pa.bool_()),
        pa.field("dns_name", pa.string()),
        pa.field("service", pa.string()),
        pa.field("client_packets", pa.int64()),
        pa.field("server_packets", pa.int64()),
        pa.field("client_payload", pa.int64()),
        pa.field("server_payload", pa.int64()),
    ]
)

HTTP = pa.schema(
    [
        *JOIN_KEYS,
        pa.field("host", pa.string()),
        pa.field("port", pa.int32()),
        pa.field("source", pa.string()),
        pa.field("requests", pa.int64()),
        pa.field("via", pa.string()),
    ]
)

SUMMARY = pa.schema(
    [
        pa.field("protocol", pa.string()),
        pa.field("port", pa.int32()),
        pa.field("fqdn", pa.string()),
        pa.field("address", pa.string()),
        pa.field("count", pa.int64()),
        pa.field("bytes", pa.int64()),
        pa.field("verdict", pa.string()),
        pa.field("action", pa.string()),
        pa.field("first_seen", TS),
        pa.field("last_seen", TS),
        pa.field("source", pa.string()),
        pa.field("via", pa.string()),
        pa.field("detail", pa.string()),
    ]
)

DNS = pa.schema(
    [
        pa.field("qname", pa.string()),
        pa.field("qtype", pa.string()),
        pa.field("rcode", pa.string()),  # of the last response; null when never answered
        pa.field("answers", pa.list_(pa.string())),
        pa.field("cname_chain", pa.list_(pa.string())),
        pa.field("count", pa.int64()),  # queries plus unsolicited responses seen
        pa.field("queries", pa.int64()),
        pa.field("responses", pa.int64()),
        pa.field("unanswered", pa.int64()),
        pa.field("servers", pa.list_(pa.string())),
        pa.field("service", pa.string()),  # dns, mdns, llmnr
        pa.field("first_seen", TS),
        pa.field("last_seen", TS),
    ]
)

PARSE_ERRORS = pa.schema(
    [
        pa.field("frame", pa.int64()),
        pa.field("layer", pa.string()),
        pa.field("reason", pa.string()),
    ]
)

# Observations: one row per (connection, name) from any source (a capture today, firewall logs
# later); analyzer.summary aggregates them into SUMMARY.
OBSERVATIONS = pa.schema(
    [
        pa.field("protocol", pa.string()),
        pa.field("port", pa.int32()),
        pa.field("fqdn", pa.string()),
        pa.field("address", pa.string()),
        pa.field("count", pa.int64()),
        pa.field("bytes", pa.int64()),
        pa.field("verdict", pa.string()),
        pa.field("first_seen", TS),
        pa.field("last_seen", TS),
        pa.field("source", pa.string()),
        pa.field("via", pa.string()),
        pa.field("detail", pa.string()),
    ]
)

TABLES = {"summary": SUMMARY, "flows": FLOWS, "http": HTTP, "dns": DNS, "parse_errors": PARSE_ERRORS}
