"""The KQL-shaped summary: ``summarize count() by Protocol, DestinationPort, Fqdn, Action``.

Input is an *observations* frame (one row per connection and name, from a capture today,
from firewall logs later); output is one row per (protocol, port, fqdn or address, verdict).
"""

from __future__ import annotations

from typing import Any

from analyzer.frames import Table
from analyzer.verdicts import VERDICTS, action

SOURCE_RANK = {"sni": 0, "host": 1, "connect": 2, "dns": 3, "none": 4}
_ACTION_RANK = {"Deny": 0, "Unknown": 1, "Allow": 2}


class _Group:
    __slots__ = ("addresses", "bytes", "count", "details", "first", "key", "last", "sources", "vias")

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key
        self.addresses: set[str] = set()
        self.vias: set[str] = set()
        self.sources: set[str] = set()
        self.details: dict[str, int] = {}  # a plain dict: a Counter per group costs more than the grouping
        self.count = 0
        self.bytes = 0
        self.first: Any = None
        self.last: Any = None


def _detail(counts: dict[str, int]) -> str | None:
    """The most frequent detail (the first seen among equals), and how many connections it describes
    when the row counts more than one: a detail speaks of one connection (``1 datagram(s), no answer``),
    so next to ``count_ 2`` it must say whether it is true of both."""
    best: str | None = None
    top = 0
    for value, n in counts.items():
        if n > top:
            best, top = value, n
    total = sum(counts.values())
    if best is None or total <= 1:
        return best
    return f"{best} ({'all' if top == total else top} of {total} connections)"


def summarize(obs: Table) -> Table:
    # Plain Python grouping: a capture has thousands of small groups, where pandas' per-group
    # overhead (not the arithmetic) dominates.
    groups: dict[tuple[Any, ...], _Group] = {}
    for r in obs.rows:
        # Rows without a name are grouped by their address, as the firewall log would show them.
        name = r["fqdn"] if r["fqdn"] is not None else r["address"]
        key = (r["protocol"], r["port"], name, r["verdict"], r["fqdn"] is None)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(key)
        g.count += r["count"]
        g.bytes += r["bytes"]
        if r["address"]:
            g.addresses.add(r["address"])
        if r["via"]:
            g.vias.add(r["via"])
        if r["source"]:
            g.sources.add(r["source"])
        detail = r["detail"]
        if detail:
            g.details[detail] = g.details.get(detail, 0) + 1
        if g.first is None or r["first_seen"] < g.first:
            g.first = r["first_seen"]
        if g.last is None or r["last_seen"] > g.last:
            g.last = r["last_seen"]
    out: list[dict[str, Any]] = []
    for g in groups.values():
        protocol, port, name, verdict, unnamed = g.key
        sources = sorted(g.sources, key=lambda s: SOURCE_RANK.get(s, 9))
        out.append(
            {
                "protocol": protocol,
                "port": int(port),
                "fqdn": None if unnamed else name,
                "addresses": sorted(g.addresses),
                "count": g.count,
                "bytes": g.bytes,
                "verdict": verdict,
                "action": action(str(verdict)),
                "first_seen": g.first,
                "last_seen": g.last,
                "source": sources[0] if sources else "none",
                "vias": sorted(g.vias),
                "detail": _detail(g.details),
                # Filled by analyzer.review.
                "noise": None,
                "noise_reason": None,
                "status": None,
                "entry": None,
                "entry_line": None,
                "reason": None,
            }
        )
    order = {v: i for i, v in enumerate(VERDICTS)}
    # Deny first (what to fix), then Unknown (connections joined mid-stream), then Allow.
    out.sort(
        key=lambda r: (
            _ACTION_RANK.get(r["action"], 0),
            -r["count"],
            order.get(r["verdict"], 99),
            r["fqdn"] or "",
            r["addresses"],
            r["protocol"],
            r["port"],
        )
    )
    return Table("summary", out)
