"""A capture and the firewall's log of the same install, made one account of each connection.

For every connection of the capture, the log's record of it is looked for: the same client port
(the 5-tuple) when both know it, else the same client, name (or address) and port within
:data:`WINDOW` of the connection.  When the two agree on the Action (the capture's reset or
silence and the log's Deny, or both allowed) the capture's row is marked ``confirmed`` and takes
the log's ``rule`` and ``verdict_reason``; when they disagree it is marked ``confirmed=False``
with the log's Action in ``conflict`` (and a warning says how many).  The capture's own rows are
kept as they are, so the summary and the allowlist diff do not change; log records no captured
connection matched (another node, a connection before the capture started) are added as rows of
their own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from analyzer.frames import Table
from analyzer.report import Report
from analyzer.sources.build import verdict_table
from analyzer.sources.records import OK
from analyzer.summary import summarize
from analyzer.verdicts import action

WINDOW = 120 * 1_000_000_000  # ns: a log's clock and a capture's can differ by a minute or two


def _denied(row: dict[str, Any]) -> bool:
    verdict = str(row["verdict"])
    return verdict != OK and action(verdict) == "Deny"


def combine(capture: Report, logs: list[Report]) -> Report:
    """The capture's report with the logs' rows reconciled into it (before the review)."""
    log_rows = [dict(r) for log in logs for r in log.observations.rows]
    by_name: dict[tuple[int, str], list[dict[str, Any]]] = {}
    by_address: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in log_rows:
        if r["fqdn"]:
            by_name.setdefault((r["port"], r["fqdn"]), []).append(r)
        if r["address"]:
            by_address.setdefault((r["port"], r["address"]), []).append(r)
    matched: set[int] = set()
    rows: list[dict[str, Any]] = []
    agree = disagree = 0
    for c in capture.observations.rows:
        c = dict(c)
        candidates = [
            *(by_name.get((c["port"], c["fqdn"]), []) if c["fqdn"] else []),
            *(by_address.get((c["port"], c["address"]), []) if c["address"] else []),
        ]
        log = _best(c, candidates)
        if log is not None:
            matched.add(id(log))
            if _denied(c) == _denied(log):
                c["confirmed"] = True
                agree += 1
            else:
                c["confirmed"] = False
                c["conflict"] = "Deny" if _denied(log) else "Allow"
                disagree += 1
            c["rule"] = log["rule"]
            c["verdict_reason"] = c.get("verdict_reason") or log["verdict_reason"]
        rows.append(c)
    rows += [r for r in log_rows if id(r) not in matched]
    observed = Table("observations", rows)
    warnings = list(capture.warnings) + [w for log in logs for w in log.warnings]
    if disagree:
        warnings.append(
            f"{disagree} connection(s) where the capture and the log disagree on the Action "
            f"(see the log verdicts' conflict column); {agree} agree"
        )
    return dataclasses.replace(
        capture,
        warnings=tuple(warnings),
        summary=summarize(observed),
        observations=observed,
        parse_errors=Table("parse_errors", capture.parse_errors.rows + [e for log in logs for e in log.parse_errors]),
        sources=capture.sources + tuple(s for log in logs for s in log.sources),
        log_verdicts=verdict_table(rows),
    )


def _best(c: dict[str, Any], candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    best = None
    for r in candidates:
        if r["client"] and c.get("client") and r["client"] != c["client"]:
            continue
        if r["client_port"] is not None and c.get("client_port") is not None:
            if r["client_port"] == c["client_port"]:
                return r  # the 5-tuple: this very connection
            continue
        if not _overlaps(c, r):
            continue
        best = best or r
    return best


def _overlaps(c: dict[str, Any], r: dict[str, Any]) -> bool:
    if None in (c["first_seen"], c["last_seen"], r["first_seen"], r["last_seen"]):
        return True  # a log without times (bare msg_s lines): name and port must do
    return bool(r["first_seen"] - WINDOW <= c["last_seen"] and r["last_seen"] + WINDOW >= c["first_seen"])
