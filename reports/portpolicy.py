"""The port check in every format: a rule table shaped like ARTESCA's (Network, Role, Protocol(Port),
Traffic Type, Direction(s), Source, Destination) with the observed columns added, and the flow table.

Every untrusted cell (roles, policy names, file names, services come from files someone else wrote) goes
through the one escaper of its medium in reports.safe.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from analyzer.frames import Table
from analyzer.portpolicy.report import PortPolicyReport
from reports.csvout import render_table
from reports.display import iso
from reports.jsondoc import json_rows
from reports.safe import html_text, markdown_cell, terminal

RULE_COLUMNS = (
    ("Network", "network"), ("Role", "role"), ("Protocol(Port)", "protocol_port"), ("Traffic Type", "traffic_type"),
    ("Direction(s)", "direction"), ("Source", "source"), ("Destination", "destination"), ("Action", "action"),
    ("Policy", "policy"), ("Order", "order"), ("Rule", "rule"), ("Flows", "flows"), ("Connections", "connections"),
    ("Blocked", "blocked"), ("Used", "used"),
)  # fmt: skip
FLOW_COLUMNS = (
    ("First seen", "first_seen"), ("Source", "src"), ("Source roles", "src_roles"), ("Destination", "dst"),
    ("Destination roles", "dst_roles"), ("Protocol", "protocol"), ("Port", "port"), ("Connections", "connections"),
    ("Verdict", "verdict"), ("Policy", "policy"), ("Egress rule", "egress_rule"), ("Ingress rule", "ingress_rule"),
    ("Nearest rule", "nearest"), ("Why not", "nearest_reason"), ("Needed", "needed"), ("Status", "status"),
)  # fmt: skip


def needed_text(row: dict[str, Any]) -> str:
    """The rule a denied flow needs, in one line: ``ingress TCP/2380 on etcd from etcd,master``."""
    direction = row["needed_direction"]
    if direction is None:
        return ""
    word = "from" if direction == "ingress" else "to"
    on = ",".join(row["needed_roles"]) or "outside"
    peers = ",".join(row["needed_peer_roles"]) or "outside"
    return f"{direction} {row['protocol']}/{row['port']} on {on} {word} {peers}"


def _text(row: dict[str, Any], key: str) -> str:
    if key == "needed":
        return needed_text(row)
    v = row[key]
    if v is None:
        return ""
    if key == "first_seen":
        return iso(v) or ""
    if isinstance(v, list):
        return ",".join(v) or "outside"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return str(v)


def _headline(report: PortPolicyReport) -> list[str]:
    denied = report.denied()
    likely = [r for r in denied if r["status"] == "likely-cause"]
    elsewhere = [r for r in report.flows.rows if r["status"] == "points-elsewhere"]
    return [
        f"Port policy: {', '.join(report.policy_files)} ({', '.join(report.kinds)}); roles: {report.roles_file}; "
        f"failsafe ports: {report.failsafe}",
        f"{len(report.flows)} flow groups into nodes with a role, {len(denied)} denied by policy "
        f"({len(likely)} blocked: likely cause), {len(elsewhere)} blocked although allowed (look elsewhere); "
        f"{len(report.unused())} of {len(report.rules)} rules never exercised",
    ]


def markdown(report: PortPolicyReport) -> str:
    out = ["# In-cluster port check", ""] + [markdown_cell(line) + "  " for line in _headline(report)] + [""]
    for title, table, columns in (
        ("Flows", report.flows, FLOW_COLUMNS),
        ("Rules (ARTESCA table shape, with what the captures exercised)", report.rules, RULE_COLUMNS),
    ):
        out += [f"## {title}", "", "| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
        out += ["| " + " | ".join(markdown_cell(_text(r, k)) for _, k in columns) + " |" for r in table.rows]
        out.append("")
    return "\n".join(out)


def csv(report: PortPolicyReport, table: str = "port_flows") -> str:
    return render_table(report.tables[table])


def write_json(report: PortPolicyReport, fh: TextIO) -> None:
    doc = {
        "port_policy": {
            "policy_files": list(report.policy_files),
            "kinds": list(report.kinds),
            "roles_file": report.roles_file,
            "captures": list(report.captures),
            "failsafe": report.failsafe,
        },
        "port_flows": list(json_rows(report.flows)),
        "port_rules": list(json_rows(report.rules)),
    }
    json.dump(doc, fh, indent=2, ensure_ascii=False)
    fh.write("\n")


def html(report: PortPolicyReport) -> str:
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>In-cluster port check</title>',
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px}.likely-cause{background:#fdd}.points-elsewhere{background:#ffd}.unused{color:#888}</style>",
        "</head><body><h1>In-cluster port check</h1>",
    ]
    parts += [f"<p>{html_text(line)}</p>" for line in _headline(report)]
    for title, table, columns, cls in (
        ("Flows", report.flows, FLOW_COLUMNS, "status"),
        ("Rules", report.rules, RULE_COLUMNS, "used"),
    ):
        parts.append(f"<h2>{title}</h2><table><thead><tr>")
        parts += [f'<th scope="col">{html_text(h)}</th>' for h, _ in columns]
        parts.append("</tr></thead><tbody>")
        for r in table.rows:
            row_cls = r["status"] if cls == "status" else ("" if r["used"] else "unused")
            parts.append(f'<tr class="{html_text(row_cls)}">' if row_cls else "<tr>")
            parts += [f"<td>{html_text(_text(r, k))}</td>" for _, k in columns]
            parts.append("</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "".join(parts)


# The terminal keeps to what fits a 200-column log: no timestamps, the reasons of a denial on a line of
# their own under the table.
TERMINAL_FLOWS = (
    ("Source", "src"), ("Roles", "src_roles"), ("Destination", "dst"), ("Roles", "dst_roles"), ("Proto", "protocol"),
    ("Port", "port"), ("Conns", "connections"), ("Verdict", "verdict"), ("Policy", "policy"),
    ("Egress rule", "egress_rule"), ("Ingress rule", "ingress_rule"), ("Status", "status"),
)  # fmt: skip
TERMINAL_RULES = (
    ("Role", "role"), ("Protocol(Port)", "protocol_port"), ("Traffic Type", "traffic_type"),
    ("Direction(s)", "direction"), ("Source", "source"), ("Destination", "destination"), ("Action", "action"),
    ("Rule", "rule"), ("Flows", "flows"), ("Used", "used"),
)  # fmt: skip


def denial_lines(report: PortPolicyReport) -> list[str]:
    out = []
    for r in report.denied():
        near = f"nearest rule {r['nearest']} ({r['nearest_reason']})" if r["nearest"] else "no rule comes close"
        out.append(
            f"denied by policy at {r['denied_at']}: {r['src']} -> {r['dst']} {r['protocol']}/{r['port']} "
            f"({r['status']}): {near}; needs: {needed_text(r)}"
        )
    return out


def terminal_table(report: PortPolicyReport, console: Any) -> None:
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    for line in _headline(report):
        console.print(Text(terminal(line)))
    for title, table, columns in (("Flows", report.flows, TERMINAL_FLOWS), ("Rules", report.rules, TERMINAL_RULES)):
        t = RichTable(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        for h, key in columns:
            t.add_column(h, overflow="fold", no_wrap=key in ("rule", "egress_rule", "ingress_rule", "protocol_port"))
        for r in table.rows:
            t.add_row(*[Text(terminal(_text(r, k))) for _, k in columns])
        console.print(t)
        if title == "Flows":
            for line in denial_lines(report):
                console.print(Text(terminal(line)))


def tables(report: PortPolicyReport) -> dict[str, Table]:
    return report.tables
