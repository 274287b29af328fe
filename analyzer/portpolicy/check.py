"""The check: every in-cluster flow of the captures against the port policy, with Calico's semantics.

A flow between two nodes must leave its source (egress policy of the source's host endpoint) and enter
its destination (ingress policy of the destination's).  On each end, the policies that apply to the
node's roles are evaluated lowest ``order`` first (no order: last; ties by name), rules in file order;
the first Allow or Deny decides, Pass ends the evaluation, Log goes on.  Once a host endpoint exists and
no rule decides, the traffic is denied (Calico's default deny), except Calico's failsafe ports, which are
allowed before any policy.  A direction the documents never speak of (Stackato's table lists inbound
ports only) is not enforced.

Sources: docs.tigera.io/calico/latest/reference/resources/globalnetworkpolicy (order),
docs.tigera.io/calico/latest/reference/resources/hostendpoint (default deny once a host endpoint
exists, except failsafe), docs.tigera.io/calico/latest/reference/host-endpoints/failsafe (failsafe ports).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from analyzer.frames import Table
from analyzer.portpolicy.model import ALLOW, DENY, EGRESS, INGRESS, LOG, Failsafe, PortPolicy, Rule
from analyzer.portpolicy.roles import Roles
from analyzer.report import Report

BLOCKED_VERDICTS = ("no-reply", "reset", "unreachable")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: Rule | None
    how: str  # rule, failsafe, default-deny, pass, not-enforced


def rule_ids(policy: PortPolicy) -> dict[int, str]:
    """A stable id per evaluated rule, by identity: ``<policy>/<direction>/<n>`` (n from 1 in file order)."""
    counts: dict[tuple[str, str], int] = {}
    out = {}
    for rule in policy.rules:
        key = (rule.policy, rule.direction)
        counts[key] = counts.get(key, 0) + 1
        out[id(rule)] = f"{rule.policy}/{rule.direction}/{counts[key]}"
    return out


def ordered(policy: PortPolicy) -> list[Rule]:
    indexed = list(enumerate(policy.rules))
    indexed.sort(key=lambda p: (p[1].order is None, p[1].order or 0.0, p[1].policy, p[0]))
    return [r for _, r in indexed]


def _matches(rule: Rule, direction: str, src: tuple[str, frozenset[str]], dst: tuple[str, frozenset[str]],
             protocol: str, port: int) -> bool:  # fmt: skip
    local = dst if direction == INGRESS else src
    return (
        rule.direction == direction
        and rule.applies.matches(*local)
        and rule.matches_protocol(protocol)
        and rule.matches_port(port)
        and rule.source.matches(*src)
        and rule.destination.matches(*dst)
    )


def evaluate(rules: Sequence[Rule], enforced: set[str], failsafe: Failsafe, direction: str,
             src: tuple[str, frozenset[str]], dst: tuple[str, frozenset[str]], protocol: str,
             port: int) -> Decision:  # fmt: skip
    if direction not in enforced:
        return Decision(True, None, "not-enforced")
    safe = failsafe.inbound if direction == INGRESS else failsafe.outbound
    if (protocol.upper(), port) in safe:
        return Decision(True, None, "failsafe")
    for rule in rules:
        if not _matches(rule, direction, src, dst, protocol, port):
            continue
        if rule.action == ALLOW:
            return Decision(True, rule, "rule")
        if rule.action == DENY:
            return Decision(False, rule, "rule")
        if rule.action != LOG:
            return Decision(False, rule, "pass")  # Pass with no later tier: nothing allows it
    return Decision(False, None, "default-deny")


def nearest(rules: Sequence[Rule], direction: str, src: tuple[str, frozenset[str]],
            dst: tuple[str, frozenset[str]], protocol: str, port: int) -> tuple[Rule, str] | None:  # fmt: skip
    """The Allow rule that came closest: right port but wrong peer or node role, or right roles, wrong port."""
    local = dst if direction == INGRESS else src
    best: tuple[int, int, Rule, str] | None = None
    for i, rule in enumerate(rules):
        if rule.direction != direction or rule.action != ALLOW:
            continue
        port_ok = rule.matches_protocol(protocol) and rule.matches_port(port) and bool(rule.ports)
        on_ok = rule.applies.matches(*local)
        peer_ok = rule.source.matches(*src) and rule.destination.matches(*dst)
        score = 2 * port_ok + on_ok + peer_ok
        if score < 2 or (not port_ok and not (on_ok and peer_ok)):
            continue
        if port_ok:
            why = "wrong-node-role" if not on_ok else ("wrong-source" if direction == INGRESS else "wrong-destination")
            if not on_ok and not peer_ok:
                why = "wrong-roles"
        else:
            why = "wrong-port"
        if best is None or (score, -i) > (best[0], best[1]):
            best = (score, -i, rule, why)
    return None if best is None else (best[2], best[3])


def needed(direction: str, local: frozenset[str], peer: frozenset[str]) -> tuple[str, list[str], list[str]]:
    """The rule that would allow the flow as columns: direction, the roles the policy is on, the peers' roles."""
    return direction, sorted(local), sorted(peer)


@dataclass(slots=True)
class _Group:
    first: int
    src: str
    dst: str
    protocol: str
    port: int
    connections: int = 0
    blocked: int = 0
    worst: str = "ok"


