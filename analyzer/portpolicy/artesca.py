"""ARTESCA's "Network Firewall" page: role tables and rule lines.

The page says each policy twice.  A summary table per policy (Network, Role, Protocol(Port), Traffic
Type, Direction(s), Source, Destination), as Markdown pipe rows or, copied from the web page, one cell per
line; and, further down, the same policy spelt out ("The control-plane-etcd policy: applies to control
plane endpoints with role(s) etcd, has order 102, allows ingress traffic for: TCP to port(s) 2379 from
control plane endpoints with role(s) etcd (used for etcd client)").  The page calls the tables a summary
and the rule lines the detail ("destination/source can also be filtered, refer to detailed explanations
below"), so a policy spelt out in rule lines is evaluated from those, and its table rows are kept as
``summary_rules``; a policy only in a table is evaluated from the table.
"""

from __future__ import annotations

import re

from analyzer.portpolicy.model import (
    ANY,
    CLUSTER,
    EGRESS,
    INGRESS,
    PolicyError,
    PortPolicy,
    Rule,
    Selector,
    parse_ports,
    roles_selector,
)

HEADER = ("network", "role", "protocol(port)", "traffic type", "direction(s)", "source", "destination")
_POLICY_HEADING_RE = re.compile(r"^[#*_\s]*Policy\s+([\w.-]+)[*_\s]*$")
_PROTO_PORT_RE = re.compile(r"^([A-Za-z]+|\d+)\((?::([\d\s,:-]+)|(\*))?\)$")
_BLOCK_RE = re.compile(r"^[#*_\s]*The\s+([\w.-]+)\s+policy:?[*_\s]*$", re.I)
_APPLIES_RE = re.compile(
    r"^applies to (control|workload) plane endpoints(?: with role\(s\) ([\w-]+(?:\s*,\s*[\w-]+)*)|"
    r" (serving the registry))?$"
)
_ORDER_RE = re.compile(r"^has order (\d+(?:\.\d+)?)$")
_DIRECTION_RE = re.compile(r"^allows (ingress|egress) traffic for:?$")
_ENDPOINTS = r"(?:control|workload) plane endpoints(?: with role\(s\) [\w-]+(?:\s*,\s*[\w-]+)*| serving the registry)?"
_RULE_RE = re.compile(
    rf"^(?:(?P<proto>TCP|UDP|SCTP|\d+)\b)?\s*"
    rf"(?:to (?P<to>{_ENDPOINTS}))?\s*"
    rf"(?:(?:to|with) port\(s\) (?P<ports>\d[\d\s,-]*?))?\s*"
    rf"(?:from (?P<from>{_ENDPOINTS}))?\s*"
    rf"\(used for (?P<used>[^()]*)\)$"
)
_BULLET_RE = re.compile(r"^\s*(?:[•\-*+]|\d+[.)])\s+")

# What the detector looks for: the table header's protocol column, or a rule block.
DETECT_RE = re.compile(r"^\s*Protocol\(Port\)\s*$|\|\s*Protocol\(Port\)\s*\||^[#*_\s]*The\s+[\w.-]+\s+policy:", re.M)


def read(text: str, file: str) -> PortPolicy:
    lines = text.split("\n")
    detailed = _rule_lines(lines, file)
    tables = _tables(lines, file)
    orders = {r.policy: r.order for r in detailed}
    spelt = {r.policy for r in detailed}
    policy = PortPolicy(files=[file], kinds=["artesca"])
    policy.rules = list(detailed)
    for row in tables:
        row = _with_order(row, orders.get(row.policy))
        (policy.summary_rules if row.policy in spelt else policy.rules).append(row)
    return policy


def _with_order(rule: Rule, order: float | None) -> Rule:
    if order is None:
        return rule
    from dataclasses import replace

    return replace(rule, order=order)


# ---- the summary tables ------------------------------------------------------------------------


def _tables(lines: list[str], file: str) -> list[Rule]:
    """Rows of every role table, each under the "Policy <name>" heading before it."""
    rules: list[Rule] = []
    policy = "unnamed"
    cells: list[tuple[int, str]] = []  # flattened form: one non-empty line per cell
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        m = _POLICY_HEADING_RE.match(stripped)
        if m:
            policy = m.group(1)
        if stripped.startswith("|"):
            row = [c.strip() for c in stripped.strip("|").split("|")]
            if tuple(c.lower() for c in row) == HEADER:
                i += 1
                while i < len(lines) and lines[i].strip().startswith("|"):
                    row = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                    if not all(set(c) <= set(":- ") for c in row):
                        rules += _row(row, policy, file, i + 1)
                    i += 1
                continue
        elif stripped:
            cells.append((i + 1, stripped))
            if len(cells) >= 7 and tuple(c.lower() for _, c in cells[-7:]) == HEADER:
                i = _flat_rows(lines, i + 1, policy, file, rules)
                cells = []
                continue
        i += 1
    return rules


