"""How each firewall really matches a destination pattern against a name.

A glob is wrong for every one of them.  Each rule below cites the vendor's documentation;
the tests in tests/analyzer/allowlist/test_dialects.py hold the vendors' own examples.

azure   Azure Firewall application rules (learn.microsoft.com/azure/firewall/firewall-faq,
        "How do wildcards work in target URLs and target FQDNs in application rules?"):
        ``*`` only as the leftmost character; ``*.contoso.com`` matches any subdomain at any
        depth but not ``contoso.com``; ``*contoso.com`` matches ``contoso.com`` and every name
        that ends in ``contoso.com``, ``notcontoso.com`` included; ``*`` alone matches all.
squid   squid ``dstdomain`` (squid-cache.org/Doc/config/acl): ``.example.com`` matches
        ``example.com`` and all its subdomains, ``example.com`` only itself; no ``*``.
aws     AWS Network Firewall domain lists (docs.aws.amazon.com/network-firewall/latest/
        APIReference/API_RulesSourceList.html): the same leading-dot rule as squid.
cilium  CiliumNetworkPolicy toFQDNs (docs.cilium.io/en/stable/security/policy/language/
        #dns-based): ``matchName`` is exact; in ``matchPattern`` ``*`` matches any run of DNS
        characters within one label and never a dot, ``**.`` as a prefix matches one or more
        labels, ``*`` alone matches every name.
calico  Calico domain-based policy (docs.tigera.io/security/domain-based-policy): ``*`` matches
        one or more whole labels at its position: ``*.google.com`` matches ``www.google.com``
        and ``www.ipv6.google.com`` but not ``google.com``; ``www.*.com`` matches
        ``www.sun.com`` but not ``www.com``.
exact   no wildcards: a pattern matches the identical name only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

DIALECTS = ("azure", "squid", "aws", "cilium", "calico", "exact")
DEFAULT_DIALECT = "azure"

Matcher = Callable[[str], bool]

_LABEL_CHARS = re.compile(r"^[a-z0-9_-]+$")
_CILIUM_CHARS = "[-a-zA-Z0-9_]"


class InvalidPattern(ValueError):
    """The pattern is not valid in this dialect (so the device would reject or never match it)."""


def _never(_name: str) -> bool:
    return False


def _always(_name: str) -> bool:
    return True


def _check_labels(pattern: str, allow_star: bool = False) -> None:
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


def _azure(pattern: str) -> Matcher:
    if pattern == "*":
        return _always
    if "*" in pattern[1:]:
        raise InvalidPattern("Azure Firewall accepts '*' only as the leftmost character")
    _check_labels(pattern.lstrip("*") or "x", allow_star=False)
    if pattern.startswith("*"):
        suffix = pattern[1:]
        if suffix.startswith("."):
            return lambda name: name.endswith(suffix) and len(name) > len(suffix)
        return lambda name: name.endswith(suffix)
    return lambda name: name == pattern


def _leading_dot(pattern: str) -> Matcher:
    if "*" in pattern:
        raise InvalidPattern("'*' is not a wildcard here: use a leading dot (.example.com) for subdomains")
    _check_labels(pattern)
    if pattern.startswith("."):
        base = pattern[1:]
        return lambda name: name == base or name.endswith(pattern)
    return lambda name: name == pattern


def _cilium(pattern: str) -> Matcher:
    if pattern == "*":
        return _always
    if "*" not in pattern:  # matchName
        _check_labels(pattern)
        return lambda name: name == pattern
    _check_labels(pattern.replace("**.", "x.", 1) if pattern.startswith("**.") else pattern, allow_star=True)
    rest = pattern
    prefix = ""
    if pattern.startswith("**."):
        # one or more whole labels in front of the rest
        prefix = rf"(?:{_CILIUM_CHARS}+\.)+"
        rest = pattern[3:]
    if "**" in rest:
        raise InvalidPattern("'**' is only valid as the '**.' prefix")
    body = re.escape(rest).replace(r"\*", f"{_CILIUM_CHARS}*")
    regex = re.compile(f"^{prefix}{body}$")
    return lambda name: regex.match(name) is not None


def _calico(pattern: str) -> Matcher:
    if "*" not in pattern:
        _check_labels(pattern)
        return lambda name: name == pattern
    labels = pattern.split(".")
    if any("*" in label and label != "*" for label in labels):
        raise InvalidPattern("Calico's '*' stands for whole labels: write *.example.com, not *example.com")
    _check_labels(pattern, allow_star=True)
    parts = [r"[^.]+(?:\.[^.]+)*" if label == "*" else re.escape(label) for label in labels]
    regex = re.compile("^" + r"\.".join(parts) + "$")
    return lambda name: regex.match(name) is not None


def _exact(pattern: str) -> Matcher:
    if "*" in pattern or pattern.startswith("."):
        raise InvalidPattern("the exact dialect has no wildcards")
    _check_labels(pattern)
    return lambda name: name == pattern


_BUILDERS: dict[str, Callable[[str], Matcher]] = {
    "azure": _azure,
    "squid": _leading_dot,
    "aws": _leading_dot,
    "cilium": _cilium,
    "calico": _calico,
    "exact": _exact,
}


@lru_cache(maxsize=65536)
def compile_pattern(dialect: str, pattern: str) -> Matcher:
    """A matcher for ``pattern`` (lower-case) in ``dialect``; raises InvalidPattern."""
    if dialect not in _BUILDERS:
        raise ValueError(f"unknown dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")
    return _BUILDERS[dialect](pattern.lower().rstrip("."))


def matcher_or_never(dialect: str, pattern: str) -> tuple[Matcher, str | None]:
    """The matcher, or one that matches nothing plus the reason the pattern is invalid."""
    try:
        return compile_pattern(dialect, pattern), None
    except InvalidPattern as exc:
        return _never, str(exc)


def matches(dialect: str, pattern: str, name: str) -> bool:
    return matcher_or_never(dialect, pattern)[0](name.lower().rstrip("."))


def is_wildcard(dialect: str, pattern: str) -> bool:
    if dialect in ("squid", "aws"):
        return pattern.startswith(".")
    return "*" in pattern


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
