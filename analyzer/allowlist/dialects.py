"""How each firewall really matches a destination pattern against a name.

A glob is wrong for every one of them.  Each vendor's rule, with the documentation it follows,
lives in its module under ``analyzer.firewalls`` (azure, squid, aws, cilium, calico); ``exact``
(no wildcards: a pattern matches the identical name only) in ``analyzer.allowlist.patterns``.
This module is the one place callers ask, by dialect name.  The tests in
tests/analyzer/allowlist/test_dialects.py hold the vendors' own examples.
"""

from __future__ import annotations

from functools import cache, lru_cache

from analyzer import firewalls
from analyzer.allowlist.patterns import EXACT, Dialect, InvalidPattern, Matcher, never

__all__ = [
    "DEFAULT_DIALECT",
    "DIALECTS",
    "InvalidPattern",
    "Matcher",
    "compile_pattern",
    "exact_name",
    "is_wildcard",
    "matcher_or_never",
    "matches",
]

DIALECTS: tuple[str, ...] = (*firewalls.DIALECT_HOMES, EXACT.name)
DEFAULT_DIALECT = "azure"


@cache
def _dialect(name: str) -> Dialect | None:
    """The dialect called ``name``, its vendor module imported on first use; None if unknown."""
    if name == EXACT.name:
        return EXACT
    return firewalls.dialect(name) if name in firewalls.DIALECT_HOMES else None


@lru_cache(maxsize=65536)
def compile_pattern(dialect: str, pattern: str) -> Matcher:
    """A matcher for ``pattern`` (lower-case) in ``dialect``; raises InvalidPattern."""
    found = _dialect(dialect)
    if found is None:
        raise ValueError(f"unknown dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")
    return found.compile(pattern.lower().rstrip("."))


def matcher_or_never(dialect: str, pattern: str) -> tuple[Matcher, str | None]:
    """The matcher, or one that matches nothing plus the reason the pattern is invalid."""
    try:
        return compile_pattern(dialect, pattern), None
    except InvalidPattern as exc:
        return never, str(exc)


def matches(dialect: str, pattern: str, name: str) -> bool:
    return matcher_or_never(dialect, pattern)[0](name.lower().rstrip("."))


def is_wildcard(dialect: str, pattern: str) -> bool:
    found = _dialect(dialect)
    return found.is_wildcard(pattern) if found is not None else "*" in pattern


def exact_name(dialect: str, pattern: str) -> str | None:
    """The single name ``pattern`` matches when it has no wildcard in ``dialect``; None for a
    wildcard or an invalid pattern.  Lets a caller look such entries up by name instead of
    trying every matcher on every name."""
    try:
        compile_pattern(dialect, pattern)
    except (InvalidPattern, ValueError):
        return None
    name = pattern.lower().rstrip(".")
    return None if is_wildcard(dialect, name) else name
