"""The KQL-shaped summary: ``summarize count() by Protocol, DestinationPort, Fqdn, Action``.

Input is *observations* (one row per connection and name, from a capture today, from firewall
logs later); output is one row per (protocol, port, fqdn or address, verdict).  The summary is
folded one observation at a time (:class:`Summarizer`), in whatever order connections finish: no
observation is kept, and what a group keeps does not depend on the order it is fed.

Groups of unnamed destinations (no SNI, Host or DNS name: grouped by address) are bounded: a SYN
scan of a million addresses must not make a million rows.  Past ``MAX_ADDRESS_GROUPS`` of them, a
new address joins one "other addresses" row per protocol, port and verdict, and a warning says so.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from analyzer.frames import Table
from analyzer.smallset import Values, add
from analyzer.verdicts import VERDICTS, action

SOURCE_RANK = {"sni": 0, "host": 1, "connect": 2, "dns": 3, "none": 4}
_ACTION_RANK = {"Deny": 0, "Unknown": 1, "Allow": 2}


# Unnamed destinations listed by address in the summary; beyond, they are counted together.
MAX_ADDRESS_GROUPS = 20_000
OTHER_ADDRESSES = "other-addresses"  # the key's name slot of a group beyond the cap (never an fqdn or address)

# An observation's place in the order the report lists connections (flows: start time, connection
# id, the name's index within the connection): it breaks ties between details the same way whatever
# the order observations arrive in.
Order = tuple[int, ...]


class _Group:
    __slots__ = (
        "addresses",
        "bytes",
        "count",
        "detail",
        "detail_count",
        "detail_order",
        "first",
        "last",
        "more_details",
        "sources",
        "vias",
    )

    def __init__(
        self,
        count: int,
        nbytes: int,
        address: str | None,
        via: str | None,
        source: str | None,
        detail: str | None,
        order: Order,
        first: Any,
        last: Any,
    ) -> None:
        """A group as its first observation makes it (what folding that one into an empty group gives)."""
        self.count = count
        self.bytes = nbytes
        self.addresses: Values = (address,) if address else ()
        self.vias: Values = (via,) if via else ()
        self.sources: Values = _ONE_SOURCE.get(source) or (source,) if source else ()
        # The first detail seen, its connections and the order of its first one, inline: most groups
        # have one; others go to more_details (detail -> [connections, order of its first]).
        self.detail = detail or None
        self.detail_count = 1 if detail else 0
        self.detail_order: Order = order if detail else ()
        self.more_details: dict[str, list[Any]] | None = None
        self.first = first
        self.last = last


# One shared 1-tuple per known source: most groups have a single source, and a summary has thousands.
_ONE_SOURCE: dict[str | None, Values] = {s: (s,) for s in SOURCE_RANK}


def _detail(counts: dict[str, list[Any]]) -> str | None:
    """The most frequent detail (the first in report order among equals), and how many connections it
    describes when the row counts more than one: a detail speaks of one connection (``1 datagram(s),
    no answer``), so next to ``count_ 2`` it must say whether it is true of both."""
    best: str | None = None
    top = 0
    first: Order = ()
    for value, (n, order) in counts.items():
        if n > top or (n == top and order < first):
            best, top, first = value, n, order
    total = sum(n for n, _order in counts.values())
    if best is None or total <= 1:
        return best
    return f"{best} ({'all' if top == total else top} of {total} connections)"


class Summarizer:
    """The summary folded as observations arrive (:meth:`add`), read once at the end (:meth:`table`)."""

    __slots__ = ("_address_groups", "_groups", "max_address_groups", "other_connections")

    def __init__(self, max_address_groups: int | None = None) -> None:
        # Plain Python grouping: a capture has thousands of small groups, where pandas' per-group
        # overhead (not the arithmetic) dominates.
        self._groups: dict[tuple[Any, ...], _Group] = {}
        self._address_groups = 0
        # Read when the summary starts, not when this module is imported: a test lowers the cap.
        self.max_address_groups = MAX_ADDRESS_GROUPS if max_address_groups is None else max_address_groups
        self.other_connections = 0  # observations counted in an "other addresses" group

    def add(self, r: dict[str, Any], order: Order) -> None:
        """Fold one observations row."""
        self.fold(
            r["protocol"],
            r["port"],
            r["fqdn"],
            r["address"],
            r["count"],
            r["bytes"],
            r["verdict"],
            r["first_seen"],
            r["last_seen"],
            r["source"],
            r["via"],
            r["detail"],
            order,
        )

    def fold(
        self,
        protocol: str,
        port: int,
        fqdn: str | None,
        address: str | None,
        count: int,
        nbytes: int,
        verdict: str,
        first_seen: Any,
        last_seen: Any,
        source: str | None,
        via: str | None,
        detail: str | None,
        order: Order,
    ) -> None:
        """Fold one observation given column by column: the pipeline has them at hand, and reading
        twelve columns back out of its row dict cost half a microsecond per connection."""
        # Rows without a name are grouped by their address, as the firewall log would show them.
        unnamed = fqdn is None
        key = (protocol, port, address if unnamed else fqdn, verdict, unnamed)
        groups = self._groups
        g = groups.get(key)
        if g is None:
            if unnamed and self._address_groups >= self.max_address_groups:
                # Beyond the cap: one group per protocol, port and verdict, whose addresses are what
                # the cap leaves out.
                self.other_connections += 1
                key = (protocol, port, OTHER_ADDRESSES, verdict, True)
                address = None
                g = groups.get(key)
            elif unnamed:
                self._address_groups += 1
            if g is None:
                groups[key] = _Group(count, nbytes, address, via, source, detail, order, first_seen, last_seen)
                return
        g.count += count
        g.bytes += nbytes
        # Most observations of a group repeat its address, proxy and source: test before adding.
        if address and address not in g.addresses:
            g.addresses = add(g.addresses, address)
        if via and via not in g.vias:
            g.vias = add(g.vias, via)
        if source and source not in g.sources:
            g.sources = add(g.sources, source)
        if detail:
            if g.detail is None:
                g.detail, g.detail_count, g.detail_order = detail, 1, order
            elif g.detail == detail:
                g.detail_count += 1
                if order < g.detail_order:
                    g.detail_order = order
            else:
                more = g.more_details if g.more_details is not None else {}
                g.more_details = more
                seen = more.get(detail)
                if seen is None:
                    more[detail] = [1, order]
                else:
                    seen[0] += 1
                    if order < seen[1]:
                        seen[1] = order
        if g.first is None or first_seen < g.first:
            g.first = first_seen
        if g.last is None or last_seen > g.last:
            g.last = last_seen

    def warnings(self) -> list[str]:
        if not self.other_connections:
            return []
        return [
            f"the summary lists the first {self.max_address_groups} unnamed destinations by address; "
            f"{self.other_connections} more connections to other unnamed addresses are counted in rows "
            f"without addresses (one per protocol, port and verdict; the flows table has each one)"
        ]

    def table(self) -> Table:
        """The summary table, once: the groups become its rows as it is built (never both whole)."""
        return _summary_table(self._groups, self.max_address_groups)


def unlisted(row: dict[str, Any]) -> bool:
    """Whether a summary row stands for unnamed destinations it does not list: the row of addresses
    beyond the cap (its ``count`` is their connections, its ``detail`` says so).  The review and the
    renderers must not speak of its empty ``addresses`` as if it were an address."""
    return row["fqdn"] is None and not row["addresses"]


def unlisted_reason(row: dict[str, Any]) -> str:
    """The start of a review reason for an :func:`unlisted` row: what it stands for, with no address to name."""
    n = int(row["count"])
    return (
        f"no name seen for {n} connection{'' if n == 1 else 's'} to unnamed addresses the summary does not list "
        "one by one (beyond its cap; the flows table has each)"
    )


def summarize(obs: Table) -> Table:
    """The summary of an observations table (in table order)."""
    summarizer = Summarizer()
    for i, r in enumerate(obs):
        summarizer.add(r, (i,))
    return summarizer.table()


def _summary_table(groups: dict[tuple[Any, ...], _Group], cap: int) -> Table:
    verdict_rank = {v: i for i, v in enumerate(VERDICTS)}
    actions: dict[Any, str] = {}  # per distinct verdict: a handful
    keyed: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for group_key in list(groups):
        g = groups.pop(group_key)  # a group goes as its row comes: never both whole in memory
        protocol, port, name, verdict, unnamed = group_key
        sources = g.sources
        if isinstance(sources, tuple) and len(sources) == 1:
            source = sources[0]
        else:  # the best ranked, the first seen among equals (what a stable sort puts first)
            source = min(sources, key=_source_rank) if sources else "none"
        if g.more_details is None:  # one detail: _detail's answer without building its dict
            detail = g.detail if g.detail_count <= 1 else f"{g.detail} (all of {g.detail_count} connections)"
        else:
            assert g.detail is not None
            detail = _detail({g.detail: [g.detail_count, g.detail_order], **g.more_details})
        if unnamed and name == OTHER_ADDRESSES:
            detail = f"addresses beyond the first {cap} listed" + (f"; {detail}" if detail else "")
        fqdn = None if unnamed else name
        addresses = sorted(g.addresses)
        count = g.count
        act = actions.get(verdict)
        if act is None:
            act = actions[verdict] = action(str(verdict))
        port = int(port)
        row = {
            "protocol": protocol,
            "port": port,
            "fqdn": fqdn,
            "addresses": addresses,
            "count": count,
            "bytes": g.bytes,
            "verdict": verdict,
            "action": act,
            "first_seen": g.first,
            "last_seen": g.last,
            "source": source,
            "vias": sorted(g.vias) if g.vias else [],
            "detail": detail,
            # Filled by analyzer.review.
            "noise": None,
            "noise_reason": None,
            "status": None,
            "entry": None,
            "entry_line": None,
            "reason": None,
        }
        # Deny first (what to fix), then Unknown (connections joined mid-stream), then Allow.
        sort_key = (
            _ACTION_RANK.get(act, 0),
            -count,
            verdict_rank.get(verdict, 99),
            fqdn or "",
            addresses,
            protocol,
            port,
        )
        keyed.append((sort_key, row))
    keyed.sort(key=itemgetter(0))
    return Table("summary", [row for _key, row in keyed])


def _source_rank(source: str) -> int:
    return SOURCE_RANK.get(source, 9)
