"""Terminal report with rich: the summary (Deny first), failures, DNS problems, parse errors."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reports.safe import terminal

VERDICT_STYLE = {
    "ok": "green",
    "no-reply": "red",
    "reset": "red",
    "unreachable": "red",
    "tls-interrupted": "magenta",
    "proxy-denied": "red",
}


def _cell(v: Any) -> Text:
    if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)):
        return Text("-", style="dim")
    return Text(terminal(v))  # Text, never markup: a name like "[bold]" stays literal


def render(analysis: Any, console: Console) -> None:
    cap = analysis.capture
    console.print(
        Text(
            f"{terminal(cap['path'])}: {cap['format']}{' (gzip)' if cap['compressed'] else ''}, "
            f"{', '.join(cap['link_type_names'])}, {cap['packets']} packets, {cap['flows']} flows, "
            f"{cap['first_ts']} .. {cap['last_ts']}"
            + (", TRUNCATED" if cap["truncated"] else "")
            + (f", {cap['parse_errors']} parse errors" if cap["parse_errors"] else "")
        )
    )
    for w in analysis.warnings:
        console.print(Text("warning: " + terminal(w), style="yellow"))
    summary: pd.DataFrame = analysis.summary
    t = Table(title="Egress summary (Deny first)", show_lines=False)
    longest = max((len(str(n)) for n in summary["fqdn"].dropna()), default=4)
    for col in ("Protocol", "DestinationPort", "Fqdn", "Address", "count_", "Action", "Verdict", "Source", "Detail"):
        if col == "Fqdn":
            # Names are copied into firewall tickets: never break one across lines.
            t.add_column(col, no_wrap=True, min_width=min(longest, 80))
        elif col in ("Protocol", "Action", "Verdict", "count_", "Source"):
            t.add_column(col, no_wrap=True)
        else:
            t.add_column(col, overflow="fold")
    for r in summary.itertuples(index=False):
        style = VERDICT_STYLE.get(str(r.verdict), "")
        t.add_row(
            _cell(r.protocol),
            _cell(r.port),
            _cell(r.fqdn),
            _cell(r.address),
            _cell(r.count),
            Text(str(r.action), style=style),
            Text(terminal(r.verdict), style=style),
            _cell(r.source),
            _cell(r.detail if r.verdict != "ok" else None),
        )
    console.print(t)
    dns: pd.DataFrame = analysis.dns
    failed = dns[(dns["rcode"].astype(object).fillna("NO-ANSWER") != "NOERROR") & (dns["service"] == "dns")]
    if len(failed):
        d = Table(title="DNS lookups that failed")
        for col in ("Name", "Type", "Result", "Queries", "Unanswered"):
            d.add_column(col, overflow="fold")
        for r in failed.itertuples(index=False):
            d.add_row(
                _cell(r.qname), _cell(r.qtype), _cell(r.rcode or "no answer"), _cell(r.queries), _cell(r.unanswered)
            )
        console.print(d)
    errors: pd.DataFrame = analysis.parse_errors
    if len(errors):
        e = Table(title=f"Parse errors ({cap['parse_errors']})")
        for col in ("Frame", "Layer", "Reason"):
            e.add_column(col, overflow="fold")
        for r in errors.head(20).itertuples(index=False):
            e.add_row(_cell(r.frame), _cell(r.layer), _cell(r.reason))
        console.print(e)
