"""The history's bad input: a folder that is not a history, a night or profile out of shape, a busy lock."""

from __future__ import annotations

from analyzer.errors import InputError


class HistoryError(InputError):
    """The history folder or what was asked of it is wrong: one line naming the folder and the reason."""


class HistoryBusy(HistoryError):
    """Another run holds the history's lock past the timeout."""