def flows_of(reports: Iterable[Report]) -> list[dict[str, Any]]:
    """Every connection of every capture, merged by time; a connection seen by two nodes' captures once."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for report in reports:
        for row in report.flows.rows:
            if row["dport"] is None or (row["transport"] or "").upper() not in ("TCP", "UDP", "SCTP"):
                continue
            key = (row["src"], row["sport"], row["dst"], row["dport"], row["transport"])
            kept = seen.get(key)
            if kept is None:
                seen[key] = row
            elif kept["verdict"] != "ok" and row["verdict"] == "ok":
                seen[key] = row  # the other end saw it answered: it got through
    return sorted(seen.values(), key=lambda r: (r["ts"] or 0, r["src"], r["sport"]))


def _ref(decision: Decision | None, ids: dict[int, str]) -> str | None:
    """The deciding rule's id, or how the direction was decided without one (null: not checked)."""
    if decision is None:
        return None
    return ids[id(decision.rule)] if decision.rule is not None else decision.how


def check(reports: Sequence[Report], policy: PortPolicy, roles: Roles, failsafe: Failsafe) -> tuple[Table, Table]:
    """The ``port_flows`` and ``port_rules`` tables."""
    rules = ordered(policy)
    ids = rule_ids(policy)
    enforced = {r.direction for r in policy.rules}
    groups: dict[tuple[str, str, str, int], _Group] = {}
    for row in flows_of(reports):
        key = (row["src"], row["dst"], row["transport"], row["dport"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(row["ts"] or 0, row["src"], row["dst"], row["transport"].upper(), row["dport"])
        g.connections += 1
        if row["verdict"] in BLOCKED_VERDICTS:
            g.blocked += 1
            g.worst = row["verdict"]
    used: dict[int, list[int]] = {id(r): [0, 0, 0] for r in policy.rules}  # flows, connections, blocked
    out = []
    for g in groups.values():
        src_roles, dst_roles = roles.of(g.src), roles.of(g.dst)
        if not dst_roles:
            continue  # to outside: egress, the main report's business
        src, dst = (g.src, src_roles), (g.dst, dst_roles)
        directions = (EGRESS, INGRESS) if src_roles else (INGRESS,)
        decisions = {d: evaluate(rules, enforced, failsafe, d, src, dst, g.protocol, g.port) for d in directions}
        denied = [d for d, dec in decisions.items() if not dec.allowed]
        for dec in decisions.values():
            if dec.rule is not None and dec.rule.action == ALLOW:
                counters = used[id(dec.rule)]
                counters[0] += 1
                counters[1] += g.connections
                counters[2] += g.blocked
        near: tuple[Rule, str] | None = None
        need: tuple[str | None, list[str] | None, list[str] | None] = (None, None, None)
        if denied:
            d = denied[0] if INGRESS not in denied else INGRESS
            near = nearest(rules, d, src, dst, g.protocol, g.port)
            local, peer = (dst_roles, src_roles) if d == INGRESS else (src_roles, dst_roles)
            if near is not None and near[0].applies.kind == "roles" and near[0].applies.roles <= local:
                local = near[0].applies.roles  # the policy the nearest rule is in is the one to extend
            need = needed(d, local, peer)
        blocked = g.blocked > 0
        status = (
            ("likely-cause" if blocked else "denied-but-passed")
            if denied
            else ("points-elsewhere" if blocked else "ok")
        )

        out.append({
            "first_seen": g.first,
            "scope": "in-cluster" if src_roles else "from-outside",
            "src": g.src,
            "src_roles": sorted(src_roles),
            "dst": g.dst,
            "dst_roles": sorted(dst_roles),
            "protocol": g.protocol,
            "port": g.port,
            "connections": g.connections,
            "blocked": g.blocked,
            "verdict": g.worst if blocked else "ok",
            "policy": "denied" if denied else "allowed",
            "denied_at": "+".join(denied) or None,
            "egress_rule": _ref(decisions.get(EGRESS), ids),
            "ingress_rule": _ref(decisions.get(INGRESS), ids),
            "nearest": ids[id(near[0])] if near else None,
            "nearest_reason": near[1] if near else None,
            "needed_direction": need[0],
            "needed_roles": need[1],
            "needed_peer_roles": need[2],
            "status": status,
        })  # fmt: skip
    rule_rows = []
    for rule in rules:
        flows, connections, blocked_n = used[id(rule)]
        rule_rows.append({
            "rule": ids[id(rule)],
            "policy": rule.policy,
            "order": None if rule.order is None else f"{rule.order:g}",
            "network": rule.network,
            "role": rule.applies.label(),
            "protocol_port": rule.protocol_port(),
            "traffic_type": rule.service,
            "direction": rule.direction,
            "source": rule.source.label() if rule.direction == INGRESS else "N/A",
            "destination": rule.destination.label() if rule.direction == EGRESS else "N/A",
            "action": rule.action,
            "file": rule.file,
            "line": rule.line,
            "flows": flows,
            "connections": connections,
            "blocked": blocked_n,
            "used": flows > 0,
        })  # fmt: skip
    return Table("port_flows", out), Table("port_rules", rule_rows)
