"""The words of the morning report, shared by every renderer; plain text, each renderer escapes it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from analyzer.history.model import NightReport

CLASS_MEANING = {
    "regression": "allowed by the allowlist, now blocked",
    "newly-blocked": "now blocked",
    "new": "not seen on any baseline night",
    "port-change": "uses a port it never used before",
    "gone": "seen on the last baseline night, not tonight",
    "unblocked": "blocked before, now gets through",
    "flapping": "comes and goes across the nights",
    "unused-entry": "allowlist entry no capture used on any night",
    "expired-suppression": "a suppression past its expiry: review or renew it",
}


def ports(values: list[str] | None) -> str:
    return ", ".join(values or []) or "-"


def detail(item: dict[str, Any]) -> str:
    """What the item says, in one sentence (plain text: escape it for the medium)."""
    cls = item["class"]
    on = ports(item["ports"])
    if cls == "new":
        text = f"first seen {item['last_night']} on {on}, {item['verdict']}"
    elif cls == "gone":
        text = f"last seen {item['last_night']} on {on}"
    elif cls in ("newly-blocked", "unblocked"):
        text = f"{on} now {item['verdict']}, was {item['previous_verdict']}"
    elif cls == "regression":
        text = f"{on} now {item['verdict']}, was {item['previous_verdict']}; allowed by {item['entry']}"
        if item["entry_line"] is not None:
            text += f" (line {item['entry_line']})"
    elif cls == "port-change":
        text = f"now {on}; baseline {ports(item['baseline_ports'])}"
    elif cls == "flapping":
        text = f"seen on {item['nights_seen']} of {item['nights']} nights, last {item['last_night']}"
    elif cls == "unused-entry":
        line = "" if item["entry_line"] is None else f" (line {item['entry_line']})"
        text = f"entry{line} matched no connection on any of the {item['nights']} nights"
    else:
        return f"expired {item['expires']}: {item['reason']}"
    if item["suppressed"]:
        text += f" [suppressed until {item['expires']}: {item['reason']}]"
    return text


def headline(report: NightReport, fail_on: tuple[str, ...] = ()) -> str:
    counts = Counter(r["class"] for r in report.drift.rows)
    what = ", ".join(f"{n} {cls}" for cls, n in counts.items()) or "no drift"
    base = ", ".join(report.baseline) or "none"
    text = (
        f"Profile {report.profile}, night {report.night}: {what}. Baseline {report.baseline_state} "
        f"({len(report.baseline)} of {report.baseline_nights} nights: {base})."
    )
    errors = len(report.errors())
    if errors:
        text += f" {errors} capture(s) could not be read."
    if fail_on:
        gated = len(report.gated(fail_on))
        text += f" Gate --fail-on {'/'.join(fail_on)}: {gated} failing."
    return text


def captures_line(report: NightReport) -> str:
    n = len(report.captures)
    return (
        f"{n} capture(s) in run {report.run}: {report.analysed} analysed, {report.reused} reused "
        f"(same SHA-256), {len(report.errors())} unreadable"
    )
