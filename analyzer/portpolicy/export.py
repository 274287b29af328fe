"""The policy the observed flows justify: Calico GlobalNetworkPolicy YAML, or a Markdown port table in
ARTESCA's shape.  Fed back as ``--port-policy`` (with the same roles file), it denies none of the flows.

One policy per destination port and protocol: its ingress rule sits on the roles every observed
destination shares and admits the roles every observed source shares (``all()`` when they share none);
a matching egress rule on the sources' roles.  Selectors use ``has(node-role.kubernetes.io/<role>)``,
which the Calico reader maps back to the role.
"""

from __future__ import annotations

import json
from typing import Any

from analyzer.frames import Table

LABEL = "node-role.kubernetes.io/"


def _common(rows: list[dict[str, Any]], column: str) -> list[str]:
    sets = [set(r[column]) for r in rows if r[column]]
    return sorted(set.intersection(*sets)) if sets else []


def justified(flows: Table) -> list[dict[str, Any]]:
    """One entry per (protocol, port) of the flows with a role at the destination."""
    by_port: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in flows.rows:
        by_port.setdefault((row["protocol"], row["port"]), []).append(row)
    out = []
    for (protocol, port), rows in sorted(by_port.items()):
        outside = any(r["scope"] == "from-outside" for r in rows)
        out.append({
            "protocol": protocol,
            "port": port,
            "on": _common(rows, "dst_roles"),
            "from": None if outside else _common(rows, "src_roles"),  # None: any address
            "egress_on": _common([r for r in rows if r["src_roles"]], "src_roles"),
            "egress": any(r["src_roles"] for r in rows),
        })  # fmt: skip
    return out


def _selector(roles: list[str]) -> str:
    return " && ".join(f"has({LABEL}{r})" for r in roles) if roles else "all()"


def calico_yaml(flows: Table) -> str:
    docs = []
    for item in justified(flows):
        name = f"observed-{item['protocol'].lower()}-{item['port']}"
        lines = [
            "apiVersion: projectcalico.org/v3",
            "kind: GlobalNetworkPolicy",
            "metadata:",
            f"  name: {name}",
            "spec:",
            f"  selector: {json.dumps(_selector(item['on']))}",
            "  order: 500",
            "  types: [Ingress]",
            "  ingress:",
            "    - action: Allow",
            f"      protocol: {item['protocol']}",
        ]
        if item["from"] is not None:
            lines += ["      source:", f"        selector: {json.dumps(_selector(item['from']))}"]
        lines += ["      destination:", f"        ports: [{item['port']}]"]
        docs.append("\n".join(lines))
        if item["egress"]:
            docs.append("\n".join([
                "apiVersion: projectcalico.org/v3",
                "kind: GlobalNetworkPolicy",
                "metadata:",
                f"  name: {name}-out",
                "spec:",
                f"  selector: {json.dumps(_selector(item['egress_on']))}",
                "  order: 500",
                "  types: [Egress]",
                "  egress:",
                "    - action: Allow",
                f"      protocol: {item['protocol']}",
                "      destination:",
                f"        selector: {json.dumps(_selector(item['on']))}",
                f"        ports: [{item['port']}]",
            ]))  # fmt: skip
    return "---\n".join(d + "\n" for d in docs)


def _nodes(roles: list[str] | None) -> str:
    if roles is None:
        return "(any)"
    return " and ".join(roles) + " nodes" if roles else "In cluster"


def markdown_table(flows: Table) -> str:
    """ARTESCA's role-table shape; the port-policy reader reads it back."""
    lines = [
        "Policy observed",
        "",
        "| Network | Role | Protocol(Port) | Traffic Type | Direction(s) | Source | Destination |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in justified(flows):
        role = ", ".join(item["on"]) if len(item["on"]) == 1 else "(any)"
        pp = f"{item['protocol']}(:{item['port']})"
        lines.append(f"| control plane | {role} | {pp} | observed | Ingress | {_nodes(item['from'])} | N/A |")
        if item["egress"]:
            dest = _nodes(item["on"])
            lines.append(f"| control plane | (any) | {pp} | observed | Egress | N/A | {dest} |")
    return "\n".join(lines) + "\n"
