"""Markdown report: capture facts, the KQL-shaped summary, the allowlist diff and a ready-to-file request."""

from __future__ import annotations

from typing import Any

from analyzer.allowlist.formats.markdown import change_request
from analyzer.protocols import transport_of
from analyzer.report import LintReport, Report
from reports.conclusion import conclude, headline
from reports.display import addresses_text, iso, label, noise_label
from reports.safe import markdown_cell as cell
from reports.sources import confirmed_text, kql, log_header, source_lines


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("-" * max(3, len(h)) for h in headers) + " |"]
    for r in rows:
        out.append("| " + " | ".join(cell("" if v is None else v) for v in r) + " |")
    return out


def render(report: Report) -> str:
    cap = report.capture
    lines = [
        f"# Egress report: {cell(cap.path)}",
        "",
        f"- Capture: {cap.format}{' (gzip)' if cap.compressed else ''}, "
        f"link types {', '.join(cap.link_type_names)}, {cap.packets} packets, {cap.flows} connections",
        (f"- From {iso(cap.first_ts)} to {iso(cap.last_ts)}" if cap.first_ts is not None else "- No packets")
        + (" (capture truncated)" if cap.truncated else ""),
        f"- Parse errors: {cap.parse_errors}",
    ]
    if report.sources and not cap.link_type_names:
        lines[2] = f"- Logs: {cell(log_header(report))}"
    lines += [f"- {cell(line)}" for line in source_lines(report)] if cap.link_type_names else []
    for w in report.warnings:
        lines.append(f"- Warning: {cell(w)}")
    lines += _conclusion(report)
    lines += ["", "## Summary", ""]
    summary = report.egress()
    if report.log_verdicts:  # what a log said: the rule, its reason, whether the capture agrees
        lines += _table(
            ["Protocol", "DestinationPort", "Fqdn", "count_", "Action", "Verdict", "Address", "Rule", "Reason",
             "Confirmed"],
            [
                [r["protocol"], r["port"], r["fqdn"] or "", r["count"], r["action"], r["verdict"],
                 addresses_text(r["fqdn"], r["addresses"]), said.get("rule"), said.get("verdict_reason"),
                 confirmed_text(said)]
                for r in summary
                for said in [report.log_verdict(r) or {}]
            ],
        )  # fmt: skip
    else:
        lines += _table(
            ["Protocol", "DestinationPort", "Fqdn", "count_", "Action", "Verdict", "Address"],
            [
                [
                    r["protocol"],
                    r["port"],
                    r["fqdn"] or "",
                    r["count"],
                    r["action"],
                    r["verdict"],
                    addresses_text(r["fqdn"], r["addresses"]),
                ]
                for r in summary
            ],
        )
    query = kql(report)
    if query is not None:
        # A fenced block: the query is copied as it is; a log's values inside it are KQL literals, and a
        # fence of more backticks than any run in the query keeps it closed.
        fence = "`" * max(3, _longest_backticks(query) + 1)
        lines += ["", "### The same table in Log Analytics", "", f"{fence}kql", query, fence]
    denied = [r for r in summary if r["action"] == "Deny"]
    if denied:
        lines += ["", "## Blocked connections", ""]
        lines += _table(
            ["Protocol", "Port", "Fqdn", "Verdict", "Detail"],
            [[r["protocol"], r["port"], _name(r), r["verdict"], r["detail"]] for r in denied],
        )
    info = report.allowlist
    if info is not None:
        lines += [
            "",
            "## Allowlist comparison",
            "",
            f"Allowlist: {', '.join(cell(f) for f in info.files)} ({info.entries} entries), "
            f"matched with **{info.dialect}** wildcard rules.",
            "",
        ]
        for note in info.notes:
            lines.append(f"- Note: {cell(note)}")
        sections = [
            (
                "Missing",
                ["Protocol", "Port", "Fqdn", "Verdict", "Reason"],
                [[m["protocol"], m["port"], _name(m), m["verdict"], m["reason"]] for m in report.missing()],
            ),
            (
                "Allowed but blocked",
                ["Protocol", "Port", "Fqdn", "Verdict", "Entry"],
                [[b["protocol"], b["port"], _name(b), b["verdict"], b["entry"]] for b in report.blocked_but_allowed()],
            ),
            (
                "Excess (requested, never used)",
                ["Entry", "Line", "Reason"],
                [[e["entry"], e["line"], e["reason"]] for e in report.excess],
            ),
            (
                "Lint",
                ["Entry", "Line", "Problem", "Detail"],
                [[f["entry"], f["line"], f["problem"], f["detail"]] for f in report.lint],
            ),
            ("Resolved but never contacted", ["Fqdn", "Type"], [[x["qname"], x["qtype"]] for x in report.dns_only()]),
        ]
        for title, headers, table_rows in sections:
            lines += ["", f"### {title} ({len(table_rows)})", ""]
            lines += _table(headers, table_rows) if table_rows else ["None."]
    failed = [d for d in report.dns if d["service"] == "dns" and d["rcode"] != "NOERROR"]
    if failed:
        lines += ["", "## DNS lookups that failed", ""]
        lines += _table(
            ["Name", "Type", "Result", "Queries"],
            [[d["qname"], d["qtype"], d["rcode"] or "no answer", d["queries"]] for d in failed],
        )
    noise = report.noise()
    if noise:
        lines += ["", "## Left out as noise", ""]
        lines += _table(["Name", "Kind", "Reason"], [[noise_label(n), n.kind, n.reason] for n in noise])
    wanted: list[dict[str, Any]]
    if info is not None:
        wanted = [m for m in report.missing() if m["fqdn"]]
        intro = "What to add to the allowlist, in the shape of a firewall request:"
    else:
        wanted = [r for r in summary if r["fqdn"]]
        intro = "The allowlist this capture justifies, in the shape of a firewall request:"
    names = [(str(r["fqdn"]), transport_of(str(r["protocol"])), int(r["port"])) for r in wanted]
    if names:
        lines += ["", "## Change request", "", intro, ""]
        lines += change_request(names, escape=cell)
    return "\n".join(lines).rstrip() + "\n"


