"""What every wildcard dialect shares: a matcher, the label checks, and the dialect record.

The vendors' own rules live with their readers in ``analyzer.firewalls``; ``exact`` (no
wildcards at all) belongs to no vendor and lives here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Matcher = Callable[[str], bool]

_LABEL_CHARS = re.compile(r"^[a-z0-9_-]+$")


class InvalidPattern(ValueError):
    """The pattern is not valid in this dialect (so the device would reject or never match it)."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one firewall reads a destination pattern.

    ``compile`` takes a lower-case pattern without a trailing dot and returns its matcher or raises
    InvalidPattern.  ``leading_dot`` says the dialect marks "and every subdomain" with a leading
    dot (squid, AWS) rather than with ``*``.
    """

    name: str
    compile: Callable[[str], Matcher]
    leading_dot: bool = False

    def is_wildcard(self, pattern: str) -> bool:
        return pattern.startswith(".") if self.leading_dot else "*" in pattern


def never(_name: str) -> bool:
    return False


def always(_name: str) -> bool:
    return True


def check_labels(pattern: str, allow_star: bool = False) -> None:
    if not pattern.strip("."):
        raise InvalidPattern("empty pattern")
    if len(pattern) > 253:
        raise InvalidPattern("longer than 253 characters")
    body = pattern.lstrip(".")
    for label in body.split("."):
        if not label:
            raise InvalidPattern("empty label (two dots in a row or a trailing dot)")
        if len(label) > 63:
            raise InvalidPattern(f"label {label[:20]}... longer than 63 characters")
        check = label.replace("*", "") if allow_star else label
        if check and not _LABEL_CHARS.match(check):
            raise InvalidPattern(f"label {label!r} has characters a DNS name cannot have")


def _exact(pattern: str) -> Matcher:
    if "*" in pattern or pattern.startswith("."):
        raise InvalidPattern("the exact dialect has no wildcards")
    check_labels(pattern)
    return lambda name: name == pattern


EXACT = Dialect("exact", _exact)
