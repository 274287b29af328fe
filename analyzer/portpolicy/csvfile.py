"""A plain CSV of port rules, one per line, with a header naming its columns.

Required: ``direction``, ``protocol``, ``ports``; optional: ``policy``, ``order``, ``role`` (the endpoints
the rule is on; empty: every node), ``source``, ``destination`` (as the ARTESCA tables say them: (any),
In cluster, Etcd nodes), ``action`` (Allow), ``service``.
"""

from __future__ import annotations

import csv
import io
import re

from analyzer.portpolicy.artesca import peer_cell
from analyzer.portpolicy.model import (
    ACTIONS,
    ALLOW,
    ANY,
    CLUSTER,
    EGRESS,
    INGRESS,
    PolicyError,
    PortPolicy,
    Rule,
    parse_ports,
    roles_selector,
)

REQUIRED = {"direction", "protocol", "ports"}
DETECT_RE = re.compile(r"\A\s*[^\n]*\bdirection\b[^\n]*,[^\n]*\bports?\b", re.I)


def read(text: str, file: str) -> PortPolicy:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise PolicyError(file, None, "empty CSV")
    header = [h.strip().lower() for h in rows[0]]
    missing = REQUIRED - set(header)
    if missing:
        raise PolicyError(file, 1, f"CSV header lacks {', '.join(sorted(missing))}")
    policy = PortPolicy(files=[file], kinds=["csv"])
    for n, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise PolicyError(file, n, f"{len(row)} cells, the header has {len(header)}")
        cell = {h: c.strip() for h, c in zip(header, row, strict=True)}
        direction = cell["direction"].lower()
        if direction not in (INGRESS, EGRESS):
            raise PolicyError(file, n, f"direction must be ingress or egress, not {direction[:20]!r}")
        action = (cell.get("action") or ALLOW).capitalize()
        if action not in ACTIONS:
            raise PolicyError(file, n, f"action must be one of {', '.join(ACTIONS)}, not {action[:20]!r}")
        order_text = cell.get("order") or ""
        try:
            order = float(order_text) if order_text else None
        except ValueError:
            raise PolicyError(file, n, f"order is not a number: {order_text[:20]!r}") from None
        role = cell.get("role", "").lower()
        applies = CLUSTER if role in ("", "(any)", "any", "all nodes") else roles_selector(role)
        ports_text = cell["ports"]
        ports = () if ports_text in ("", "*", "any") else parse_ports(ports_text, file, n)
        protocol = cell["protocol"].upper()
        src = peer_cell(cell.get("source", ""), file, n) if direction == INGRESS else ANY
        dst = peer_cell(cell.get("destination", ""), file, n) if direction == EGRESS else ANY
        policy.rules.append(
            Rule(cell.get("policy") or "csv", order, applies, direction, None if protocol in ("", "ANY") else protocol,
                 ports, src, dst, action=action, service=cell.get("service") or None, file=file, line=n,
                 origin="csv")
        )  # fmt: skip
    return policy
