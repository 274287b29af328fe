"""Stackato's "which ports are used by which services" table.

Columns: Port Range, Type, Config on (the node that listens), Inbound (the nodes that connect), Required
by (the service).  Copied from the web page the table arrives flattened into one line ("Port Range Type
Config on Inbound Required by 0 - 65535 (all) tcp dea controller stackato ssh 4222 tcp controller all nodes
NATS ..."); written by hand it is a Markdown pipe table.  Each row is one ingress rule on the "Config on"
role from the "Inbound" role; "all nodes" is every node of the cluster.
"""

from __future__ import annotations

import re

from analyzer.portpolicy.model import (
    ANY,
    CLUSTER,
    INGRESS,
    PolicyError,
    PortPolicy,
    Rule,
    Selector,
    parse_ports,
    roles_selector,
)

_HEADER_RE = re.compile(r"Port Range\s*\|?\s*Type\s*\|?\s*Config on\s*\|?\s*Inbound\s*\|?\s*Required by", re.I)
_PORTS = r"\d+(?:\s*-\s*\d+)?(?:\s*\(all\))?"
_ROLE = r"all nodes|[\w-]+"
# One row of the flattened table; the service runs until the next row's port and type.
_FLAT_ROW_RE = re.compile(
    rf"({_PORTS})\s+(tcp|udp)\s+({_ROLE})\s+({_ROLE})\s+(.+?)(?=\s+{_PORTS}\s+(?:tcp|udp)\b|\s*$)", re.I
)
DETECT_RE = _HEADER_RE


def read(text: str, file: str) -> PortPolicy:
    policy = PortPolicy(files=[file], kinds=["stackato"])
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        m = _HEADER_RE.search(line)
        if not m:
            continue
        if line.strip().startswith("|"):
            policy.rules += _pipe_rows(lines, n, file)
            continue
        rest = line[m.end() :]
        pos = 0
        for row in _FLAT_ROW_RE.finditer(rest):
            if rest[pos : row.start()].strip():
                raise PolicyError(file, n, f"port table cell not understood: {rest[pos : row.start()].strip()[:60]!r}")
            policy.rules.append(_rule(row.groups(), file, n))
            pos = row.end()
    return policy


def _pipe_rows(lines: list[str], header: int, file: str) -> list[Rule]:
    out = []
    for n in range(header + 1, len(lines) + 1):
        line = lines[n - 1].strip()
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if all(set(c) <= set(":- ") for c in cells):
            continue
        if len(cells) != 5:
            raise PolicyError(file, n, f"port table row has {len(cells)} cells, not 5")
        out.append(_rule(tuple(cells), file, n))
    return out


def _role(cell: str) -> Selector:
    low = cell.strip().lower()
    if low in ("all nodes", "all"):
        return CLUSTER
    if low in ("any", "(any)", "internet"):
        return ANY
    return roles_selector(low)


def _rule(cells: tuple[str, ...], file: str, line: int) -> Rule:
    ports_text, proto, config_on, inbound, service = cells
    all_ports = "(all)" in ports_text
    ports = parse_ports(ports_text.replace("(all)", "").replace(" ", ""), file, line)
    if all_ports:
        ports = ()
    return Rule(
        "stackato", None, _role(config_on), INGRESS, proto.upper(), ports, _role(inbound), ANY,
        service=service.strip(), file=file, line=line, origin="port-table",
    )  # fmt: skip
