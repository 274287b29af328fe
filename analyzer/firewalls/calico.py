"""Calico: the domain-based policy wildcard dialect.

Calico domain-based policy (docs.tigera.io/security/domain-based-policy): ``*`` matches one or
more whole labels at its position: ``*.google.com`` matches ``www.google.com`` and
``www.ipv6.google.com`` but not ``google.com``; ``www.*.com`` matches ``www.sun.com`` but not
``www.com``.
"""

from __future__ import annotations

import re

from analyzer.allowlist.patterns import Dialect, InvalidPattern, Matcher, check_labels


def _calico(pattern: str) -> Matcher:
    if "*" not in pattern:
        check_labels(pattern)
        return lambda name: name == pattern
    labels = pattern.split(".")
    if any("*" in label and label != "*" for label in labels):
        raise InvalidPattern("Calico's '*' stands for whole labels: write *.example.com, not *example.com")
    check_labels(pattern, allow_star=True)
    parts = [r"[^.]+(?:\.[^.]+)*" if label == "*" else re.escape(label) for label in labels]
    regex = re.compile("^" + r"\.".join(parts) + "$")
    return lambda name: regex.match(name) is not None


DIALECTS = (Dialect("calico", _calico),)
