"""The morning report as Markdown (a CI job summary, a ticket): every cell through markdown_cell."""

from __future__ import annotations

from analyzer.history.model import NightReport
from reports.night.words import CLASS_MEANING, captures_line, detail, headline
from reports.safe import markdown_cell as cell


def render(report: NightReport, fail_on: tuple[str, ...] = ()) -> str:
    out = [
        f"# Egress drift: {cell(report.profile)}, night {cell(report.night)}",
        "",
        cell(headline(report, fail_on)),
        "",
        cell(captures_line(report)),
        "",
    ]
    for row in report.errors():
        out.append(f"- error: {cell(row['error'])}")
    if report.errors():
        out.append("")
    if not report.drift.rows:
        out.append("No drift against the baseline.")
        return "\n".join(out) + "\n"
    gated = {id(r) for r in report.gated(fail_on)}
    out += ["| gate | class | name | what | captures |", "| --- | --- | --- | --- | --- |"]
    for row in report.drift.rows:
        out.append(
            f"| {'FAIL' if id(row) in gated else ''} | {cell(row['class'])} | {cell(row['name'])} | "
            f"{cell(detail(row))} | {cell(', '.join(row['captures']))} |"
        )
    out += ["", "Classes: " + "; ".join(f"{cell(k)}: {cell(v)}" for k, v in CLASS_MEANING.items()), ""]
    return "\n".join(out)
