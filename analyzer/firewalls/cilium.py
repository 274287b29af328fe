"""Cilium: the CiliumNetworkPolicy YAML reader and Cilium's ``toFQDNs`` matching.

CiliumNetworkPolicy toFQDNs (docs.cilium.io/en/stable/security/policy/language/#dns-based):
``matchName`` is exact; in ``matchPattern`` ``*`` matches any run of DNS characters within one
label and never a dot, ``**.`` as a prefix matches one or more labels, ``*`` alone matches every
name.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import TYPE_CHECKING

from analyzer.allowlist.document import (
    PROTOCOL_NAMES,
    Doc,
    Format,
    Ports,
    Problem,
    port_range,
)
from analyzer.allowlist.model import ANY, PortRange
from analyzer.allowlist.patterns import Dialect, InvalidPattern, Matcher, always, check_labels
from analyzer.firewalls.destinations import Destinations
from analyzer.yamlnodes import compose_all, yline, ymap, yscalar, yseq

if TYPE_CHECKING:
    import yaml  # at run time imported by the functions that read YAML: 11 ms of every run otherwise

_CILIUM_CHARS = "[-a-zA-Z0-9_]"


def _cilium(pattern: str) -> Matcher:
    if pattern == "*":
        return always
    if "*" not in pattern:  # matchName
        check_labels(pattern)
        return lambda name: name == pattern
    check_labels(pattern.replace("**.", "x.", 1) if pattern.startswith("**.") else pattern, allow_star=True)
    rest = pattern
    prefix = ""
    if pattern.startswith("**."):
        # one or more whole labels in front of the rest
        prefix = rf"(?:{_CILIUM_CHARS}+\.)+"
        rest = pattern[3:]
    if "**" in rest:
        raise InvalidPattern("'**' is only valid as the '**.' prefix")
    body = re.escape(rest).replace(r"\*", f"{_CILIUM_CHARS}*")
    regex = re.compile(f"^{prefix}{body}$")
    return lambda name: regex.match(name) is not None


_CILIUM_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")


def _read_cilium(doc: Doc) -> None:
    nodes = compose_all(doc.text, doc.error)
    for node in nodes:
        _cilium_document(doc, node)
    if nodes and not any(_is_cilium_policy(node) for node in nodes):
        # Not one policy in the file: say what was there rather than just "no entries".
        kind = yscalar(ymap(nodes[0]).get("kind")) or "(none)"
        raise doc.error(yline(nodes[0]), f"expected kind {' or '.join(_CILIUM_KINDS)}, found {kind}")


def _is_cilium_policy(node: yaml.Node) -> bool:

    top = ymap(node)
    kind = yscalar(top.get("kind")) or ""
    return kind in _CILIUM_KINDS or any(_is_cilium_policy(item) for item in yseq(top.get("items")))


def _cilium_document(doc: Doc, node: yaml.Node) -> None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        found = "a list" if isinstance(node, yaml.SequenceNode) else "plain text"
        raise doc.error(yline(node), f"expected a CiliumNetworkPolicy (a YAML mapping), found {found}")
    top = ymap(node)
    kind = yscalar(top.get("kind")) or ""
    if kind.endswith("List") and "items" in top:  # kubectl get cnp -o yaml
        for item in yseq(top["items"]):
            _cilium_document(doc, item)
        return
    if kind not in _CILIUM_KINDS:
        doc.note(yline(node), f"skipped a YAML document of kind {kind or '(none)'}: not a Cilium network policy")
        return
    name = yscalar(ymap(top.get("metadata")).get("name"))
    specs = ([top["spec"]] if "spec" in top else []) + yseq(top.get("specs"))
    for spec in specs:
        fields = ymap(spec)
        if "egressDeny" in fields:
            doc.note(yline(fields["egressDeny"]), f"skipped egressDeny of policy {name!r}: deny rules allow nothing")
        for rule in yseq(fields.get("egress")):
            _cilium_egress_rule(doc, ymap(rule), yline(rule), name)


def _cilium_egress_rule(doc: Doc, rule: dict[str, yaml.Node], line: int, name: str | None) -> None:
    targets: list[tuple[str, int, str | None]] = []  # (text, line, kind)
    for item in yseq(rule.get("toFQDNs")):
        for key, value in ymap(item).items():
            text = yscalar(value)
            if key in ("matchName", "matchPattern") and text is not None:
                targets.append((text, yline(value), "pattern" if key == "matchPattern" else None))
    for item in yseq(rule.get("toCIDR")):
        if (text := yscalar(item)) is not None:
            targets.append((text, yline(item), None))
    for item in yseq(rule.get("toCIDRSet")):
        fields = ymap(item)
        if (cidr := yscalar(fields.get("cidr"))) is not None:
            targets.append((cidr, yline(fields["cidr"]), None))
        if "except" in fields:
            doc.note(yline(fields["except"]), "toCIDRSet except ranges are not subtracted")
    if not targets:
        # toEndpoints (kube-dns), toServices...: cluster-internal, not an egress allowlist entry.
        entities = [yscalar(e) for e in yseq(rule.get("toEntities"))]
        if "world" in entities or "all" in entities:
            doc.note(line, f"policy {name!r} allows egress to entity 'world': every external destination")
        return
    groups = _cilium_ports(doc, rule.get("toPorts"))
    for text, text_line, kind in targets:
        for protocols, ports, assumed in groups:
            doc.add(text, text_line, protocols, ports, assumed=assumed, rule=name, kind=kind)


def _cilium_ports(doc: Doc, node: yaml.Node | None) -> list[tuple[frozenset[str], Ports, str | None]]:
    """One (protocol, ports) group per protocol named in toPorts."""
    groups: dict[str, list[PortRange] | None] = {}  # None: every port
    defaulted: set[str] = set()
    for port_rule in yseq(node):
        for item in yseq(ymap(port_rule).get("ports")):
            fields = ymap(item)
            with doc.at(yline(item)):
                protocol_text = yscalar(fields.get("protocol"))
                protocol = PROTOCOL_NAMES.get((protocol_text or "any").lower())
                if protocol not in ("TCP", "UDP", ANY):
                    raise Problem(f"unknown protocol {protocol_text!r} (expected TCP, UDP or ANY)")
                if protocol_text is None:
                    defaulted.add(protocol)
                span = _cilium_port(yscalar(fields.get("port")), yscalar(fields.get("endPort")))
            current = groups.setdefault(protocol, [])
            if span is None or current is None:
                groups[protocol] = None
            elif span not in current:
                current.append(span)
    if not groups:
        return [(frozenset({ANY}), (), "any port and protocol (no toPorts)")]
    return [
        (
            frozenset({protocol}),
            tuple(spans) if spans is not None else (),
            "protocol ANY (Cilium default)" if protocol in defaulted else None,
        )
        for protocol, spans in groups.items()
    ]


def _cilium_port(port: str | None, end_port: str | None) -> PortRange | None:
    if port in (None, "", "0"):
        return None  # Cilium: port 0 or no port means every port
    assert port is not None
    if not port.isdigit():
        raise Problem(f"named port {port!r} cannot be compared with captured traffic; use the number")
    if end_port is not None and not end_port.isdigit():
        raise Problem(f"bad endPort {end_port!r}")
    return port_range(int(port), int(end_port) if end_port else None)


DIALECTS = (Dialect("cilium", _cilium),)
FORMATS = (
    Format("cilium", _read_cilium, "spec.egress[].toFQDNs, toCIDR or toCIDRSet in CiliumNetworkPolicy documents"),
)


# ---------------------------------------------------------------------------------------------
# Export: the CiliumNetworkPolicy a capture justifies


def _yaml_str(s: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar; ensure_ascii=False keeps characters above
    # U+FFFF whole (JSON would write a surrogate pair, which YAML reads as two lone surrogates).
    return json.dumps(s, ensure_ascii=False)


def export_policy(dest: Destinations) -> str:
    names, addresses = dest.names, dest.addresses
    by_ports: dict[tuple[tuple[int, str], ...], set[str]] = defaultdict(set)
    ports_of: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for name, _protocol, transport, port in names:
        ports_of[name].add((port, transport))
    for name, ports in ports_of.items():
        by_ports[tuple(sorted(ports))].add(name)
    lines = [
        "# CiliumNetworkPolicy this capture justifies (egress-analyzer). toFQDNs needs the DNS rule below:",
        "# Cilium learns the addresses from the DNS answers it proxies.",
        "apiVersion: cilium.io/v2",
        "kind: CiliumNetworkPolicy",
        "metadata:",
        "  name: install-egress",
        "spec:",
        "  endpointSelector: {}",
        "  egress:",
        "    - toEndpoints:",
        "        - matchLabels:",
        '            "k8s:io.kubernetes.pod.namespace": kube-system',
        "            k8s-app: kube-dns",
        "      toPorts:",
        "        - ports:",
        '            - port: "53"',
        "              protocol: ANY",
        "          rules:",
        "            dns:",
        '              - matchPattern: "*"',
    ]
    for port_list, group in sorted(by_ports.items()):
        lines.append("    - toFQDNs:")
        lines += [f"        - matchName: {_yaml_str(n)}" for n in sorted(group)]
        lines += ["      toPorts:", "        - ports:"]
        for port, transport in port_list:
            lines += [f'            - port: "{port}"', f"              protocol: {transport}"]
    by_addr: dict[tuple[int, str], set[str]] = defaultdict(set)
    for address, transport, port in addresses:
        by_addr[(port, transport)].add(address)
    for (port, transport), addrs in sorted(by_addr.items()):
        lines.append("    - toCIDR:")
        lines += [f"        - {_yaml_str(a + ('/32' if ':' not in a else '/128'))}" for a in sorted(addrs)]
        lines += [
            "      toPorts:",
            "        - ports:",
            f'            - port: "{port}"',
            f"              protocol: {transport}",
        ]
    return "\n".join(lines) + "\n"
