"""Drift: what changed between a night and its profile's baseline (the N nights stored before it).

Each name (the fqdn, or the address when no name was seen) is followed across the window, the
baseline nights then the night itself, with its ports, its verdict and its allowlist review:

- ``new``: seen tonight, on no baseline night;
- ``gone``: seen on the last baseline night, not tonight;
- ``flapping``: present and absent in turn across the window (two or more changes), reported
  instead of new/gone: a name that comes and goes;
- ``newly-blocked`` / ``unblocked``: blocked tonight and not on the last baseline night it was seen,
  or the reverse; ``regression`` replaces ``newly-blocked`` when the allowlist covers the name
  (review status ``blocked-but-allowed``: the rule is asked for, and the firewall blocks anyway);
- ``port-change``: tonight uses a port the name never used in the baseline;
- ``unused-entry``: an allowlist entry no capture used, tonight and on every baseline night.

The baseline is ``learning`` while fewer than N nights are stored, then ``stable``, or ``unstable``
when its own nights disagree (a name set or a block changed inside the window), as Harden-Runner
keeps per-job baselines.  A night with no baseline has nothing to compare: no items.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analyzer.frames import Table
from analyzer.history.model import LEARNING, STABLE, UNSTABLE
from analyzer.history.query import NameRow
from analyzer.history.suppressions import Suppression
from analyzer.report import Report

CLASS_ORDER = (
    "regression",
    "newly-blocked",
    "new",
    "port-change",
    "gone",
    "unblocked",
    "flapping",
    "unused-entry",
    "expired-suppression",
)
_UDP_PROTOCOLS = frozenset({"UDP", "QUIC", "DNS"})
_BLOCKED = "Deny"


def port_label(protocol: str, port: int) -> str:
    """The transport and port a firewall rule names: a TLS or HTTP connection is TCP, QUIC is UDP, so a
    name whose handshake starts being cut (TLS one night, bare TCP the next) keeps its port."""
    return f"{'UDP' if protocol in _UDP_PROTOCOLS else 'TCP'}/{port}"


@dataclass(slots=True)
class Seen:
    """A name on one night: its ports, the verdict that matters (a blocked one first) and its review."""

    ports: set[str]
    verdict: str
    action: str
    status: str | None
    entry: str | None
    entry_line: int | None
    count: int
    captures: set[str]

    @property
    def blocked(self) -> bool:
        return self.action == _BLOCKED


def by_night(rows: Sequence[NameRow]) -> dict[str, dict[str, Seen]]:
    """Night -> name -> what was seen of it; of several rows, a blocked one speaks for the name."""
    out: dict[str, dict[str, Seen]] = {}
    ranked = sorted(rows, key=lambda r: (r.night, r.name, r.action != _BLOCKED, r.verdict, r.protocol, r.port))
    for r in ranked:
        names = out.setdefault(r.night, {})
        seen = names.get(r.name)
        if seen is None:
            names[r.name] = Seen(
                {port_label(r.protocol, r.port)}, r.verdict, r.action, r.status, r.entry, r.entry_line, r.count,
                set(r.captures),
            )  # fmt: skip
        else:
            seen.ports.add(port_label(r.protocol, r.port))
            seen.count += r.count
            seen.captures.update(r.captures)
    return out


def report_rows(report: Report, night: str, capture: str) -> list[NameRow]:
    """One analysed capture's egress as the rows :func:`analyzer.history.query.egress_by_night` reads from
    the history (noise left out, a name is its fqdn or else its first address), as if it were ``night``."""
    counted: dict[tuple[str, str, int, str, str, str | None, str | None, int | None], int] = {}
    for r in report.summary.rows:
        if r["noise"] is not None:
            continue
        name: str | None = r["fqdn"] or next(iter(r["addresses"]), None)
        if name is None:  # neither name nor address: nothing a firewall rule could name
            continue
        key = (name, r["protocol"], r["port"], r["verdict"], r["action"], r["status"], r["entry"], r["entry_line"])
        counted[key] = counted.get(key, 0) + r["count"]
    return [  # by_night orders them
        NameRow(night, name, proto, port, verdict, action, status, entry, line, count, (capture,))
        for (name, proto, port, verdict, action, status, entry, line), count in counted.items()
    ]


def report_unused(report: Report) -> set[tuple[str, int | None]]:
    """The allowlist entries (text, line) the capture did not use, as the history keeps them per night."""
    return {(r["entry"], r["line"]) for r in report.excess.rows}


def baseline_state(baseline: Sequence[str], window: int, nights: dict[str, dict[str, Seen]]) -> str:
    if len(baseline) < window:
        return LEARNING
    shapes = [{(n, s.blocked) for n, s in nights.get(night, {}).items()} for night in baseline]
    return STABLE if all(shape == shapes[0] for shape in shapes) else UNSTABLE


def compare(
    night: str,
    baseline: Sequence[str],
    nights: dict[str, dict[str, Seen]],
    unused: dict[str, set[tuple[str, int | None]]],
    suppressions: Sequence[Suppression] = (),
) -> Table:
    """The drift items of ``night`` against ``baseline`` (nights oldest first), as a ``drift`` table."""
    items: list[dict[str, Any]] = []
    if baseline:
        window = [*baseline, night]
        tonight = nights.get(night, {})
        names = sorted({n for w in window for n in nights.get(w, {})})
        for name in names:
            items += _name_items(name, window, nights, tonight)
        items += _unused_items(night, baseline, unused, len(window))
    rows = [_suppressed(item, night, suppressions) for item in items]
    rows += [_expired(s) for s in suppressions if s.expired(night)]
    rows.sort(key=lambda r: (CLASS_ORDER.index(r["class"]), r["name"]))
    return Table("drift", rows)


def timeline(window: Sequence[str], nights: dict[str, dict[str, Seen]]) -> Table:
    """Per name and night of the window, for the HTML chart."""
    rows = []
    for night in window:
        for name, s in sorted(nights.get(night, {}).items()):
            rows.append(
                {
                    "name": name,
                    "night": night,
                    "ports": sorted(s.ports),
                    "verdict": s.verdict,
                    "action": s.action,
                    "count": s.count,
                }
            )
    return Table("timeline", rows)


def _name_items(
    name: str, window: list[str], nights: dict[str, dict[str, Seen]], tonight: dict[str, Seen]
) -> list[dict[str, Any]]:
    present = [name in nights.get(w, {}) for w in window]
    changes = sum(a != b for a, b in itertools.pairwise(present))
    seen_on = [w for w, p in zip(window, present, strict=True) if p]
    now = tonight.get(name)
    before = [nights[w][name] for w in window[:-1] if name in nights.get(w, {})]
    last = before[-1] if before else None
    latest = now or last
    assert latest is not None  # the name was seen on some night of the window
    base_ports = sorted(set().union(*(s.ports for s in before))) if before else []

    def item(cls: str, seen: Seen) -> dict[str, Any]:
        return {
            "class": cls,
            "name": name,
            "ports": sorted(seen.ports),
            "baseline_ports": base_ports,
            "first_night": seen_on[0],
            "last_night": seen_on[-1],
            "nights_seen": len(seen_on),
            "nights": len(window),
            "verdict": seen.verdict,
            "previous_verdict": None if last is None else last.verdict,
            "action": seen.action,
            "status": seen.status,
            "entry": seen.entry,
            "entry_line": seen.entry_line,
            "captures": sorted(seen.captures),
            "suppressed": False,
            "reason": None,
            "expires": None,
        }

    out = []
    if changes >= 2:
        out.append(item("flapping", latest))
    elif now is not None and last is None:
        out.append(item("new", now))
    elif now is None and present[-2]:
        out.append(item("gone", latest))
    if now is not None and last is not None:
        if now.blocked and not last.blocked:
            out.append(item("regression" if now.status == "blocked-but-allowed" else "newly-blocked", now))
        elif last.blocked and not now.blocked:
            out.append(item("unblocked", now))
        if now.ports - set(base_ports):
            out.append(item("port-change", now))
    return out


def _unused_items(
    night: str, baseline: Sequence[str], unused: dict[str, set[tuple[str, int | None]]], window: int
) -> list[dict[str, Any]]:
    always = set(unused.get(night, set()))
    for b in baseline:
        always &= unused.get(b, set())
    return [
        {
            "class": "unused-entry",
            "name": entry,
            "ports": [],
            "baseline_ports": [],
            "first_night": None,
            "last_night": None,
            "nights_seen": 0,
            "nights": window,
            "verdict": None,
            "previous_verdict": None,
            "action": None,
            "status": None,
            "entry": entry,
            "entry_line": line,
            "captures": [],
            "suppressed": False,
            "reason": None,
            "expires": None,
        }
        for entry, line in sorted(always, key=lambda e: (e[1] or 0, e[0]))
    ]


def _suppressed(item: dict[str, Any], night: str, suppressions: Sequence[Suppression]) -> dict[str, Any]:
    for s in suppressions:
        if not s.expired(night) and s.matches(item["name"], item["class"]):
            return {**item, "suppressed": True, "reason": s.reason, "expires": s.expires}
    return item


def _expired(s: Suppression) -> dict[str, Any]:
    return {
        "class": "expired-suppression",
        "name": s.pattern,
        "ports": [],
        "baseline_ports": [],
        "first_night": None,
        "last_night": None,
        "nights_seen": 0,
        "nights": 0,
        "verdict": None,
        "previous_verdict": None,
        "action": None,
        "status": None,
        "entry": None,
        "entry_line": None,
        "captures": [],
        "suppressed": False,
        "reason": s.reason,
        "expires": s.expires,
    }
