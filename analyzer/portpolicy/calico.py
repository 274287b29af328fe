"""Calico ``GlobalNetworkPolicy``/``NetworkPolicy`` and Kubernetes ``NetworkPolicy`` YAML as port rules.

Selectors become role selectors: ``all()`` is every endpoint (in cluster), ``has(k)`` and ``k == 'true'``
(or ``== ''``) the role named by the label key's last part (``node-role.kubernetes.io/etcd``,
``metalk8s.scality.com/role-etcd`` -> etcd), ``role == 'etcd'`` the value; ``&&`` asks for every role,
``||`` for one of them.  Anything else (negation, ``in``, ``!=``, parentheses, named ports, ``not*`` fields)
is refused with its line: a check that silently widened or narrowed a rule would lie.  A
``FelixConfiguration`` in the same file gives the failsafe ports.  The YAML shape is checked first by the
guard every YAML reader shares (analyzer.yamlnodes: depth, alias bombs).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from analyzer.portpolicy.model import (
    ACTIONS,
    ALLOW,
    ANY,
    CLUSTER,
    EGRESS,
    INGRESS,
    Failsafe,
    PolicyError,
    PortPolicy,
    Rule,
    Selector,
    parse_ports,
)
from analyzer.yamlnodes import compose_all as compose_nodes
from analyzer.yamlnodes import yline, ymap, yscalar, yseq

if TYPE_CHECKING:
    import yaml

DETECT_RE = re.compile(r"^\s*kind:\s*['\"]?(?:GlobalNetworkPolicy|NetworkPolicy|FelixConfiguration)['\"]?\s*$", re.M)
_TERM_RE = re.compile(r"""^(?:has\(\s*([\w./-]+)\s*\)|([\w./-]+)\s*==\s*(?:'([^']*)'|"([^"]*)"))$""")


def compose_all(text: str, file: str) -> list[yaml.Node]:
    """The YAML documents as composed nodes (they keep their line numbers), after the shared shape guard."""
    return compose_nodes(text, lambda line, problem: PolicyError(file, line, problem))


def read(text: str, file: str) -> PortPolicy:
    documents = compose_all(text, file)
    policy = PortPolicy(files=[file], kinds=[])
    for node in documents:
        for item in _items(node, file):
            _document(item, file, policy)
    if not policy.rules and policy.failsafe is None:
        raise PolicyError(file, None, "no port rules found (looked for GlobalNetworkPolicy, NetworkPolicy)")
    return policy


def _items(node: yaml.Node, file: str) -> list[yaml.Node]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise PolicyError(file, yline(node), "expected a policy (a YAML mapping)")
    top = ymap(node)
    if (yscalar(top.get("kind")) or "").endswith("List"):
        return yseq(top.get("items"))
    return [node]


def _document(node: yaml.Node, file: str, policy: PortPolicy) -> None:
    top = ymap(node)
    kind = yscalar(top.get("kind")) or ""
    api = yscalar(top.get("apiVersion")) or ""
    name = yscalar(ymap(top.get("metadata")).get("name")) or "unnamed"
    spec = ymap(top.get("spec"))
    if kind == "FelixConfiguration":
        policy.failsafe = _failsafe(spec, file)
        return
    if kind not in ("GlobalNetworkPolicy", "NetworkPolicy"):
        return  # HostEndpoints, namespaces ...: not rules
    k8s = api.startswith("networking.k8s.io")
    policy.kinds.append("kubernetes" if k8s else "calico")
    if k8s:
        _kubernetes(spec, name, file, policy)
        return
    applies = selector(yscalar(spec.get("selector")) or "all()", file, yline(node))
    order_text = yscalar(spec.get("order"))
    try:
        order = float(order_text) if order_text is not None else None
    except ValueError:
        raise PolicyError(file, yline(spec["order"]), f"order is not a number: {str(order_text)[:40]!r}") from None
    for direction, key in ((INGRESS, "ingress"), (EGRESS, "egress")):
        for rule in yseq(spec.get(key)):
            policy.rules.append(_calico_rule(rule, name, order, applies, direction, file))


def _calico_rule(node: yaml.Node, name: str, order: float | None, applies: Selector, direction: str,
                 file: str) -> Rule:  # fmt: skip
    fields = ymap(node)
    line = yline(node)
    for key in fields:
        if key.startswith("not") or key in ("icmp", "http", "ipVersion"):
            raise PolicyError(file, line, f"rule field {key!r} is not supported by the port check")
    action = yscalar(fields.get("action")) or ""
    if action not in ACTIONS:
        raise PolicyError(file, line, f"action must be one of {', '.join(ACTIONS)}, not {action[:40]!r}")
    src, dst = ymap(fields.get("source")), ymap(fields.get("destination"))
    for end in (src, dst):
        for key in end:
            if key.startswith("not") or key in ("namespaceSelector", "serviceAccounts", "services"):
                raise PolicyError(file, line, f"rule field {key!r} is not supported by the port check")
    protocol = yscalar(fields.get("protocol"))
    return Rule(
        name, order, applies, direction, protocol.upper() if protocol else None,
        _ports(dst.get("ports"), file, line), _end(src, file, line), _end(dst, file, line), action=action,
        service=yscalar(ymap(ymap(fields.get("metadata")).get("annotations")).get("description")),
        file=file, line=line, origin="yaml",
    )  # fmt: skip


