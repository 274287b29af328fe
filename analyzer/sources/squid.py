"""squid's access.log: the native format, and the common and combined formats.

From squid's documentation of ``logformat`` (https://wiki.squid-cache.org/Features/LogFormat,
http://www.squid-cache.org/Doc/config/logformat/):

- native ``%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt``:
  ``1718000000.123    412 10.0.0.4 TCP_TUNNEL/200 5123 CONNECT mcr.microsoft.com:443 - HIER_DIRECT/203.0.113.5 -``
- common ``%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh``, and combined, which adds the
  quoted Referer and User-Agent before ``%Ss:%Sh``.

A CONNECT is the proxy's view of HTTPS (protocol ``HTTP-CONNECT``, the port from ``host:443``); a
plain request is HTTP (port from the URL, else 80).  ``TCP_DENIED`` or status 403/407 is squid
refusing (verdict ``proxy-denied``, the reason ``TCP_DENIED/403``, the rule ``http_access``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from analyzer.sources.records import (
    OK,
    Tally,
    epoch_ns,
    is_address,
    name_of,
    observation,
    port_of,
    split_host_port,
)
from analyzer.sources.text import LogText

KIND = "squid"
PROXY_DENIED = "proxy-denied"
UNREACHABLE = "unreachable"

NATIVE = re.compile(
    r"^(?P<ts>\d{9,11}(?:\.\d+)?)\s+(?P<elapsed>-?\d+)\s+(?P<client>\S+)\s+(?P<code>[A-Z_]+)/(?P<status>\d{3})\s+"
    r"(?P<size>\d+)\s+(?P<method>\S+)\s+(?P<url>\S+)(?:\s+(?P<user>\S+)\s+(?P<hier>[A-Z_]+)/(?P<peer>\S+)"
    r"(?:\s+(?P<mime>\S+))?)?\s*$"
)
COMMON = re.compile(
    r'^(?P<client>\S+)\s+\S+\s+\S+\s+\[(?P<tl>[^\]]+)\]\s+"(?P<method>\S+)\s+(?P<url>\S+)(?:\s+[^"]*)?"\s+'
    r'(?P<status>\d{3})\s+(?P<size>\d+|-)(?:\s+"[^"]*"\s+"[^"]*")?(?:\s+(?P<code>[A-Z_]+):(?P<hier>[A-Z_]+))?\s*$'
)
_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[^\]]+\]|[^/:?#]+)(?::(?P<port>\d+))?", re.I)


def detect(line: str) -> bool:
    return bool(NATIVE.match(line) or COMMON.match(line))


def read(text: LogText, tally: Tally) -> Iterator[dict[str, Any]]:
    tally.tables.add("squid")
    for line, raw in text.lines():
        row = parse(raw)
        if row is None:
            if text.truncated:
                tally.truncated = True
                return
            tally.bad(line, "not a squid access.log line")
            continue
        tally.seen(row["first_seen"])
        yield row


def parse(line: str) -> dict[str, Any] | None:
    m = NATIVE.match(line)
    if m:
        ts: int | None = epoch_ns(m["ts"])
        peer = m["peer"] if m["peer"] and m["peer"] not in ("-",) else None
    else:
        m = COMMON.match(line)
        if m is None:
            return None
        ts = _clf_time(m["tl"])
        peer = None
    method, url, status = m["method"].upper(), m["url"], int(m["status"])
    code = m["code"] or ""
    if method == "CONNECT":
        host, port = split_host_port(url)
        protocol, source, port = "HTTP-CONNECT", "connect", port or 443
    else:
        u = _URL.match(url)
        if u is None:
            return None
        host = u["host"].strip("[]")
        scheme = u["scheme"].lower()
        port = port_of(u["port"]) or (443 if scheme == "https" else 80)
        protocol, source = ("TLS", "sni") if scheme == "https" else ("HTTP", "host")
    if "DENIED" in code or status in (403, 407):
        verdict, reason, rule = PROXY_DENIED, f"{code or 'HTTP'}/{status}", "http_access"
    elif status == 0 or (status >= 500 and peer is None):  # squid could not reach the server itself
        verdict, reason, rule = UNREACHABLE, f"{code or 'HTTP'}/{status:03d}", None
    else:
        verdict, reason, rule = OK, None, None
    fqdn = name_of(host)
    return observation(
        kind=KIND,
        ts=ts,
        protocol=protocol,
        port=port or 0,
        fqdn=fqdn,
        address=None if fqdn else (host if is_address(host) else None),
        verdict=verdict,
        source=source if fqdn else "none",
        client=m["client"],
        reason=reason,
        rule=rule,
        nbytes=int(m["size"]) if m["size"] and m["size"].isdigit() else 0,
    )


def _clf_time(text: str) -> int | None:
    try:
        return int(datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp()) * 1_000_000_000
    except ValueError:
        return None