def _flat_rows(lines: list[str], start: int, policy: str, file: str, out: list[Rule]) -> int:
    """Groups of seven non-empty lines after a flattened header, while the third is a Protocol(Port)."""
    pending: list[tuple[int, str]] = []
    i = start
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped:
            pending.append((i + 1, stripped))
            if len(pending) == 3 and not _PROTO_PORT_RE.match(pending[2][1]):
                return pending[0][0] - 1  # the table ended: resume at its first non-row line
            if len(pending) == 7:
                out.extend(_row([c for _, c in pending], policy, file, pending[0][0]))
                pending = []
        i += 1
    if pending:
        raise PolicyError(file, pending[0][0], f"table row of policy {policy} ends after {len(pending)} of 7 cells")
    return i


def _row(cells: list[str], policy: str, file: str, line: int) -> list[Rule]:
    if len(cells) != 7:
        raise PolicyError(file, line, f"table row has {len(cells)} cells, not the 7 of the role table")
    network, role, proto_port, traffic, directions, source, destination = cells
    m = _PROTO_PORT_RE.match(proto_port)
    if not m:
        raise PolicyError(file, line, f"not a Protocol(Port) cell: {proto_port!r}")
    protocol = m.group(1).upper()
    ports = parse_ports(m.group(2), file, line) if m.group(2) else ()
    applies = CLUSTER if role.lower() in ("(any)", "any") else roles_selector(role.lower())
    out = []
    for direction in (d.strip().lower() for d in directions.split(",")):
        if direction not in (INGRESS, EGRESS):
            raise PolicyError(file, line, f"not a direction: {direction!r} (Ingress, Egress)")
        src = peer_cell(source, file, line) if direction == INGRESS else ANY
        dst = peer_cell(destination, file, line) if direction == EGRESS else ANY
        out.append(
            Rule(policy, None, applies, direction, protocol, ports, src, dst, service=traffic, network=network,
                 file=file, line=line, origin="table")
        )  # fmt: skip
    return out


_NODES_RE = re.compile(r"^([\w-]+(?:\s*(?:,|and|or|&)\s*[\w-]+)*)\s+nodes?$", re.I)


def peer_cell(cell: str, file: str, line: int | None) -> Selector:
    """(any), N/A, In cluster, Etcd nodes, Master and Etcd nodes, Master or Infra nodes."""
    low = cell.strip().lower()
    if low in ("(any)", "any", "n/a", "", "all"):
        return ANY
    if low in ("in cluster", "all nodes", "cluster"):
        return CLUSTER
    m = _NODES_RE.match(low)
    if not m:
        raise PolicyError(file, line, f"not a source or destination: {cell!r} (use (any), In cluster, <role> nodes)")
    names = [n for n in re.split(r"\s*(?:,|\band\b|\bor\b|&)\s*", m.group(1)) if n]
    return roles_selector(*names, any_of=" or " in low)


# ---- the rule lines ----------------------------------------------------------------------------


def _rule_lines(lines: list[str], file: str) -> list[Rule]:
    rules: list[Rule] = []
    policy: str | None = None
    applies: Selector = CLUSTER
    network: str | None = None
    order: float | None = None
    direction: str | None = None
    block: list[Rule] = []

    def close() -> None:
        rules.extend(_with_order(r, order) for r in block)
        block.clear()

    for n, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if not stripped:
            continue
        m = _BLOCK_RE.match(stripped)
        if m:
            close()
            policy, applies, network, order, direction = m.group(1), CLUSTER, None, None, None
            continue
        if policy is None:
            continue
        text = _BULLET_RE.sub("", raw).strip()
        if m := _APPLIES_RE.match(text):
            network = f"{m.group(1)} plane"
            if m.group(2):
                applies = roles_selector(*(r.strip() for r in m.group(2).split(",")))
            elif m.group(3):
                applies = roles_selector("registry")
            continue
        if m := _ORDER_RE.match(text):
            order = float(m.group(1))
            continue
        if m := _DIRECTION_RE.match(text):
            direction = m.group(1)
            continue
        if direction is not None and _BULLET_RE.match(raw):
            block.append(_rule(text, policy, applies, network, direction, file, n))
            continue
        close()
        policy = None  # prose: the block ended
    close()
    return rules


def _endpoints(text: str | None) -> Selector:
    if text is None:
        return ANY
    m = re.search(r"with role\(s\) (.+)$", text)
    if m:
        return roles_selector(*(r.strip() for r in m.group(1).split(",")))
    if text.endswith("serving the registry"):
        return roles_selector("registry")
    return CLUSTER


def _rule(text: str, policy: str, applies: Selector, network: str | None, direction: str, file: str, line: int) -> Rule:
    m = _RULE_RE.match(text)
    if not m:
        raise PolicyError(file, line, f"rule line of policy {policy} not understood: {text[:80]!r}")
    ports = parse_ports(m.group("ports"), file, line) if m.group("ports") else ()
    return Rule(
        policy, None, applies, direction, m.group("proto"), ports, _endpoints(m.group("from")),
        _endpoints(m.group("to")), service=m.group("used").strip(), network=network, file=file, line=line,
        origin="rule-line",
    )  # fmt: skip
