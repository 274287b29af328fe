"""The review of an analysis: noise, the allowlist diff, lint and suggestions, written into columns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from analyzer.allowlist.model import Allowlist
from analyzer.allowlist.suggest import suggest
from analyzer.frames import Table
from analyzer.noise import NoiseRules, classify
from analyzer.options import Options
from analyzer.report import Suggestion


@dataclass(frozen=True, slots=True)
class Review:
    excess: Table
    lint: Table
    suggested: tuple[Suggestion, ...]


def review(
    summary: Table, dns: Table, allowlist: Allowlist | None, options: Options, link_broadcast: Iterable[str] = ()
) -> Review:
    """Fill the review columns of ``summary`` and ``dns`` (noise; with an allowlist, status and entry);
    return the tables and suggestions that stand on their own.  ``link_broadcast``: addresses that
    connections reached through a link-layer broadcast or multicast (subnet broadcasts)."""
    rules = NoiseRules(include=options.include_noise, internal_domains=options.internal_domains)
    resolvers: set[str] = set()
    for row in dns:
        if row["service"] == "dns":
            resolvers.update(map(str, row["servers"]))
    classify(summary, dns, rules, resolvers, link_broadcast).apply(summary, dns)
    excess: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    if allowlist is not None:
        # Imported here: a run without an allowlist needs neither (nor the matchers they load).
        from analyzer.allowlist.diff import diff
        from analyzer.allowlist.lint import lint

        excess = diff(summary, dns, allowlist, options.dialect)
        findings = lint(allowlist, options.dialect)
    return Review(Table("excess", excess), Table("lint", findings), suggest(summary))
