"""What ``nightly`` and ``drift`` return: the morning report, typed and frozen, for every renderer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analyzer.frames import Table

# The --fail-on gates and the drift classes each one catches.
GATES: dict[str, frozenset[str]] = {
    "new": frozenset({"new"}),
    "gone": frozenset({"gone"}),
    "blocked": frozenset({"newly-blocked", "regression"}),
    "regression": frozenset({"regression"}),
    "missing": frozenset(),  # by the item's allowlist status (missing), whatever its class
}
LEARNING, STABLE, UNSTABLE = "learning", "stable", "unstable"


@dataclass(frozen=True, slots=True)
class NightReport:
    history: str
    profile: str
    night: str  # the night compared (YYYY-MM-DD)
    run: str | None  # its run id (None: no run stored for that night)
    baseline: tuple[str, ...]  # the nights compared against, oldest first
    baseline_nights: int  # the window asked for (--baseline-nights)
    baseline_state: str  # learning, stable, unstable
    captures: Table  # history_captures rows of the night's run (errors included)
    drift: Table  # one row per drift item
    timeline: Table  # per name and night across the window

    @property
    def analysed(self) -> int:
        """Captures of the night's run that were analysed (readable, not reused)."""
        return sum(1 for r in self.captures.rows if not r["reused"] and r["error"] is None)

    @property
    def reused(self) -> int:
        """Captures whose stored rows were reused (same SHA-256, allowlist and options)."""
        return sum(1 for r in self.captures.rows if r["reused"])

    def errors(self) -> list[dict[str, Any]]:
        """Captures that could not be read: their rows carry the one-line reason."""
        return [r for r in self.captures.rows if r["error"] is not None]

    def gated(self, fail_on: frozenset[str] | set[str] | tuple[str, ...]) -> list[dict[str, Any]]:
        """Drift items that fail one of the ``--fail-on`` gates (suppressed items never do)."""
        classes = set().union(*(GATES[g] for g in fail_on)) if fail_on else set()
        out = []
        for r in self.drift.rows:
            if r["suppressed"] or r["class"] == "expired-suppression":
                continue
            if r["class"] in classes or ("missing" in fail_on and r["status"] == "missing"):
                out.append(r)
        return out
