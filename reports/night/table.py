"""The morning report in the terminal (rich): the headline, then one line per drift item, gated ones marked."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from analyzer.history.model import NightReport
from reports.night.words import captures_line, detail, headline
from reports.safe import terminal

CLASS_STYLE = {
    "regression": "bold red",
    "newly-blocked": "red",
    "new": "yellow",
    "port-change": "yellow",
    "gone": "cyan",
    "unblocked": "green",
    "flapping": "magenta",
    "unused-entry": "dim",
    "expired-suppression": "yellow",
}


def render(report: NightReport, console: Console, fail_on: tuple[str, ...] = ()) -> None:
    console.print(Text(terminal(headline(report, fail_on))))
    console.print(Text(terminal(captures_line(report)), style="dim"))
    for row in report.errors():
        console.print(Text("error: " + terminal(row["error"]), style="red"))
    if not report.drift.rows:
        console.print(Text("No drift against the baseline."))
        return
    gated = {id(r) for r in report.gated(fail_on)}
    t = Table(title=f"Drift: {terminal(report.night)} against its baseline", box=box.SIMPLE_HEAD)
    for col in ("Gate", "Class", "Name", "What", "Captures"):
        t.add_column(col, overflow="fold")
    for row in report.drift.rows:
        gate = Text("FAIL", style="bold red") if id(row) in gated else Text("")
        t.add_row(
            gate,
            Text(row["class"], style=CLASS_STYLE.get(row["class"], "")),
            Text(terminal(row["name"])),  # Text, never markup: a name like "[bold]" stays literal
            Text(terminal(detail(row))),
            Text(terminal(", ".join(row["captures"]))),
        )
    console.print(t)
