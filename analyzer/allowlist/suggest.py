"""The allowlist a capture justifies: exact names grouped by registrable domain, with ports."""

from __future__ import annotations

from analyzer.allowlist.psl import registrable_domain
from analyzer.frames import Table
from analyzer.protocols import rule_label
from analyzer.report import Suggestion
from analyzer.summary import unlisted, unlisted_reason


def suggest(summary: Table) -> tuple[Suggestion, ...]:
    """From the summary rows that are not noise (the ``noise`` column must be filled first)."""
    groups: dict[str, tuple[set[str], set[str]]] = {}
    addresses: list[Suggestion] = []
    port_texts: dict[tuple[str, int], str] = {}  # a capture has a few (protocol, port) pairs for 10k rows
    for row in summary.rows:
        if row["noise"] is not None:
            continue
        key = (row["protocol"], int(row["port"]))
        ports = port_texts.get(key)
        if ports is None:
            ports = port_texts[key] = rule_label(*key)
        if unlisted(row):
            why = f"{unlisted_reason(row)}: they need network rules for those addresses"
            addresses.append(Suggestion(None, (), (), (ports,), why))
            continue
        if row["fqdn"] is None:
            why = "no name seen: needs a network rule for the address"
            addresses.append(Suggestion(None, (), tuple(row["addresses"]), (ports,), why))
            continue
        name = str(row["fqdn"])
        domain = registrable_domain(name)
        group = groups.get(domain)
        if group is None:  # not setdefault: that builds two sets per row to throw away
            group = groups[domain] = (set(), set())
        names, port_set = group
        names.add(name)
        port_set.add(ports)
    out: list[Suggestion] = []
    for domain in sorted(groups):
        names, port_set = groups[domain]
        subs = [n for n in names if n != domain]
        note: str | None = None
        if len(subs) > 1:
            note = f"*.{domain} would cover {len(subs)} of these names (and every other name under {domain})"
        out.append(Suggestion(domain, tuple(sorted(names)), (), tuple(sorted(port_set)), note))
    return (*out, *addresses)