def _end(fields: dict[str, yaml.Node], file: str, line: int) -> Selector:
    sel = yscalar(fields.get("selector"))
    base = selector(sel, file, line) if sel is not None else ANY
    nets = tuple(_net(yscalar(n) or "", file, yline(n)) for n in yseq(fields.get("nets")))
    if nets:
        return Selector(base.kind, base.roles, base.any_of, nets)
    return base


def _net(text: str, file: str, line: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise PolicyError(file, line, f"not a network: {text[:60]!r}") from None


def _ports(node: yaml.Node | None, file: str, line: int) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for item in yseq(node):
        text = yscalar(item) or ""
        if not re.fullmatch(r"\d+(?::\d+)?", text.strip()):
            raise PolicyError(file, yline(item), f"not a port or port range (named ports are not supported): "
                              f"{text[:40]!r}")  # fmt: skip
        out += parse_ports(text, file, yline(item))
    return tuple(out)


def role_of(key: str, value: str | None) -> str:
    """The role a label names: the value of ``role``, else the key's last part without ``role-``."""
    if value not in (None, "", "true", "True"):
        return value
    last = key.rsplit("/", 1)[-1]
    return last[5:] if last.startswith("role-") else last


def selector(text: str, file: str, line: int | None) -> Selector:
    expr = text.strip()
    if expr in ("all()", ""):
        return CLUSTER
    if "&&" in expr and "||" in expr:
        raise PolicyError(file, line, f"selector mixes && and ||: {expr[:80]!r} (not supported)")
    any_of = "||" in expr
    roles = []
    for term in re.split(r"\s*(?:&&|\|\|)\s*", expr):
        m = _TERM_RE.match(term.strip())
        if not m:
            raise PolicyError(file, line, f"selector term not supported: {term[:60]!r} (has(k), k == 'v', all())")
        key = m.group(1) or m.group(2)
        value = m.group(3) if m.group(3) is not None else m.group(4)
        roles.append(role_of(key, value))
    return Selector("roles", frozenset(roles), any_of)


def _failsafe(spec: dict[str, yaml.Node], file: str) -> Failsafe:
    def ports(key: str) -> tuple[tuple[str, int], ...]:
        out = []
        for item in yseq(spec.get(key)):
            fields = ymap(item)
            proto = (yscalar(fields.get("protocol")) or "tcp").upper()
            port = yscalar(fields.get("port")) or ""
            if not port.isdigit() or int(port) > 65535:
                raise PolicyError(file, yline(item), f"{key}: not a port: {port[:20]!r}")
            out.append((proto, int(port)))
        return tuple(out)

    return Failsafe(ports("failsafeInboundHostPorts"), ports("failsafeOutboundHostPorts"))


def _kubernetes(spec: dict[str, yaml.Node], name: str, file: str, policy: PortPolicy) -> None:
    """Kubernetes NetworkPolicy: allow rules only, no order (the union of every policy's rules)."""
    applies = _label_selector(spec.get("podSelector"), file)
    for direction, key, peers_key in ((INGRESS, "ingress", "from"), (EGRESS, "egress", "to")):
        for rule in yseq(spec.get(key)):
            fields = ymap(rule)
            line = yline(rule)
            peers = [_peer(p, file) for p in yseq(fields.get(peers_key))] or [ANY]
            port_specs: list[yaml.Node | None] = list(yseq(fields.get("ports"))) or [None]
            for peer in peers:
                for ps in port_specs:
                    p = ymap(ps)
                    protocol = (yscalar(p.get("protocol")) or "TCP").upper() if ps is not None else None
                    ports: tuple[tuple[int, int], ...] = ()
                    if "port" in p:
                        text = yscalar(p["port"]) or ""
                        end = yscalar(p.get("endPort"))
                        if not text.isdigit() or (end is not None and not end.isdigit()):
                            raise PolicyError(file, yline(p["port"]), f"not a port (named ports are not supported): "
                                              f"{text[:40]!r}")  # fmt: skip
                        ports = parse_ports(f"{text}-{end}" if end else text, file, yline(p["port"]))
                    src, dst = (peer, ANY) if direction == INGRESS else (ANY, peer)
                    policy.rules.append(
                        Rule(name, None, applies, direction, protocol, ports, src, dst, action=ALLOW, file=file,
                             line=line, origin="yaml")
                    )  # fmt: skip


def _label_selector(node: yaml.Node | None, file: str) -> Selector:
    fields = ymap(node)
    labels = ymap(fields.get("matchLabels"))
    if "matchExpressions" in fields:
        raise PolicyError(file, yline(fields["matchExpressions"]), "matchExpressions are not supported")
    if not labels:
        return CLUSTER
    return Selector("roles", frozenset(role_of(k, yscalar(v)) for k, v in labels.items()))


def _peer(node: yaml.Node, file: str) -> Selector:
    fields = ymap(node)
    if "namespaceSelector" in fields:
        raise PolicyError(file, yline(node), "namespaceSelector is not supported by the port check")
    if "ipBlock" in fields:
        block = ymap(fields["ipBlock"])
        if "except" in block:
            raise PolicyError(file, yline(node), "ipBlock except is not supported by the port check")
        return Selector("any", nets=(_net(yscalar(block.get("cidr")) or "", file, yline(node)),))
    return _label_selector(fields.get("podSelector"), file)
