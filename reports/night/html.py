"""The morning report as one self-contained HTML page, with a per-name timeline across the nights.

The page is built like ``reports/html.py`` (whose page shell it uses): inline CSS and JS from
``reports/static`` allowed by hash in the Content-Security-Policy, nothing fetched, no CDN.  The
timeline is an inline SVG: one row per name, one square per night, its colour from a fixed map of
actions (never from packet text).  Every name and reason goes through ``esc``
(:func:`reports.safe.html_text`); no packet-derived text is placed in an attribute other than
double-quoted ``title`` text, or in the script.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from analyzer.history.model import NightReport
from reports.html import _Col, _host, _page, _section, _table
from reports.night.words import CLASS_MEANING, captures_line, detail, headline
from reports.safe import html_text as esc

ACTION_FILL = {"Allow": "#1a7f37", "Deny": "#cf222e"}
OTHER_FILL = "#9a6700"
ABSENT_FILL = "#eaeef2"
CELL, GAP, LABEL_WIDTH, TOP = 14, 3, 300, 90
TIMELINE_MAX_NAMES = 300
LABEL_CHARS = 44


def render(report: NightReport, fail_on: tuple[str, ...] = ()) -> str:
    head = (
        f'<div class="wrap"><header><h1>Egress drift: {esc(report.profile)}, night {esc(report.night)}</h1>'
        f'<p class="note">{esc(headline(report, fail_on))}</p>'
        f'<p class="note">{esc(captures_line(report))}</p></header>'
    )
    errors = "".join(f'<p class="note">error: {esc(r["error"])}</p>' for r in report.errors())
    body = head + errors + _drift(report, fail_on) + _timeline_section(report) + _footer() + "</div>"
    return _page(f"Egress drift: {report.profile} {report.night}", body)


def _drift(report: NightReport, fail_on: tuple[str, ...]) -> str:
    if not report.drift.rows:
        return _section("drift", "Drift", '<p class="empty">No drift against the baseline.</p>')
    gated = {id(r) for r in report.gated(fail_on)}
    cols = [
        _Col("Gate", "gate"),
        _Col("Class", "class"),
        _Col("Name", "name", cls="name"),
        _Col("What", "detail", cls="detail"),
        _Col("Captures", "captures", cls="detail"),
    ]
    rows = [
        [
            ("<strong>FAIL</strong>" if id(r) in gated else "", None),
            (f'<span title="{esc(CLASS_MEANING[r["class"]])}">{esc(r["class"])}</span>', None),
            (_host(r["name"]), None),
            (esc(detail(r)), None),
            ("<br>".join(_host(c) for c in r["captures"]), None),
        ]
        for r in report.drift.rows
    ]
    return _section("drift", f"Drift ({len(rows)})", _table(cols, rows, table_id="drift-table", sortable=True))


def _timeline_section(report: NightReport) -> str:
    if not report.timeline.rows:
        return ""
    note = "Each row a name, each square a night: green allowed, red blocked, grey not seen."
    return _section("timeline", "Timeline across the nights", timeline_svg(report), esc(note))


def timeline_svg(report: NightReport) -> str:
    """The inline SVG chart: names (drift items first) down, nights across."""
    nights = sorted({r["night"] for r in report.timeline.rows})
    seen: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in report.timeline.rows:
        seen[r["name"]][r["night"]] = r
    drifting = [r["name"] for r in report.drift.rows if r["name"] in seen]
    names = list(dict.fromkeys([*drifting, *sorted(seen)]))[:TIMELINE_MAX_NAMES]
    width = LABEL_WIDTH + len(nights) * (CELL + GAP) + 60  # room for the last night's slanted label
    height = TOP + len(names) * (CELL + GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        "<title>Per-name timeline across the nights</title>",
    ]
    for j, night in enumerate(nights):
        x = LABEL_WIDTH + j * (CELL + GAP) + CELL // 2
        parts.append(f'<text x="{x}" y="{TOP - 6}" transform="rotate(-60 {x} {TOP - 6})">{esc(night)}</text>')
    for i, name in enumerate(names):
        y = TOP + i * (CELL + GAP)
        label = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "\u2026"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + CELL - 3}" text-anchor="end"><title>{esc(name)}</title>'
            f"{esc(label)}</text>"
        )
        for j, night in enumerate(nights):
            x = LABEL_WIDTH + j * (CELL + GAP)
            row = seen[name].get(night)
            if row is None:
                fill, tip = ABSENT_FILL, f"{night}: not seen"
            else:
                fill = ACTION_FILL.get(row["action"], OTHER_FILL)
                tip = f"{night}: {row['verdict']} on {', '.join(row['ports'])}, {row['count']} connection(s)"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="2" fill="{fill}">'
                f"<title>{esc(name)} {esc(tip)}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _footer() -> str:
    return (
        "<footer><p>Generated by egress-analyzer (egress drift). This page is self-contained: it loads "
        "nothing from the network. Names taken from packets are shown literally; invisible or control "
        "characters appear as \\x.. or \\u.... escapes.</p></footer>"
    )
