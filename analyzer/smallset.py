"""Small sets as tuples: most DNS entries and summary groups hold one or two values per set.

An empty set costs 216 bytes and a one-element tuple 48; a capture with a hundred thousand names
holds that many entries to the end.  :func:`add` keeps a tuple while it is small and moves to a
set past ``SMALL`` values, so a name with many answers is not scanned linearly.  Readers only
iterate (``sorted``) and test membership, which both forms answer alike.
"""

from __future__ import annotations

SMALL = 8

Values = tuple[str, ...] | set[str]


def add(values: Values, value: str) -> Values:
    """``values`` with ``value`` added: a new tuple while small, the same set once large."""
    if isinstance(values, set):
        values.add(value)
        return values
    if value in values:
        return values
    if len(values) < SMALL:
        return (*values, value)
    return {*values, value}
