"""One self-contained HTML report: inline CSS, JS and SVG, nothing fetched, packet text inert.

The page works on an air-gapped laptop: no external URL of any kind, no web font, and a
Content-Security-Policy (``default-src 'none'`` plus the hashes of our own ``<style>`` and
``<script>``) so that even a mistake elsewhere could neither load nor run anything.  The CSS and
JS are files of their own (``reports/static/``, package data), inlined into every page.

Every string that came from the capture or an allowlist (names, reasons, paths) goes through
``esc`` (:func:`reports.safe.html_text`): control characters, bidi overrides and other invisible
format characters become visible ``\\xNN`` / ``\\uNNNN`` text, then markup characters and quotes
become entities.  This module escapes nothing on its own.  No packet-derived text is ever placed
in a ``style``/``class``/``id`` attribute or inside the script.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from analyzer.report import LintReport, Report
from analyzer.schema import SCHEMA_VERSION
from reports.display import MAX_ADDRESSES_SHOWN, UNLISTED, noise_label, short_list
from reports.jsondoc import TABLE_ORDER, tail
from reports.safe import html_text as esc
from reports.safe import visible as clean
from reports.sources import kql

VERDICT_COLOURS: dict[str, str] = {
    "ok": "#1a7f37",
    "no-reply": "#cf222e",
    "reset": "#bc4c00",
    "unreachable": "#82071e",
    "tls-interrupted": "#8250df",
    "proxy-denied": "#bf3989",
    "mid-stream": "#9a6700",
}
OTHER_COLOUR = "#6e7781"
VERDICT_MEANING = {
    "ok": "answered",
    "no-reply": "never answered",
    "reset": "refused (RST)",
    "unreachable": "ICMP unreachable",
    "tls-interrupted": "cut after the TLS ClientHello",
    "proxy-denied": "refused by the proxy",
    "mid-stream": "open before the capture: unknown",
}

SOURCE_MEANING = {
    "sni": "name from the TLS SNI",
    "host": "name from the HTTP Host header",
    "connect": "name from the proxy CONNECT request",
    "dns": "name from a DNS answer for this address",
}

TIMELINE_MAX_ROWS = 400
CHART_TOP = 10
LABEL_CHARS = 40
COLLAPSE_ROWS = 12  # longer allowlist tables start collapsed (printing opens them)


def _short(text: object, limit: int = LABEL_CHARS) -> str:
    s = clean(text)
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


def _colour(verdict: object) -> str:
    return VERDICT_COLOURS.get(str(verdict), OTHER_COLOUR)


def _vclass(verdict: object) -> str:
    v = str(verdict)
    return f"v-{v}" if v in VERDICT_COLOURS else "v-other"


def _ns(value: object) -> int | None:
    """A timestamp of the report's tables: integer nanoseconds since the epoch (UTC), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _abs_time(value: object) -> str:
    ns = _ns(value)
    if ns is None:
        return "-"
    when = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S") + f".{(ns % 1_000_000_000) // 1_000_000:03d} UTC"


def _num(v: object) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else esc("-" if v is None else v)


def _bytes(n: object) -> str:
    if not isinstance(n, int | float):
        return "-"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _offset(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"+{seconds:.3f} s" if seconds < 600 else f"+{_clock(seconds)}"


def _clock(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _name_of(row: dict[str, Any]) -> str:
    unnamed = UNLISTED if "addresses" in row else "(unknown)"  # a summary row without addresses: beyond the cap
    return str(row.get("fqdn") or row.get("address") or short_list(row.get("addresses") or []) or unnamed)


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@dataclass
class _Ctx:
    doc: dict[str, Any]
    noise_rows: set[int]
    start_ns: int | None
    noise_names: dict[str, str] = field(default_factory=dict)

    def offset(self, value: object) -> float | None:
        ns = _ns(value)
        if ns is None or self.start_ns is None:
            return None
        return max(0.0, (ns - self.start_ns) / 1e9)


# --------------------------------------------------------------------------------------------------
# Building blocks


def _host(name: object) -> str:
    """A name in a table: never broken across lines (it is copied into tickets) unless absurdly long."""
    text = esc(name)
    cls = "host long" if len(clean(name)) > 60 else "host"
    return f'<span class="{cls}">{text}</span>'


def _addresses(addresses: Sequence[str], limit: int = MAX_ADDRESSES_SHOWN) -> str:
    """One address a line, the first ``limit`` of them and then how many more."""
    parts = [_host(a) for a in addresses[:limit]]
    if len(addresses) > limit:
        parts.append(_host(f"+{len(addresses) - limit} more"))
    return "<br>".join(parts)


def _chip(verdict: object) -> str:
    return f'<span class="chip {_vclass(verdict)}">{esc(verdict)}</span>'


def _action(action: object) -> str:
    cls = {"Deny": "deny", "Unknown": "unknown"}.get(str(action), "allow")
    return f'<span class="act act-{cls}">{esc(action)}</span>'


@dataclass
class _Col:
    title: str
    key: str
    num: bool = False
    cls: str = ""


def _table(
    cols: Sequence[_Col],
    rows: Iterable[Sequence[tuple[str, str | None]]],
    *,
    table_id: str = "",
    sortable: bool = False,
    row_classes: Sequence[str] | None = None,
    caption: str = "",
) -> str:
    """Cells are (html, sort key or None); both already escaped by the caller."""
    attrs = f' id="{table_id}"' if table_id else ""
    cls = "data sortable" if sortable else "data"
    out = [f'<div class="scroll"><table class="{cls}"{attrs}>']
    if caption:
        out.append(f"<caption>{caption}</caption>")
    out.append("<thead><tr>")
    for c in cols:
        kind = ' data-type="num"' if c.num else ""
        ccls = " ".join(x for x in (c.cls, "num" if c.num else "") if x)
        ccls_attr = f' class="{ccls}"' if ccls else ""
        label = f'<button type="button">{c.title}<span class="arrow"></span></button>' if sortable else c.title
        out.append(f'<th scope="col" data-key="{c.key}"{kind}{ccls_attr}>{label}</th>')
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        rc = row_classes[i] if row_classes and row_classes[i] else ""
        out.append(f'<tr class="{rc}">' if rc else "<tr>")
        for c, (content, sort) in zip(cols, row, strict=True):
            ccls = " ".join(x for x in (c.cls, "num" if c.num else "") if x)
            a = f' class="{ccls}"' if ccls else ""
            if sort is not None:
                a += f' data-sort="{sort}"'
            out.append(f"<td{a}>{content}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _section(sid: str, title: str, body: str, note: str = "") -> str:
    n = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{sid}"><h2>{title}</h2>{n}{body}</section>'


# --------------------------------------------------------------------------------------------------
# Sections


def _header(ctx: _Ctx) -> str:
    cap = ctx.doc["capture"]
    path = str(cap.get("path") or "")
    base = path.replace("\\", "/").rsplit("/", 1)[-1] or path
    first, last = _ns(cap.get("first_ts")), _ns(cap.get("last_ts"))
    span = _duration((last - first) / 1e9) if first is not None and last is not None else "-"
    fmt = str(cap.get("format") or "-") + (" (gzip)" if cap.get("compressed") else "")
    facts = [
        ("Capture file", _host(path)),
        ("Format", esc(fmt)),
        ("Link types", esc(", ".join(str(x) for x in cap.get("link_type_names") or []) or "-")),
        ("Packets", _num(cap.get("packets"))),
        ("Bytes", f"{_num(cap.get('bytes'))} ({_bytes(cap.get('bytes'))})"),
        ("Flows", _num(cap.get("flows"))),
        ("First packet", esc(_abs_time(cap.get("first_ts")))),
        ("Last packet", esc(_abs_time(cap.get("last_ts")))),
        ("Duration", esc(span)),
        ("Parse errors", _num(cap.get("parse_errors"))),
    ]
    if cap.get("truncated"):
        facts.append(("Truncated", '<strong class="bad">yes: the capture ends mid-packet</strong>'))
    for key, label in (
        ("non_ip_packets", "Non-IP packets"),
        ("undecoded_link_type_packets", "Undecoded link type"),
        ("fragments_dropped", "Fragments dropped"),
    ):
        if cap.get(key):
            facts.append((label, _num(cap.get(key))))
    dl = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)
    return (
        '<header class="top"><div class="wrap">'
        '<p class="kicker">egress-analyzer report</p>'
        f'<h1>Egress of <span class="mono">{esc(base)}</span></h1>'
        '<p class="sub">Which external names and ports the install contacted, whether the firewall let them '
        "through, and how that compares with the requested allowlist.</p>"
        f'</div></header><div class="wrap"><dl class="facts">{dl}</dl>'
    )


def _cards(ctx: _Ctx) -> str:
    doc = ctx.doc
    # The cards count what the operator has to act on: noise (listed in its own section) is left out,
    # as in the terminal report and the allowlist diff.
    summary = [r for i, r in enumerate(doc["summary"]) if i not in ctx.noise_rows]
    names = {_name_of(r) for r in summary}
    denied = [r for r in summary if r.get("action") == "Deny"]
    denied_names = {_name_of(r) for r in denied}
    dns_fail = [d for d in _dns_failures(doc) if str(d.get("qname")) not in ctx.noise_names]
    cards: list[tuple[str, str, str, str]] = [
        ("Destinations", f"{len(names):,}", "names and addresses contacted", ""),
        (
            "Blocked",
            f"{len(denied_names):,}",
            "names with a failed connection" if denied_names else "every connection was answered",
            "bad" if denied_names else "good",
        ),
        ("Connections", f"{sum(int(r.get('count') or 0) for r in summary):,}", "connections and HTTP requests", ""),
        ("DNS failures", f"{len(dns_fail):,}", "lookups with an error or no answer", "warn" if dns_fail else ""),
    ]
    diff = doc.get("diff")
    if diff is not None:
        cards += [
            (
                "Missing from allowlist",
                f"{len(diff['missing']):,}",
                "used, not requested",
                "bad" if diff["missing"] else "good",
            ),
            (
                "Allowed yet blocked",
                f"{len(diff['blocked_but_allowed']):,}",
                "requested, still failed",
                "bad" if diff["blocked_but_allowed"] else "good",
            ),
            ("Unused entries", f"{len(diff['excess']):,}", "requested, never used", "warn" if diff["excess"] else ""),
            ("Lint findings", f"{len(diff['lint']):,}", "problems in the request", "warn" if diff["lint"] else ""),
        ]
    items = "".join(
        f'<div class="card {cls}"><div class="card-label">{label}</div><div class="card-value">{value}</div>'
        f'<div class="card-note">{note}</div></div>'
        for label, value, note, cls in cards
    )
    return f'<div class="cards">{items}</div>'


def _nav(ctx: _Ctx) -> str:
    links = [("summary", "Summary"), ("timeline", "Timeline"), ("top", "Top names")]
    if ctx.doc.get("log_verdicts"):
        links.insert(1, ("logs", "Firewall logs"))
    if ctx.doc.get("diff") is not None:
        links.append(("allowlist", "Allowlist"))
    links += [("dns", "DNS failures"), ("suggested", "Suggested allowlist"), ("noise", "Noise")]
    if ctx.doc.get("parse_errors"):
        links.append(("parse-errors", "Parse errors"))
    return '<nav class="toc">' + "".join(f'<a href="#{a}">{t}</a>' for a, t in links) + "</nav>"


def _warnings(ctx: _Ctx) -> str:
    warnings = ctx.doc.get("warnings") or []
    if not warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
    return f'<section id="warnings" class="callout warn"><h2>Warnings</h2><ul>{items}</ul></section>'


def _legend() -> str:
    items = "".join(
        f'<span class="legend-item"><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        f'rx="2" fill="{c}"/></svg>{v} <span class="muted">({VERDICT_MEANING[v]})</span></span>'
        for v, c in VERDICT_COLOURS.items()
    )
    return f'<div class="legend">{items}</div>'


def _summary(ctx: _Ctx) -> str:
    rows_in = list(enumerate(ctx.doc["summary"]))
    # Stable: Deny first, then Unknown (joined mid-stream), then Allow, analyzer order kept.
    rows_in.sort(key=lambda ir: {"Deny": 0, "Unknown": 1}.get(str(ir[1].get("action")), 2))
    cols = [
        _Col("Action", "action"),
        _Col("Verdict", "verdict"),
        _Col("Name", "name", cls="name"),
        _Col("Protocol", "protocol"),
        _Col("Port", "port", num=True),
        _Col("Address", "address", cls="addr"),
        _Col("Count", "count", num=True),
        _Col("Bytes", "bytes", num=True),
        _Col("First seen", "first_seen", num=True),
        _Col("Detail", "detail", cls="detail"),
    ]
    rows = []
    classes = []
    for i, r in rows_in:
        name = _host(r["fqdn"]) if r.get("fqdn") else '<span class="muted">(no name seen)</span>'
        source = str(r.get("source") or "none")
        if source != "none":
            name += f' <span class="src" title="{esc(SOURCE_MEANING.get(source, source))}">{esc(source)}</span>'
        if i in ctx.noise_rows:
            name += ' <span class="tag">noise</span>'
        addr = _addresses(r["addresses"]) if r["addresses"] or r["fqdn"] else f'<span class="muted">{UNLISTED}</span>'
        if r["vias"]:
            addr += f'{"<br>" if addr else ""}<span class="muted">via proxy</span> {_host(short_list(r["vias"]))}'
        off = ctx.offset(r.get("first_seen"))
        first = f'<span title="{esc(_abs_time(r.get("first_seen")))}">{_offset(off)}</span>'
        rows.append(
            [
                (_action(r.get("action")), {"Deny": "0", "Unknown": "0.5"}.get(str(r.get("action")), "1")),
                (_chip(r.get("verdict")), None),
                (name, esc(_name_of(r) if r.get("fqdn") else "~" + _name_of(r))),
                (esc(r.get("protocol")), None),
                (_num(r.get("port")), esc(r.get("port"))),
                (addr, None),
                (_num(r.get("count")), esc(r.get("count"))),
                (esc(_bytes(r.get("bytes"))), esc(r.get("bytes"))),
                (first, "" if off is None else f"{off:.6f}"),
                (esc(r.get("detail") or ""), None),
            ]
        )
        classes.append("row-deny" if r.get("action") == "Deny" else "")
    if not rows:
        return _section("summary", "Summary", '<p class="empty">No external connection in this capture.</p>')
    table = _table(cols, rows, table_id="summary-table", sortable=True, row_classes=classes)
    note = (
        "One row per protocol, port, name and verdict. Blocked (Deny) rows come first; "
        "click a column header to sort, click again to reverse."
    )
    return _section("summary", "Summary", table, note)


# --------------------------------------------------------------------------------------------------
# SVG: timeline and bar charts


def _logs(ctx: _Ctx, query: str | None) -> str:
    """What the firewall or proxy logs said per summary row (only when logs were read)."""
    said = ctx.doc.get("log_verdicts") or []
    if not said:
        return ""
    cols = [
        _Col("Protocol", "protocol"), _Col("Port", "port", num=True), _Col("Name", "name"), _Col("Action", "action"),
        _Col("Verdict", "verdict"), _Col("count_", "count", num=True), _Col("Rule", "rule"),
        _Col("Reason", "reason"), _Col("Confirmed", "confirmed", num=True), _Col("Conflicts", "conflicts", num=True),
        _Col("From", "from"),
    ]  # fmt: skip
    rows = []
    for r in said:
        name = r.get("fqdn") or r.get("address") or ""
        rows.append(
            [
                (esc(clean(r.get("protocol"))), None),
                (_num(r.get("port")), str(r.get("port"))),
                (esc(clean(name)), None),
                (_action(r.get("action")), None),
                (_chip(r.get("verdict")), None),
                (_num(r.get("count")), str(r.get("count"))),
                (esc(clean(r.get("rule") or "")), None),
                (esc(clean(r.get("verdict_reason") or "")), None),
                (_num(r.get("confirmed")), str(r.get("confirmed"))),
                (esc(clean(f"{r.get('conflicts')} (log: {r.get('conflict')})" if r.get("conflicts") else "")), None),
                (esc(clean(", ".join(r.get("source_kinds") or []))), None),
            ]
        )
    body = _table(cols, rows, table_id="logs-table", sortable=True)
    if query is not None:
        # Line by line: esc() shows a newline as \x0a, and the query's own line breaks are ours.
        code = "\n".join(esc(line) for line in query.splitlines())
        body += f"<p>The same table in Log Analytics:</p><pre><code>{code}</code></pre>"
    note = (
        "The rule and reason a log gives for each summary row; confirmed: connections the capture and the log agree on."
    )
    return _section("logs", "Firewall logs", body, esc(note))


def _nice_step(span: float, target: int = 8) -> float:
    if span <= 0:
        return 1.0
    raw = span / target
    candidates = [m * 10**e for e in range(-3, 3) for m in (1, 2, 5)] + [
        60,
        120,
        300,
        600,
        900,
        1800,
        3600,
        7200,
        10800,
        21600,
        43200,
        86400,
    ]
    for c in sorted(candidates):
        if c >= raw:
            return float(c)
    return float(86400 * math.ceil(raw / 86400))


def _tick_label(t: float, step: float) -> str:
    if step >= 60:
        return _clock(t)
    if step >= 1:
        return f"{t:.0f} s"
    decimals = max(0, -math.floor(math.log10(step)))
    return f"{t:.{decimals}f} s"


@dataclass
class _Mark:
    start: float
    end: float
    verdict: str
    tip: str


@dataclass
class _Row:
    name: str
    is_address: bool
    marks: list[_Mark] = field(default_factory=list)

    @property
    def first(self) -> float:
        return min(m.start for m in self.marks)

    @property
    def failed(self) -> bool:
        return any(m.verdict != "ok" for m in self.marks)


def timeline_rows(doc: dict[str, Any], offset: Callable[[object], float | None]) -> list[_Row]:
    """One row per name (or address when no name was seen) with a mark per connection, by first contact."""
    rows: dict[str, _Row] = {}
    for f in doc.get("flows") or []:
        if f.get("protocol") == "DNS":
            continue  # lookups are not egress connections (the summary leaves them out too)
        start = offset(f.get("ts"))
        if start is None:
            continue
        end = offset(f.get("last_ts"))
        end = start if end is None else max(start, end)
        name = f.get("fqdn") or f.get("dst")
        key = str(name)
        row = rows.setdefault(key, _Row(key, not f.get("fqdn")))
        via = f" via proxy {f['dst']}:{f['dport']}" if f.get("via") else ""
        dst = f"{f.get('dst')}:{f.get('dport')}" if not via else ""
        tip = (
            f"{key}\n{f.get('protocol')}/{f.get('port')} {dst}{via}\n{f.get('verdict')}: {f.get('detail') or ''}\n"
            f"{_offset(start)} .. {_offset(end)}, {f.get('packets')} packets, {_bytes(f.get('bytes'))}"
        )
        row.marks.append(_Mark(start, end, str(f.get("verdict")), tip))
    # Names the summary knows only from a shared connection (HTTP keep-alive to a second Host).
    for r in doc.get("summary") or []:
        key = _name_of(r)
        if key in rows:
            continue
        start = offset(r.get("first_seen"))
        if start is None:
            continue
        end = offset(r.get("last_seen"))
        end = start if end is None else max(start, end)
        tip = (
            f"{key}\n{r.get('protocol')}/{r.get('port')} (on a shared connection)\n"
            f"{r.get('verdict')}: {r.get('detail') or ''}\n{_offset(start)} .. {_offset(end)}"
        )
        rows.setdefault(key, _Row(key, not r.get("fqdn"))).marks.append(_Mark(start, end, str(r.get("verdict")), tip))
    return sorted(rows.values(), key=lambda r: (r.first, r.name))


def _timeline(ctx: _Ctx) -> str:
    rows = timeline_rows(ctx.doc, ctx.offset)
    summary = ctx.doc["summary"]
    named = {_name_of(r) for i, r in enumerate(summary) if i not in ctx.noise_rows}
    noise_names = {_name_of(r) for i, r in enumerate(summary) if i in ctx.noise_rows} - named
    if not rows:
        return _section("timeline", "Timeline", '<p class="empty">No external connection to draw.</p>')
    dropped = max(0, len(rows) - TIMELINE_MAX_ROWS)
    rows = rows[:TIMELINE_MAX_ROWS]
    cap = ctx.doc["capture"]
    first, last = _ns(cap.get("first_ts")), _ns(cap.get("last_ts"))
    span = max((last - first) / 1e9 if first is not None and last is not None else 0.0, 0.0)
    span = max(span, max(m.end for r in rows for m in r.marks), 0.001)
    width, label_w, right, row_h, top = 1100, 310, 24, 22, 30
    plot_w = width - label_w - right
    height = top + row_h * len(rows) + 12

    def x(t: float) -> float:
        return label_w + plot_w * (t / span)

    out = [
        f'<svg id="timeline-svg" class="chart timeline" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="timeline-title" preserveAspectRatio="xMinYMin meet">',
        '<title id="timeline-title">When each name was first contacted, seconds from capture start</title>',
    ]
    for i in range(len(rows)):
        if i % 2 == 0:
            y = top + i * row_h
            out.append(f'<rect class="band" x="0" y="{y}" width="{width}" height="{row_h}"/>')
    step = _nice_step(span)
    t = 0.0
    while t <= span + step * 1e-6:
        xx = x(t)
        out.append(f'<line class="grid" x1="{xx:.1f}" y1="{top - 6}" x2="{xx:.1f}" y2="{height - 10}"/>')
        out.append(f'<text class="tick" x="{xx:.1f}" y="{top - 12}" text-anchor="middle">{_tick_label(t, step)}</text>')
        t += step
    for i, row in enumerate(rows):
        y = top + i * row_h
        cls = "tl-label bad" if row.failed else "tl-label"
        cls += " addr" if row.is_address else ""
        cls += " noise" if row.name in noise_names else ""
        out.append(f'<g class="tl-row" data-name="{esc(row.name)}">')
        first_at = _offset(row.first)
        out.append(f"<title>{esc(row.name)}: first contact {first_at}, {len(row.marks)} connection(s)</title>")
        out.append(
            f'<text class="{cls}" x="{label_w - 10}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">'
            f"{esc(_short(row.name))}</text>"
        )
        out.append(
            f'<line class="lane" x1="{x(row.first):.1f}" y1="{y + row_h / 2:.1f}" x2="{x(span):.1f}" '
            f'y2="{y + row_h / 2:.1f}"/>'
        )
        for m in sorted(row.marks, key=lambda m: (m.verdict != "ok", m.start)):
            x0 = x(m.start)
            w = max(x(m.end) - x0, 5.0)
            out.append(
                f'<rect class="mark" x="{x0:.1f}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="2" '
                f'fill="{_colour(m.verdict)}"><title>{esc(m.tip)}</title></rect>'
            )
        out.append("</g>")
    out.append("</svg>")
    start = esc(_abs_time(cap.get("first_ts")))
    note = (
        f"Seconds from the start of the capture ({start}). One row per name, ordered by first contact; "
        "one mark per connection, coloured by verdict. Hover a mark for details; names in grey are noise."
    )
    if dropped:
        note += f" {dropped:,} later names are not drawn; the summary table lists them all."
    return _section("timeline", "Timeline", _legend() + '<div class="scroll">' + "".join(out) + "</div>", note)


def _bar_chart(chart_id: str, title: str, items: list[tuple[str, int, str, str]]) -> str:
    """items: (name, value, verdict colour, value label)."""
    if not items:
        return f'<figure class="bars"><figcaption>{title}</figcaption><p class="empty">Nothing to show.</p></figure>'
    width, label_w, value_w, row_h, top = 560, 236, 70, 24, 6
    plot_w = width - label_w - value_w
    height = top + row_h * len(items) + 6
    vmax = max(v for _, v, _, _ in items) or 1
    out = [
        f'<figure class="bars"><figcaption>{title}</figcaption>'
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{title}">'
    ]
    for i, (name, value, colour, label) in enumerate(items):
        y = top + i * row_h
        w = max(plot_w * value / vmax, 2.0)
        out.append(f'<g class="bar-row" data-name="{esc(name)}"><title>{esc(name)}: {label}</title>')
        out.append(
            f'<text class="bar-label" x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">'
            f"{esc(_short(name, 30))}</text>"
        )
        out.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" rx="2" fill="{colour}"/>')
        out.append(f'<text class="bar-value" x="{label_w + w + 6:.1f}" y="{y + row_h / 2 + 4:.1f}">{label}</text>')
        out.append("</g>")
    out.append("</svg></figure>")
    return "".join(out)


def _top(ctx: _Ctx) -> str:
    agg: dict[str, dict[str, Any]] = {}
    for r in ctx.doc["summary"]:
        a = agg.setdefault(_name_of(r), {"count": 0, "bytes": 0, "verdict": "ok"})
        a["count"] += int(r.get("count") or 0)
        a["bytes"] += int(r.get("bytes") or 0)
        if r.get("verdict") != "ok" and a["verdict"] == "ok":
            a["verdict"] = r.get("verdict")
    by_count = sorted(agg.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:CHART_TOP]
    by_bytes = sorted(agg.items(), key=lambda kv: (-kv[1]["bytes"], kv[0]))[:CHART_TOP]
    c1 = _bar_chart(
        "chart-count",
        "By connections",
        [(n, a["count"], _colour(a["verdict"]), f"{a['count']:,}") for n, a in by_count],
    )
    c2 = _bar_chart(
        "chart-bytes",
        "By bytes",
        [(n, a["bytes"], _colour(a["verdict"]), _bytes(a["bytes"])) for n, a in by_bytes if a["bytes"] > 0],
    )
    note = f"The {CHART_TOP} busiest names; a bar takes the colour of the name's failed verdict if it had one."
    return _section("top", "Top names", f'<div class="pair">{c1}{c2}</div>', note)


# --------------------------------------------------------------------------------------------------
# Allowlist, DNS, suggestions, noise, parse errors


def _name_cell(fqdn: object, address: object) -> tuple[str, str]:
    if fqdn:
        return _host(fqdn), esc(fqdn)
    if not address:  # the addresses beyond the summary's cap: no address to show
        return f'<span class="muted">{UNLISTED}</span>', UNLISTED
    return f'<span class="mono">{esc(address)}</span> <span class="muted">(address)</span>', esc(address)


def _allowlist(ctx: _Ctx) -> str:
    diff = ctx.doc.get("diff")
    if diff is None:
        return ""
    info = ctx.doc.get("allowlist") or {}
    files = ", ".join(_host(f) for f in info.get("files") or []) or "the allowlist"
    formats = esc(", ".join(str(f) for f in info.get("formats") or []))
    intro = (
        f"<p>Compared with {files} ({formats}, {_num(info.get('entries', 0))} entries), matched with "
        f"<strong>{esc(diff.get('dialect'))}</strong> wildcard rules. "
        f"{len(diff.get('covered') or []):,} summary rows are covered by an entry.</p>"
    )
    notes = info.get("notes") or []
    if notes:
        intro += '<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
    parts = [intro]

    missing = diff.get("missing") or []
    parts.append(
        _part(
            "Missing from the allowlist",
            "bad-h",
            _rows_table([_NAME, _PROTOCOL, _PORT, _VERDICT, _COUNT, _WHY], missing),
            len(missing),
            "Every name the install used is requested.",
        )
    )
    blocked = diff.get("blocked_but_allowed") or []
    parts.append(
        _part(
            "Allowed but blocked",
            "bad-h",
            _rows_table([_NAME, _PROTOCOL, _PORT, _VERDICT, _ENTRY, _WHY], blocked),
            len(blocked),
            "No requested name failed in the capture.",
        )
    )
    dns_only = diff.get("dns_only") or []
    parts.append(
        _part(
            "Looked up but never connected",
            "",
            _rows_table([_FQDN, _QTYPE, _ANSWERS, _WHY], dns_only),
            len(dns_only),
            None,
        )
    )
    excess = diff.get("excess") or []
    parts.append(
        _part(
            "Requested but never used",
            "warn-h",
            _rows_table([_ENTRY_NAME, _WHERE, _WHY], excess),
            len(excess),
            "Every entry was used.",
            f"{len(excess):,} entries no observed connection matched",
        )
    )
    lint = diff.get("lint") or []
    parts.append(
        _part(
            "Allowlist lint",
            "warn-h",
            _rows_table([_ENTRY_NAME, _WHERE, _PROBLEM, _DETAIL], lint),
            len(lint),
            "No problem found in the request.",
            f"{len(lint):,} findings: {_tally(str(x.get('problem') or '') for x in lint)}",
        )
    )
    return _section("allowlist", "Allowlist comparison", "".join(parts))


# The allowlist tables' columns: a header and how a record of the diff fills the cell.
_Cell = Callable[[dict[str, Any]], tuple[str, str | None]]
_NAME: tuple[_Col, _Cell] = (_Col("Name", "name", cls="name"), lambda r: _name_cell(r.get("fqdn"), r.get("address")))
_FQDN: tuple[_Col, _Cell] = (_Col("Name", "name", cls="name"), lambda r: (_host(r.get("fqdn")), None))
_PROTOCOL: tuple[_Col, _Cell] = (_Col("Protocol", "protocol"), lambda r: (esc(r.get("protocol")), None))
_PORT: tuple[_Col, _Cell] = (_Col("Port", "port", num=True), lambda r: (_num(r.get("port")), None))
_VERDICT: tuple[_Col, _Cell] = (_Col("Verdict", "verdict"), lambda r: (_chip(r.get("verdict")), None))
_COUNT: tuple[_Col, _Cell] = (_Col("Count", "count", num=True), lambda r: (_num(r.get("count")), None))
_ENTRY: tuple[_Col, _Cell] = (
    _Col("Entry", "entry", cls="name"),
    lambda r: (_entry_cell(r.get("entry"), r.get("entry_line")), None),
)
_ENTRY_NAME: tuple[_Col, _Cell] = (_Col("Entry", "entry", cls="name"), lambda r: (_host(r.get("entry")), None))
_WHERE: tuple[_Col, _Cell] = (_Col("Where", "line"), lambda r: (_where(r.get("file"), r.get("line")), None))
_QTYPE: tuple[_Col, _Cell] = (_Col("Type", "qtype"), lambda r: (esc(r.get("qtype")), None))
_ANSWERS: tuple[_Col, _Cell] = (
    _Col("Answers", "answers", cls="addr"),
    lambda r: (_host(", ".join(str(a) for a in r.get("answers") or [])), None),
)
_PROBLEM: tuple[_Col, _Cell] = (
    _Col("Problem", "problem"),
    lambda r: (f'<span class="tag">{esc(r.get("problem"))}</span>', None),
)
_WHY: tuple[_Col, _Cell] = (_Col("Why", "reason", cls="detail"), lambda r: (esc(r.get("reason")), None))
_DETAIL: tuple[_Col, _Cell] = (_Col("Detail", "detail", cls="detail"), lambda r: (esc(r.get("detail")), None))


def _rows_table(columns: Sequence[tuple[_Col, _Cell]], records: Iterable[dict[str, Any]]) -> str:
    return _table([c for c, _ in columns], [[cell(r) for _, cell in columns] for r in records])


def _part(title: str, tone: str, table: str, count: int, empty: str | None, folded: str = "") -> str:
    """One part of the allowlist section: a heading with its count, then the table (folded behind
    ``folded`` when long) or, with nothing to show, the ``empty`` note; nothing at all when
    ``empty`` is None and there is nothing to show."""
    if not count and empty is None:
        return ""
    cls = f' class="{tone}"' if tone else ""
    head = f'<h3{cls}>{title} <span class="count">{count}</span></h3>'
    if not count:
        return head + f'<p class="empty good">{empty}</p>'
    return head + (_collapsible(table, count, folded) if folded else table)


def _tally(values: Iterable[str]) -> str:
    """'3 over-broad, 2 redundant': the kinds in a long list, most frequent first (escaped)."""
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return esc(", ".join(f"{n} {k}" for k, n in ranked))


def _collapsible(table: str, rows: int, summary: str) -> str:
    """Long tables start folded behind a one-line summary; the page opens them all for printing."""
    if rows <= COLLAPSE_ROWS:
        return table
    return f"<details><summary>{summary} (show all)</summary>{table}</details>"


def _entry_cell(entry: object, line: object) -> str:
    where = f' <span class="muted">line {_num(line)}</span>' if line else ""
    return f"{_host(entry)}{where}"


def _where(file: object, line: object) -> str:
    base = str(file or "").replace("\\", "/").rsplit("/", 1)[-1]
    where = f"{esc(base)}:{_num(line)}" if line is not None else esc(base)
    return f'<span class="host" title="{esc(file)}">{where}</span>'


def _dns_failures(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        d
        for d in doc.get("dns") or []
        if d.get("service", "dns") == "dns" and (d.get("rcode") != "NOERROR" or (d.get("unanswered") or 0) > 0)
    ]


def _dns(ctx: _Ctx) -> str:
    failed = _dns_failures(ctx.doc)
    if not failed:
        return _section("dns", "DNS failures", '<p class="empty good">Every lookup was answered without error.</p>')
    rows = []
    for d in failed:
        name = _host(d.get("qname"))
        kind = ctx.noise_names.get(str(d.get("qname")))
        if kind:
            name += f' <span class="tag">{esc(kind)} noise</span>'
        rows.append(
            [
                (name, esc(d.get("qname"))),
                (esc(d.get("qtype")), None),
                (f'<span class="chip v-other">{esc(d.get("rcode") or "no answer")}</span>', None),
                (_num(d.get("queries")), esc(d.get("queries"))),
                (_num(d.get("unanswered")), esc(d.get("unanswered"))),
                (_host(", ".join(str(s) for s in d.get("servers") or [])), None),
                (esc(_offset(ctx.offset(d.get("first_seen")))), None),
            ]
        )
    cols = [
        _Col("Name", "qname", cls="name"),
        _Col("Type", "qtype"),
        _Col("Result", "rcode"),
        _Col("Queries", "queries", num=True),
        _Col("Unanswered", "unanswered", num=True),
        _Col("Servers", "servers", cls="addr"),
        _Col("First", "first_seen", num=True),
    ]
    note = "Lookups that got an error code or no answer at all. Search-list expansions are tagged as noise."
    return _section("dns", "DNS failures", _table(cols, rows), note)


def _suggested(ctx: _Ctx) -> str:
    sug = ctx.doc.get("suggested") or []
    if not sug:
        return _section("suggested", "Suggested allowlist", '<p class="empty">Nothing to suggest.</p>')
    rows = []
    lines: list[str] = []
    for s in sug:
        names = s.get("names") or []
        if names:
            nm = "<br>".join(_host(n) for n in names)
            lines.extend(clean(n) for n in names)
        else:
            nm = _name_cell(None, s.get("address"))[0]
            if s.get("address"):
                lines.append(clean(s.get("address")))
        rows.append(
            [
                (_host(s.get("domain") or "-"), None),
                (nm, None),
                (esc(", ".join(str(p) for p in s.get("ports") or [])), None),
                (esc(s.get("note") or ""), None),
            ]
        )
    cols = [
        _Col("Domain", "domain", cls="name"),
        _Col("Names", "names", cls="name"),
        _Col("Ports", "ports"),
        _Col("Note", "note", cls="detail"),
    ]
    plain = "\n".join(esc(line) for line in lines)  # line by line: esc would show the newlines as \x0a
    body = (
        _table(cols, rows)
        + '<details class="plain"><summary>Exact names, one per line (for a ticket)</summary>'
        + f'<pre class="mono">{plain}</pre></details>'
    )
    note = "What the install used, grouped by registrable domain, noise left out: exact names are the safest request."
    return _section("suggested", "Suggested allowlist", body, note)


def _noise(ctx: _Ctx) -> str:
    noise = ctx.doc.get("noise") or []
    if not noise:
        return _section("noise", "Noise", '<p class="empty">Nothing was filtered as noise.</p>')
    table = _table(
        [_Col("Name", "name", cls="name"), _Col("Kind", "kind"), _Col("Why", "reason", cls="detail")],
        [
            [
                (_host(n.get("name")), None),
                (f'<span class="tag">{esc(n.get("kind"))}</span>', None),
                (esc(n.get("reason")), None),
            ]
            for n in noise
        ],
    )
    body = f"<details><summary>{len(noise):,} name(s) filtered as noise: show</summary>{table}</details>"
    return _section("noise", "Noise", body, "Names left out of the suggestion and the allowlist comparison, and why.")


def _parse_errors(ctx: _Ctx) -> str:
    errors = ctx.doc.get("parse_errors") or []
    if not errors:
        return ""
    shown = errors[:200]
    table = _table(
        [_Col("Frame", "frame", num=True), _Col("Layer", "layer"), _Col("Reason", "reason", cls="detail")],
        [[(_num(e.get("frame")), None), (esc(e.get("layer")), None), (esc(e.get("reason")), None)] for e in shown],
    )
    total = ctx.doc["capture"].get("parse_errors") or len(errors)
    more = f" (the first {len(shown):,} shown)" if total > len(shown) else ""
    body = f"<details><summary>{_num(total)} packet(s) could not be fully decoded{more}</summary>{table}</details>"
    return _section("parse-errors", "Parse errors", body)


def _footer(ctx: _Ctx) -> str:
    return (
        f"<footer><p>Generated by egress-analyzer (document schema {esc(ctx.doc.get('schema'))}). "
        "This page is self-contained: it loads nothing from the network. Names and other text taken from "
        "packets are shown literally; invisible or control characters appear as \\x.. or \\u.... escapes.</p>"
        "</footer></div>"
    )


# --------------------------------------------------------------------------------------------------
# Page


def _view(report: Report) -> dict[str, Any]:
    """The page's own view of the report: addresses shortened for display, the review grouped by section.
    Timestamps stay integer nanoseconds, as in the tables; the page formats them."""
    capture = dataclasses.asdict(report.capture)
    doc: dict[str, Any] = {"schema": SCHEMA_VERSION, "capture": capture, "warnings": list(report.warnings)}
    for name in TABLE_ORDER:
        doc[name] = [dict(r) for r in report.table(name)]
    doc.update(tail(report))
    for r in doc["summary"]:
        r["address"] = short_list(r["addresses"])  # the name of a row without one (timeline, charts)
    if report.allowlist is not None:

        def rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**r, "address": None if r["fqdn"] is not None else short_list(r["addresses"])} for r in items]

        doc["diff"] = {
            "dialect": report.allowlist.dialect,
            "missing": rows(report.missing()),
            "excess": doc["excess"],
            "covered": rows(report.covered()),
            "blocked_but_allowed": rows(report.blocked_but_allowed()),
            "dns_only": [{"fqdn": r["qname"], "qtype": r["qtype"], "answers": r["answers"]} for r in report.dns_only()],
            "lint": doc["lint"],
        }
    doc["noise"] = [{"name": noise_label(n), "kind": n.kind, "reason": n.reason} for n in report.noise()]
    for s in doc["suggested"]:
        s["address"] = short_list(s["addresses"])
    return doc


def render(report: Report) -> str:
    doc = _view(report)
    ctx = _Ctx(
        doc=doc,
        noise_rows={i for i, r in enumerate(report.summary.rows) if r["noise"] is not None},
        start_ns=report.capture.first_ts,
        noise_names={str(n.get("name")): str(n.get("kind")) for n in doc["noise"]},
    )
    path = str(doc["capture"].get("path") or "")
    base = path.replace("\\", "/").rsplit("/", 1)[-1] or path
    body = "".join(
        [
            _header(ctx),
            _cards(ctx),
            _nav(ctx),
            _warnings(ctx),
            _summary(ctx),
            _logs(ctx, kql(report)),
            _timeline(ctx),
            _top(ctx),
            _allowlist(ctx),
            _dns(ctx),
            _suggested(ctx),
            _noise(ctx),
            _parse_errors(ctx),
            _footer(ctx),
        ]
    )
    return _page(page_title(base), body)


def _page(title: str, body: str) -> str:
    """The self-contained page: its own style and script, allowed by hash and nothing else."""
    csp = (
        "default-src 'none'; "
        f"style-src 'sha256-{_sha256(STYLE)}'; "
        f"script-src 'sha256-{_sha256(SCRIPT)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)}</title>"
        f"<style>{STYLE}</style></head>"
        f"<body>{body}<script>{SCRIPT}</script></body></html>\n"
    )


def render_lint(report: LintReport) -> str:
    """``egress lint --format html``: the allowlist's findings on a page of their own."""
    info = report.allowlist
    files = ", ".join(_host(f) for f in info.files)
    head = (
        f'<div class="wrap"><header><h1>Allowlist lint</h1><p class="note">{files}: {info.entries:,} entries, '
        f"<strong>{esc(info.dialect)}</strong> wildcard rules, {len(report.lint):,} findings.</p></header>"
    )
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in info.notes)
    cols = [
        _Col("Entry", "entry", cls="name"),
        _Col("Where", "line"),
        _Col("Problem", "problem"),
        _Col("Detail", "detail", cls="detail"),
    ]
    rows = [
        [
            (_host(f["entry"]), None),
            (_where(f["file"], f["line"]), None),
            (esc(f["problem"]), None),
            (esc(f["detail"]), None),
        ]
        for f in report.lint
    ]
    table = _table(cols, rows, table_id="lint-table", sortable=True) if rows else '<p class="empty">No findings.</p>'
    return _page(
        f"Allowlist lint: {', '.join(info.files)}", head + notes + _section("lint", "Findings", table) + "</div>"
    )


def page_title(capture_name: str) -> str:
    return f"Egress report: {clean(capture_name)}"


def _static(name: str) -> str:
    """A file of ``reports/static``: shipped as package data (pyproject.toml), so a wheel carries it too."""
    return (resources.files("reports") / "static" / name).read_text(encoding="utf-8")


# Read once per process, at import.  Each goes on a line of its own after its opening tag; the
# Content-Security-Policy hashes are taken over exactly this text.
STYLE = "\n" + _static("report.css")
SCRIPT = "\n" + _static("report.js")
