"""Options of an analysis, validated once here for every front end."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from analyzer.allowlist.dialects import DEFAULT_DIALECT, DIALECTS
from analyzer.errors import OptionsError
from analyzer.noise import NOISE_KINDS


@dataclass(frozen=True, slots=True)
class Options:
    """How to read and review a capture.

    ``dialect``: the firewall whose wildcard rules the allowlist is matched with.
    ``internal_domains``: site suffixes that are never egress (``corp.example``).
    ``include_noise``: noise kinds to keep in the summary and the diff.
    ``jobs``: worker processes for several captures (None: every core).
    ``fast``: the fast path (False sends every packet through the full decoder: the reference).
    """

    dialect: str = DEFAULT_DIALECT
    internal_domains: tuple[str, ...] = ()
    include_noise: frozenset[str] = frozenset()
    jobs: int | None = None
    fast: bool = True

    def __post_init__(self) -> None:
        if self.dialect not in DIALECTS:
            raise OptionsError(f"unknown dialect {self.dialect!r}: choose one of {', '.join(DIALECTS)}")
        kinds = frozenset(_strings(self.include_noise, "include_noise"))
        for kind in sorted(kinds):
            if kind not in NOISE_KINDS:
                raise OptionsError(f"unknown noise kind {kind!r}: choose from {', '.join(NOISE_KINDS)}")
        domains = []
        for d in _strings(self.internal_domains, "internal_domains"):
            name = d.strip().strip(".").lower()
            if not name:
                raise OptionsError(f"empty internal domain {d!r}")
            domains.append(name)
        if self.jobs is not None and (isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1):
            raise OptionsError(f"jobs must be a whole number of at least 1, not {self.jobs!r}")
        # Normalised copies: a list given by a caller becomes hashable and immutable.
        object.__setattr__(self, "include_noise", kinds)
        object.__setattr__(self, "internal_domains", tuple(domains))


def _strings(values: Iterable[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise OptionsError(f"{what} takes a list of strings, not the string {values!r}")
    out = list(values)
    for v in out:
        if not isinstance(v, str):
            raise OptionsError(f"{what} takes strings, not {v!r}")
    return out