def _conclusion(report: Report) -> list[str]:
    """The answer before the evidence: what was blocked and why, what to add, what to remove."""
    c = conclude(report)
    lines = ["", "## Conclusion", "", f"**{cell(headline(c))}**"]
    if c.blocked:
        lines += ["", "Blocked in the capture:", ""]
        lines += [
            f"- `{cell(b.name)}` {b.where} {cell(b.verdict)}" + (f": {cell(b.why)}" if b.why else "") for b in c.blocked
        ]
    if c.add:
        lines += ["", "Add to the request (in its own shape, ready to paste):", "", "```", *c.add, "```"]
    if c.remove:
        lines += ["", f"Remove from the request, never used ({len(c.remove)}): " + ", ".join(cell(e) for e in c.remove)]
    if c.lint:
        kinds = ", ".join(f"{problem} {n}" for problem, n in c.lint)
        lines += ["", f"Allowlist lint: {sum(n for _, n in c.lint)} findings ({kinds}); the rows are below."]
    return lines


def _addresses(row: dict[str, Any]) -> str | None:
    return addresses_text(row["fqdn"], row["addresses"])


def _name(row: dict[str, Any]) -> str | None:
    return label(row["fqdn"], row["addresses"])


def _longest_backticks(text: str) -> int:
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return longest


def render_lint(report: LintReport) -> str:
    """``egress lint --format md``: the findings as a Markdown table."""
    info = report.allowlist
    lines = [
        "# Allowlist lint",
        "",
        f"{info.entries} entries, {cell(info.dialect)} wildcard rules, {len(report.lint)} findings.",
        "",
    ]
    lines += [f"- Note: {cell(n)}" for n in info.notes]
    rows = [[f["entry"], f["file"], f["line"], f["problem"], f["detail"]] for f in report.lint]
    lines += ["", *(_table(["Entry", "File", "Line", "Problem", "Detail"], rows) if rows else ["No findings."])]
    return "\n".join(lines).rstrip() + "\n"
