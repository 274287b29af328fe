"""Lint an allowlist on its own: risky, redundant and invalid entries, with a fix for each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analyzer.allowlist.dialects import is_wildcard, matcher_or_never
from analyzer.allowlist.index import EntryIndex
from analyzer.allowlist.model import Allowlist, Entry
from analyzer.allowlist.psl import is_public_suffix, private_suffixes_under


def _base(entry: Entry, dialect: str) -> str:
    """The domain a wildcard hangs from: ``*.x.com``, ``*x.com``, ``.x.com``, ``**.x.com`` -> ``x.com``."""
    return entry.pattern.lstrip("*").lstrip(".")


def _covers(a: Entry, b: Entry) -> bool:
    """Does ``b`` allow at least every protocol and port ``a`` allows?"""
    if b.ports and (not a.ports or not all(any(r.low <= p.low and p.high <= r.high for r in b.ports) for p in a.ports)):
        return False
    return "ANY" in b.protocols or a.protocols <= b.protocols


def _samples(entry: Entry, dialect: str) -> list[str]:
    """Names a wildcard entry matches, to test whether another entry matches them all."""
    base = _base(entry, dialect)
    p = entry.pattern
    if not is_wildcard(dialect, p):
        return [p]
    if p.startswith("*.") or p.startswith("**."):
        return [f"a.{base}", f"a.b.{base}"] if dialect not in ("cilium",) or p.startswith("**.") else [f"a.{base}"]
    if p.startswith("*"):
        return [base, f"a{base}", f"a.{base}"] if dialect == "azure" else [base, f"a{base}"]
    if p.startswith("."):
        return [base, f"a.{base}", f"a.b.{base}"]
    return []


def lint(allowlist: Allowlist, dialect: str) -> list[dict[str, Any]]:
    """The findings as rows of the ``lint`` table (analyzer.schema column order)."""
    findings: list[dict[str, Any]] = []

    def add(e: Entry, problem: str, detail: str) -> None:
        findings.append({"entry": e.pattern, "file": e.file, "line": e.line, "problem": problem, "detail": detail})

    for bad in allowlist.invalid:  # lines the reader could not take as entries at all
        findings.append(
            {"entry": bad.text, "file": bad.file, "line": bad.line, "problem": "invalid", "detail": bad.problem}
        )
    entries = [e for e in allowlist.entries if e.kind in ("fqdn", "pattern")]
    valid: list[Entry] = []
    for e in entries:
        _, invalid = matcher_or_never(dialect, e.pattern)
        if invalid:
            add(e, "invalid", f"{invalid} ({dialect} dialect): the device would reject it or never match it")
        else:
            valid.append(e)
    for e in valid:
        p = e.pattern
        base = _base(e, dialect)
        if not is_wildcard(dialect, p):
            continue
        if p == "*":
            add(e, "matches-everything", "allows every destination: the rule is no allowlist at all")
            continue
        if is_public_suffix(base):
            add(
                e,
                "public-suffix-wildcard",
                f"wildcard over the public suffix .{base}: anyone can register a name under it",
            )
            continue
        if dialect in ("azure", "cilium") and p.startswith("*") and not p.startswith("*.") and not p.startswith("**."):
            add(
                e,
                "over-broad",
                f"{p} also matches names like evil{base} that merely end in {base}; "
                f"use {base} and *.{base}" + ("" if dialect == "azure" else " (one label in Cilium)"),
            )
        private = private_suffixes_under(base)
        if private:
            shown = ", ".join(private[:3]) + (f" and {len(private) - 3} more" if len(private) > 3 else "")
            add(
                e,
                "multi-tenant",
                f"{base} hosts content anyone can publish (Public Suffix List private section: {shown}); "
                "allow the exact names the install uses instead",
            )
    seen: dict[tuple[str, str, frozenset[str]], Entry] = {}
    for e in valid:
        key = (e.pattern, e.port_text(), e.protocols)
        if key in seen:
            first = seen[key]
            add(e, "duplicate", f"same as line {first.line} of {first.file}")
        else:
            seen[key] = e
    _redundant(valid, dialect, add)
    return findings


def _redundant(valid: list[Entry], dialect: str, add: Callable[[Entry, str, str], None]) -> None:
    """Flag each entry another one already covers: the first such entry in order is named.

    Entries alike in pattern, ports and protocols form one group, and only groups whose pattern
    matches all of an entry's samples (found through the index) are looked at, so this costs
    about entries x matching groups, not entries x entries.
    """
    groups: dict[tuple[str, str, frozenset[str]], list[int]] = {}
    for k, e in enumerate(valid):
        groups.setdefault((e.pattern, e.port_text(), e.protocols), []).append(k)
    members = list(groups.values())
    index = EntryIndex([valid[group[0]] for group in members], dialect)
    for e in valid:
        samples = _samples(e, dialect)
        if not samples:
            continue
        candidates = set(index.matches(samples[0]))
        for sample in samples[1:]:
            candidates.intersection_update(index.matches(sample))
        chosen: int | None = None  # position in ``valid`` of the first entry that covers e
        for g in candidates:
            group = members[g]
            other = valid[group[0]]
            if other.pattern == e.pattern or not _covers(e, other):
                continue
            first = group[0]
            # Two wildcards covering each other both ways would each be flagged; keep the narrower one.
            if is_wildcard(dialect, e.pattern) and is_wildcard(dialect, other.pattern):
                back = _samples(other, dialect)
                me, _ = matcher_or_never(dialect, e.pattern)
                if back and all(me(s) for s in back):
                    eligible = (k for k in group if not e.line < valid[k].line)
                    found = next(eligible, None)
                    if found is None:
                        continue
                    first = found
            if chosen is None or first < chosen:
                chosen = first
        if chosen is not None:
            other = valid[chosen]
            add(e, "redundant", f"already covered by {other.pattern} (line {other.line})")
