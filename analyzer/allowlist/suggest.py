"""The allowlist a capture justifies: exact names grouped by registrable domain, with ports."""

from __future__ import annotations

from typing import Any

from analyzer.allowlist.psl import registrable_domain
from analyzer.frames import Table
from analyzer.naming import transport_of


def suggest(summary: Table, noise_rows: set[int]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, set[Any]]] = {}
    addresses: list[dict[str, Any]] = []
    for i, row in enumerate(summary.rows):
        if i in noise_rows:
            continue
        transport = transport_of(row["protocol"])
        port = int(row["port"])
        if row["fqdn"] is None:
            addresses.append(
                {
                    "domain": None,
                    "names": [],
                    "address": row["address"],
                    "ports": [f"{transport}/{port}"],
                    "note": "no name seen: needs a network rule for the address",
                }
            )
            continue
        name = str(row["fqdn"])
        g = groups.setdefault(registrable_domain(name), {"names": set(), "ports": set()})
        g["names"].add(name)
        g["ports"].add(f"{transport}/{port}")
    out: list[dict[str, Any]] = []
    for domain in sorted(groups):
        names = sorted(groups[domain]["names"])
        note = None
        subs = [n for n in names if n != domain]
        if len(subs) > 1:
            note = f"*.{domain} would cover {len(subs)} of these names (and every other name under {domain})"
        out.append({"domain": domain, "names": names, "ports": sorted(groups[domain]["ports"]), "note": note})
    return out + addresses
