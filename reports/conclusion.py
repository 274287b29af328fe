"""The answer first: what most likely broke the install, what to add to the request, what to remove.

Every renderer that opens with a conclusion (terminal, Markdown) takes it from here, so the
wording is the same in both; the tables that follow give the evidence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from analyzer.allowlist.formats.markdown import change_request
from analyzer.firewalls.destinations import is_dns_name
from analyzer.protocols import name_only, transport_of
from analyzer.report import Report
from reports.display import label


@dataclass(frozen=True, slots=True)
class Blocked:
    name: str
    where: str  # "UDP/123"
    verdict: str
    why: str  # what the allowlist says about it ("" without an allowlist)


@dataclass(frozen=True, slots=True)
class Conclusion:
    blocked: tuple[Blocked, ...]
    add: tuple[str, ...]  # request-document lines for the missing destinations, ready to paste
    remove: tuple[str, ...]  # entries no connection used
    lint: tuple[tuple[str, int], ...]  # (problem, count), most frequent first
    missing: int  # summary rows missing from the allowlist
    has_allowlist: bool


def conclude(report: Report) -> Conclusion:
    blocked = []
    for r in report.blocked():
        where = f"{transport_of(r['protocol'])}/{r['port']}"
        if r["status"] == "missing":
            why = "missing from the request"
        elif r["status"] == "blocked-but-allowed":
            by = "" if r["entry"] == r["fqdn"] else f" ({r['entry']})"
            why = f"allowed (line {r['entry_line']}{by}) yet blocked: rule not in force?"
        else:
            why = ""
        blocked.append(Blocked(str(label(r["fqdn"], r["addresses"])), where, r["verdict"], why))
    wanted: list[tuple[str, str, int]] = []
    for r in report.missing():
        if name_only(r["protocol"]):
            continue  # a lookup a DNS firewall blocked: no port is known to ask for (the blocked list names it)
        transport, port = transport_of(r["protocol"]), int(r["port"])
        if r["fqdn"] is not None:
            if is_dns_name(r["fqdn"]):
                wanted.append((r["fqdn"], transport, port))
        else:
            wanted += [(a, transport, port) for a in r["addresses"]]
    add = tuple(line for line in change_request(wanted) if line)
    remove = tuple(str(e["entry"]) for e in report.excess)
    lint = tuple(Counter(str(f["problem"]) for f in report.lint).most_common())
    return Conclusion(tuple(blocked), add, remove, lint, len(report.missing()), report.allowlist is not None)


def headline(c: Conclusion) -> str:
    """One sentence: the state of the install's egress."""
    if not c.blocked:
        head = "No connection was blocked in this capture"
    else:
        n = len(c.blocked)
        head = f"{n} destination{'s' if n != 1 else ''} blocked: the likely cause of a failed install"
    if c.has_allowlist:
        head += (
            f"; the request lacks {_count(c.missing, 'destination')}"
            if c.missing
            else "; every destination is in the request"
        )
    return head + "."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"
