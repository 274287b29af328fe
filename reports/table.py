"""Terminal report with rich: the summary (Deny first), failures, DNS problems, parse errors."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from analyzer.frames import Table as DataTable
from analyzer.report import LintReport, Report
from reports.conclusion import conclude, headline
from reports.display import addresses_text, iso, label
from reports.safe import terminal
from reports.sources import confirmed_text, log_header, source_lines

VERDICT_STYLE = {
    "ok": "green",
    "no-reply": "red",
    "reset": "red",
    "unreachable": "red",
    "tls-interrupted": "magenta",
    "proxy-denied": "red",
    "mid-stream": "yellow",
}


def _cell(v: Any) -> Text:
    if v is None:
        return Text("-", style="dim")
    return Text(terminal(v))  # Text, never markup: a name like "[bold]" stays literal


def render(report: Report, console: Console, lint_rows: bool = False) -> None:
    """The answer first (conclusion, missing, blocked), then the evidence; lint rows with ``lint_rows``."""
    cap = report.capture
    if report.sources and not cap.link_type_names:
        console.print(Text(log_header(report)))
    else:
        console.print(
            Text(
                f"{terminal(cap.path)}: {cap.format}{' (gzip)' if cap.compressed else ''}, "
                f"{', '.join(cap.link_type_names)}, {cap.packets} packets, {cap.flows} flows, "
                + (f"{iso(cap.first_ts)} .. {iso(cap.last_ts)}" if cap.first_ts is not None else "no packets")
                + (", TRUNCATED" if cap.truncated else "")
                + (f", {cap.parse_errors} parse errors" if cap.parse_errors else "")
            )
        )
    for line in source_lines(report) if cap.link_type_names else ():
        console.print(Text(line))
    for w in report.warnings:
        console.print(Text("warning: " + terminal(w), style="yellow"))
    render_conclusion(report, console)
    render_review(report, console)
    summary: DataTable = report.summary
    longest = max((len(str(n)) for n in summary.column("fqdn") if n is not None), default=4)
    # On a narrow terminal the address, action, source and detail columns give way and the borders go:
    # names must stay whole, they are copied into firewall tickets.
    wide = console.width >= 140
    if wide:
        t = Table(title="Egress summary (Deny first)", show_lines=False)
        columns = ["Protocol", "DestinationPort", "Fqdn", "Address", "count_", "Action", "Verdict", "Source", "Detail"]
        if report.log_verdicts:  # a log said why: its rule, and whether the capture agrees
            columns[-1:-1] = ["Rule", "Confirmed"]
    else:
        t = Table(title="Egress summary (Deny first)", box=box.SIMPLE_HEAD, pad_edge=False)
        columns = ["Protocol", "Port", "Fqdn", "count_", "Verdict"]

    def need(col: str) -> int:
        """The width a short column needs: its header or its longest value."""
        key = {"DestinationPort": "port", "Port": "port", "count_": "count"}.get(col, col.lower())
        values = [len(str(v)) for v in summary.column(key)] if key in summary.columns else []
        return max([len(col), *values])

    short = {c: need(c) for c in columns if c not in ("Fqdn", "Address", "Detail", "Rule")}
    room = console.width - sum(short.values()) - 3 * len(columns)
    for col in columns:
        if col == "Fqdn" and wide:
            t.add_column(col, no_wrap=True, min_width=min(longest, 80))
        elif col == "Fqdn":
            # Too narrow for the longest name: fold it rather than cut it, nothing of a name is lost.
            t.add_column(col, overflow="fold", min_width=max(min(longest, room), 12))
        elif col in ("Address", "Detail", "Rule"):
            t.add_column(col, overflow="fold")
        else:
            t.add_column(col, no_wrap=True, min_width=short[col])
    for r in report.egress():  # noise is listed below, and in md/json with its reason
        style = VERDICT_STYLE.get(str(r["verdict"]), "")
        cells = {
            "Protocol": _cell(r["protocol"]),
            "DestinationPort": _cell(r["port"]),
            "Port": _cell(r["port"]),
            "Fqdn": _cell(r["fqdn"] if wide else label(r["fqdn"], r["addresses"])),
            "Address": _cell(addresses_text(r["fqdn"], r["addresses"])),
            "count_": _cell(r["count"]),
            "Action": Text(str(r["action"]), style=style),
            "Verdict": Text(terminal(r["verdict"]), style=style),
            "Source": _cell(r["source"]),
            "Detail": _cell(r["detail"] if r["verdict"] != "ok" else None),
        }
        if report.log_verdicts:
            said = report.log_verdict(r) or {}
            cells["Rule"] = _cell(" / ".join(v for v in (said.get("rule"), said.get("verdict_reason")) if v) or None)
            cells["Confirmed"] = _cell(confirmed_text(said))
        t.add_row(*(cells[c] for c in columns))
    console.print(t)
    noise_names = report.noise_names()
    failed = [
        d for d in report.dns if d["service"] == "dns" and d["rcode"] != "NOERROR" and d["qname"] not in noise_names
    ]
    if failed:
        d = Table(title="DNS lookups that failed")
        for col in ("Name", "Type", "Result", "Queries", "Unanswered"):
            d.add_column(col, overflow="fold")
        for r in failed:
            d.add_row(
                _cell(r["qname"]),
                _cell(r["qtype"]),
                _cell(r["rcode"] or "no answer"),
                _cell(r["queries"]),
                _cell(r["unanswered"]),
            )
        console.print(d)
    noise = report.noise()
    if noise:
        kinds = Counter(n.kind for n in noise)
        summary_text = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        console.print(
            Text(
                f"Left out as noise: {len(noise)} ({summary_text}); "
                "--include-noise KIND keeps a kind, --format md or json lists each with its reason",
                style="dim",
            )
        )
    render_allowlist(report, console, lint_rows)
    errors: DataTable = report.parse_errors
    if len(errors):
        e = Table(title=f"Parse errors ({cap.parse_errors})")
        for col in ("Frame", "Layer", "Reason"):
            e.add_column(col, overflow="fold")
        for err in errors.rows[:20]:
            e.add_row(_cell(err["frame"]), _cell(err["layer"]), _cell(err["reason"]))
        console.print(e)


def _simple(console: Console, title: str, columns: list[str], rows: list[list[Any]], style: str = "") -> None:
    if not rows:
        return
    t = Table(title=title, title_style=style, box=box.SIMPLE_HEAD, pad_edge=False)
    first_name = next((c for c in columns if c in ("Fqdn", "Entry")), None)
    for k, col in enumerate(columns):
        if col in ("Reason", "Detail"):
            t.add_column(col, overflow="fold")
        elif col == first_name:
            # Names are copied into tickets: as wide as the longest (up to 40), folded rather than cut.
            longest = max([len(col)] + [len(str(r[k])) for r in rows])
            t.add_column(col, overflow="fold", min_width=min(40, longest))
        elif col in ("Fqdn", "Entry"):
            t.add_column(col, overflow="fold")
        else:
            t.add_column(col, no_wrap=True)  # short: Protocol, Port, Verdict, Line, Problem
    for r in rows:
        t.add_row(*[_cell(v) for v in r])
    console.print(t)


def render_conclusion(report: Report, console: Console) -> None:
    """Three answers before any table: what was blocked and why, what to add to the request, what to remove."""
    c = conclude(report)
    console.print(Text("Conclusion: " + headline(c), style="bold red" if c.blocked else "bold green"))
    if c.blocked:
        t = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
        name_w = min(40, max(len(b.name) for b in c.blocked))
        where_w = max(len(b.where) for b in c.blocked)
        verdict_w = max(len(b.verdict) for b in c.blocked)
        # rich does not narrow a folding column enough when its neighbours are fixed: give it what is left.
        why_w = max(16, console.width - name_w - where_w - verdict_w - 6)
        t.add_column(overflow="fold", min_width=name_w, max_width=name_w)
        t.add_column(no_wrap=True)
        t.add_column(no_wrap=True)
        t.add_column(overflow="fold", max_width=why_w)
        for b in c.blocked:
            style = VERDICT_STYLE.get(b.verdict, "")
            t.add_row(_cell(b.name), Text(b.where), Text(terminal(b.verdict), style=style), _cell(b.why or None))
        console.print(t)
    if c.add:
        console.print(Text("Add to the request (in its own shape, ready to paste):", style="bold"))
        for line in c.add:
            console.print(Text("  " + terminal(line)), soft_wrap=True)
    if c.remove:
        console.print(
            Text(f"Remove from the request, never used ({len(c.remove)}): ", style="bold")
            + Text(", ".join(terminal(e) for e in c.remove))
        )
    if c.lint:
        kinds = ", ".join(f"{problem} {n}" for problem, n in c.lint)
        console.print(Text(f"Allowlist lint: {sum(n for _, n in c.lint)} findings ({kinds})", style="bold"))
    console.print()


def render_review(report: Report, console: Console) -> None:
    """The allowlist tables that name what to change: missing, and allowed but blocked."""
    info = report.allowlist
    if info is None:
        return
    console.print(
        Text(
            f"Allowlist: {', '.join(terminal(f) for f in info.files)} "
            f"({', '.join(info.formats)}, {info.entries} entries), "
            f"matched with {info.dialect} wildcard rules"
        )
    )
    for note in info.notes:
        console.print(Text("note: " + terminal(note), style="dim"))
    missing = report.missing()
    _simple(
        console,
        f"Missing from the allowlist ({len(missing)})",
        ["Protocol", "Port", "Fqdn", "Verdict", "Reason"],
        [[m["protocol"], m["port"], label(m["fqdn"], m["addresses"]), m["verdict"], m["reason"]] for m in missing],
        "bold red",
    )
    blocked = report.blocked_but_allowed()
    # Narrow terminals: the entry's line number instead of the entry (a second long name would not fit).
    last = "Entry" if console.width >= 120 else "Line"
    _simple(
        console,
        f"Allowed but blocked in the capture ({len(blocked)})",
        ["Protocol", "Port", "Fqdn", "Verdict", last],
        [
            [
                b["protocol"],
                b["port"],
                label(b["fqdn"], b["addresses"]),
                b["verdict"],
                b[last.lower().replace("line", "entry_line")],
            ]
            for b in blocked
        ],
        "bold magenta",
    )


def render_allowlist(report: Report, console: Console, lint_rows: bool) -> None:
    """After the evidence: the unused entries, and the lint (one line per kind unless asked for the rows)."""
    if report.allowlist is None:
        return
    _simple(
        console,
        f"Excess: requested but never used ({len(report.excess)})",
        ["Entry", "Line", "Reason"],
        [[e["entry"], e["line"], e["reason"]] for e in report.excess],
        "bold yellow",
    )
    if lint_rows:
        _simple(
            console,
            f"Allowlist lint ({len(report.lint)})",
            ["Entry", "Line", "Problem", "Detail"],
            [[f["entry"], f["line"], f["problem"], f["detail"]] for f in report.lint],
            "bold yellow",
        )
    elif len(report.lint):
        counts = Counter(str(f["problem"]) for f in report.lint)
        t = Table(title=f"Allowlist lint ({len(report.lint)}; --lint lists every finding)", title_style="bold yellow")
        t.add_column("Problem", no_wrap=True)
        t.add_column("Count", justify="right")
        t.add_column("Entries", overflow="fold")
        for problem, n in counts.most_common():
            entries = [str(f["entry"]) for f in report.lint if f["problem"] == problem]
            shown = ", ".join(entries[:4]) + (f", +{n - 4} more" if n > 4 else "")
            t.add_row(problem, str(n), _cell(shown))
        console.print(t)


def render_lint(report: LintReport, console: Console) -> None:
    info = report.allowlist
    console.print(Text(f"{info.entries} entries, {info.dialect} wildcard rules, {len(report.lint)} findings"))
    for note in info.notes:
        console.print(Text("note: " + terminal(note), style="dim"))
    _simple(
        console,
        "Allowlist lint",
        ["Entry", "Line", "Problem", "Detail"],
        [[f["entry"], f["line"], f["problem"], f["detail"]] for f in report.lint],
        "bold yellow",
    )
