"""Noise, suggestions and the allowlist diff on top of an analysis: one call for every front end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analyzer.allowlist.dialects import DEFAULT_DIALECT
from analyzer.allowlist.diff import diff
from analyzer.allowlist.lint import lint
from analyzer.allowlist.model import Allowlist
from analyzer.allowlist.suggest import suggest
from analyzer.noise import NoiseRules, classify
from analyzer.pipeline import Analysis


@dataclass
class ReviewOptions:
    dialect: str = DEFAULT_DIALECT
    include_noise: frozenset[str] = frozenset()
    internal_domains: tuple[str, ...] = ()
    allowlist: Allowlist | None = None
    allowlist_files: list[str] = field(default_factory=list)


def review(analysis: Analysis, options: ReviewOptions) -> None:
    """Fill ``analysis.noise``, ``analysis.suggested`` and, with an allowlist, ``analysis.diff``."""
    summary, dns = analysis.summary, analysis.dns
    rules = NoiseRules(include=options.include_noise, internal_domains=options.internal_domains)
    resolvers: set[str] = set()
    for row in dns.where(service="dns"):
        resolvers.update(str(s) for s in row["servers"])
    verdicts = classify(summary, dns, rules, resolvers)
    noise_rows = {i for i, _, _ in verdicts.summary_rows}
    analysis.noise = verdicts.table(summary)
    analysis.noise_rows = noise_rows
    analysis.suggested = suggest(summary, noise_rows)
    if options.allowlist is not None:
        d = diff(summary, dns, options.allowlist, options.dialect, noise_rows, set(verdicts.names))
        d.lint = lint(options.allowlist, options.dialect)
        analysis.diff = d.as_dict()
        analysis.allowlist = {
            "files": options.allowlist_files,
            "formats": options.allowlist.formats,
            "entries": len(options.allowlist.entries),
            "notes": options.allowlist.notes,
            "dialect": options.dialect,
        }


def lint_document(allowlist: Allowlist, dialect: str) -> dict[str, Any]:
    return {"dialect": dialect, "entries": len(allowlist.entries), "lint": lint(allowlist, dialect)}
