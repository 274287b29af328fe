"""One module per firewall vendor: its allowlist reader(s), its wildcard dialect and its export
writer, side by side (what a capture justifies is decided once, in ``destinations``).  This
registry is how detection, ``--allowlist-format`` and ``--dialect`` find them; a new vendor adds
its module here.

Only the names live here: a vendor's module is imported the first time one of its dialects or
formats is used, so a run without an allowlist loads no vendor at all, and a run with one loads
the vendors it reads and matches with (each module compiles its patterns when imported).
tests/analyzer/firewalls/test_registry.py checks these names against what the modules define.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.allowlist.document import Format
    from analyzer.allowlist.patterns import Dialect

# Name -> the vendor module that defines it, in the order the command line lists them.
DIALECT_HOMES: dict[str, str] = {
    "azure": "azure",
    "squid": "squid",
    "aws": "aws",
    "cilium": "cilium",
    "calico": "calico",
}
FORMAT_HOMES: dict[str, str] = {"azure-bicep": "azure", "azure-arm": "azure", "cilium": "cilium", "squid": "squid"}


def dialect(name: str) -> Dialect:
    """The vendor dialect called ``name`` (a key of DIALECT_HOMES); KeyError for any other name."""
    found: tuple[Dialect, ...] = import_module(f"{__name__}.{DIALECT_HOMES[name]}").DIALECTS
    return next(d for d in found if d.name == name)


def allowlist_format(name: str) -> Format:
    """The vendor allowlist format called ``name`` (a key of FORMAT_HOMES); KeyError for any other."""
    found: tuple[Format, ...] = import_module(f"{__name__}.{FORMAT_HOMES[name]}").FORMATS
    return next(f for f in found if f.name == name)


def dialects() -> tuple[Dialect, ...]:
    """Every vendor dialect, in order (imports every vendor)."""
    return tuple(dialect(name) for name in DIALECT_HOMES)


def formats() -> tuple[Format, ...]:
    """Every vendor allowlist format, in order (imports every vendor that reads one)."""
    return tuple(allowlist_format(name) for name in FORMAT_HOMES)
