"""One log (or several) into a :class:`Report`, streamed: records are folded as they are read.

A night of firewall logs repeats the same few hundred (client, name, port, action, rule) tuples
millions of times.  :class:`Fold` keeps one observations row per distinct tuple, adding up
``count`` and ``bytes`` and widening ``first_seen``/``last_seen``, so memory follows the number of
distinct connections' kinds, not the log's size (``Fold.rows_held`` says how many, for the flat
memory test).  The client's port is kept only on a row that stands for one record: a port says
which connection, and a row of many connections has many.  DNS lookups go to the dns table, one
row per (name, type), as a capture's do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from analyzer.errors import CaptureError
from analyzer.frames import Table
from analyzer.report import CaptureInfo, Report, SourceInfo
from analyzer.sources import FORMATS, detect, head_text
from analyzer.sources.records import OK, Tally
from analyzer.sources.text import LogText, peek
from analyzer.summary import summarize
from analyzer.verdicts import action

_KEY = (
    "protocol", "port", "fqdn", "address", "verdict", "source", "via", "detail",
    "source_kind", "client", "verdict_reason", "rule", "confirmed", "conflict",
)  # fmt: skip


_LOOKUP_ONLY = frozenset(("qtype", "rcode", "server", "answers"))  # records.dns_lookup's keys beyond OBSERVATIONS


class Fold:
    """Observations and DNS lookups, folded as they stream in."""

    def __init__(self) -> None:
        self.rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.dns: dict[tuple[str, str | None], dict[str, Any]] = {}

    @property
    def rows_held(self) -> int:
        return len(self.rows) + len(self.dns)

    def add(self, row: dict[str, Any]) -> None:
        if "qtype" in row:  # a lookup (records.dns_lookup)
            self._lookup(row)
            if row["verdict"] == OK:
                return
            # A lookup a DNS firewall denied is also a denial of the name: an observation, without the
            # lookup's own keys (not observation columns).
            row = {k: v for k, v in row.items() if k not in _LOOKUP_ONLY}
        key = tuple(row[k] for k in _KEY)
        held = self.rows.get(key)
        if held is None:
            self.rows[key] = row
            return
        held["count"] += row["count"]
        held["bytes"] += row["bytes"]
        held["client_port"] = None
        first, last = row["first_seen"], row["last_seen"]
        if first is not None and (held["first_seen"] is None or first < held["first_seen"]):
            held["first_seen"] = first
        if last is not None and (held["last_seen"] is None or last > held["last_seen"]):
            held["last_seen"] = last

    def _lookup(self, row: dict[str, Any]) -> None:
        name, qtype = row["fqdn"], row.get("qtype")
        d = self.dns.get((name, qtype))
        ts = row["first_seen"]
        if d is None:
            d = self.dns[(name, qtype)] = {
                "qname": name,
                "qtype": qtype,
                "rcode": None,
                "answers": [],
                "cname_chain": [],
                "count": 0,
                "queries": 0,
                "responses": 0,
                "unanswered": 0,
                "servers": [],
                "service": "dns",
                "first_seen": ts,
                "last_seen": ts,
                "noise": None,
                "noise_reason": None,
                "status": None,
            }
        d["count"] += 1
        d["queries"] += 1
        if row.get("rcode"):
            d["rcode"] = row["rcode"]
            d["responses"] += 1
        else:
            d["unanswered"] += 1
        for a in row.get("answers") or ():
            if a not in d["answers"] and len(d["answers"]) < 64:
                d["answers"].append(a)
        if ts is not None:
            d["first_seen"] = ts if d["first_seen"] is None else min(d["first_seen"], ts)
            d["last_seen"] = ts if d["last_seen"] is None else max(d["last_seen"], ts)

    def observations(self) -> list[dict[str, Any]]:
        return sorted(self.rows.values(), key=_order)

    def dns_rows(self) -> list[dict[str, Any]]:
        rows = [dict(d, answers=sorted(d["answers"])) for d in self.dns.values()]
        return sorted(rows, key=lambda d: (d["qname"], d["qtype"] or ""))


def _order(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["first_seen"] or 0, r["fqdn"] or "", r["address"] or "", r["port"], r["client"] or "")


def read_rows(stream: BinaryIO, label: str, fmt: str | None = None) -> tuple[Iterator[dict[str, Any]], Tally, LogText]:
    """The observation rows of one log, one at a time, and the tally they fill as they are read."""
    raw, stream = peek(stream)
    name = fmt or detect(raw)
    if name is None or name == "capture" or name not in FORMATS:
        raise CaptureError(f"{label}: not a log egress reads ({', '.join(FORMATS)})")
    _, compressed = head_text(raw)
    text = LogText(stream, compressed)
    tally = Tally(path=label, format=name, compressed=compressed)

    def rows() -> Iterator[dict[str, Any]]:
        for row in FORMATS[name].read(text, tally):
            tally.records += 1
            yield row

    return rows(), tally, text


def read_log(stream: BinaryIO, label: str, fmt: str | None = None, size: int | None = None) -> Report:
    """One log into a report (before its review)."""
    rows, tally, text = read_rows(stream, label, fmt)
    fold = Fold()
    for row in rows:
        fold.add(row)
    return log_report(fold, [_finish(tally, text)], label, size)


def no_verdict(tally: Tally) -> str:
    """Why a log that was read gives nothing: records there were, but none with a verdict."""
    return f"{tally.path}: no {tally.format} record with a verdict: {next(iter(tally.notes))}"


def _finish(tally: Tally, text: LogText, others: bool = False) -> Tally:
    """The tally of a log read to its end. A log with no record is refused, unless it is read beside
    ``others`` (a capture or more logs) and its records merely held no verdict, as a diagnostic setting's
    container of flow traces does: its notes say so among the warnings, and the others are the report."""
    if tally.records == 0 and not (tally.notes and others):
        if tally.notes:
            raise CaptureError(no_verdict(tally))
        first = f" (line {tally.unparsed_lines[0][0]}: {tally.unparsed_lines[0][1]})" if tally.unparsed_lines else ""
        raise CaptureError(f"{tally.path}: no {tally.format} record could be read{first}")
    if tally.truncated:
        tally.warnings.append(f"{tally.path}: the last line (line {text.line_no or '?'}) is cut off: ignored")
    if text.gzip_cut:
        tally.warnings.append(f"{tally.path}: the gzip stream ends early: the log is cut")
    return tally


def source_info(t: Tally) -> SourceInfo:
    return SourceInfo(
        path=t.path,
        format=t.format,
        compressed=t.compressed,
        records=t.records,
        unparsed=t.unparsed,
        unparsed_lines=tuple(t.unparsed_lines),
        truncated=t.truncated,
        first_ts=t.first_ts,
        last_ts=t.last_ts,
        tables=tuple(sorted(t.tables)),
    )


def log_report(fold: Fold, tallies: list[Tally], label: str, size: int | None) -> Report:
    observed = Table("observations", fold.observations())
    firsts = [t.first_ts for t in tallies if t.first_ts is not None]
    lasts = [t.last_ts for t in tallies if t.last_ts is not None]
    capture = CaptureInfo(
        path=label,
        format="+".join(dict.fromkeys(t.format for t in tallies)),
        compressed=any(t.compressed for t in tallies),
        nanosecond=True,
        link_types=(),
        link_type_names=(),
        packets=sum(t.records for t in tallies),  # a log's records stand where a capture's packets do
        bytes=size or 0,
        first_ts=min(firsts) if firsts else None,
        last_ts=max(lasts) if lasts else None,
        truncated=any(t.truncated for t in tallies),
        parse_errors=sum(t.unparsed for t in tallies),
        non_ip_packets=0,
        undecoded_link_type_packets=0,
        flows=len(observed),
        fragments_dropped=0,
    )
    errors = [{"frame": line, "layer": t.format, "reason": why} for t in tallies for line, why in t.unparsed_lines]
    return Report(
        capture=capture,
        warnings=tuple(w for t in tallies for w in t.summary_warnings()),
        summary=summarize(observed),
        flows=Table("flows", []),
        http=Table("http", []),
        dns=Table("dns", fold.dns_rows()),
        parse_errors=Table("parse_errors", errors),
        observations=observed,
        excess=Table("excess", []),
        lint=Table("lint", []),
        sources=tuple(source_info(t) for t in tallies),
        log_verdicts=verdict_table(observed.rows),
    )


def verdict_table(rows: Iterable[dict[str, Any]]) -> Table:
    """What logs said per summary row (the summary's key): rule, reason, confirmed and conflicting."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        if r.get("source_kind") in (None, "capture") and r.get("confirmed") is None and r.get("rule") is None:
            continue
        name = r["fqdn"] if r["fqdn"] is not None else r["address"]
        key = (r["protocol"], r["port"], name, r["verdict"], r["fqdn"] is None)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"count": 0, "rules": {}, "reasons": {}, "confirmed": 0, "conflicts": 0,
                               "conflict": None, "kinds": set(), "address": r["address"]}  # fmt: skip
        g["count"] += r["count"]
        for field, bucket in (("rule", "rules"), ("verdict_reason", "reasons")):
            if r.get(field):
                g[bucket][r[field]] = g[bucket].get(r[field], 0) + r["count"]
        if r.get("confirmed") is True:
            g["confirmed"] += r["count"]
        if r.get("conflict"):
            g["conflicts"] += r["count"]
            g["conflict"] = g["conflict"] or r["conflict"]
        g["kinds"].add(r.get("source_kind") or "capture")
    out = []
    for (protocol, port, name, verdict, unnamed), g in groups.items():
        out.append(
            {
                "protocol": protocol,
                "port": int(port),
                "fqdn": None if unnamed else name,
                "address": name if unnamed else None,
                "verdict": verdict,
                "action": action(str(verdict)),
                "count": g["count"],
                "rule": _most(g["rules"]),
                "verdict_reason": _most(g["reasons"]),
                "confirmed": g["confirmed"],
                "conflicts": g["conflicts"],
                "conflict": g["conflict"],
                "source_kinds": sorted(g["kinds"]),
            }
        )
    out.sort(key=lambda r: (r["fqdn"] or r["address"] or "", r["protocol"], r["port"], r["verdict"]))
    return Table("log_verdicts", out)


def _most(counts: dict[str, int]) -> str | None:
    best, top = None, 0
    for value, n in counts.items():
        if n > top:
            best, top = value, n
    return best
