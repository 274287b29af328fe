"""Errors shared by every decoder.

A decoder returns ``None`` when it needs more bytes (the h11 convention) and raises
:class:`ParseError` when the bytes it has can never become a valid record (the dpkt
split between "truncated" and "malformed").
"""

from __future__ import annotations


class ParseError(ValueError):
    """The input is malformed for this layer; more bytes would not help."""

    layer: str = "unknown"

    def __init__(self, reason: str, layer: str | None = None) -> None:
        super().__init__(reason)
        if layer is not None:
            self.layer = layer

    @property
    def reason(self) -> str:
        return str(self.args[0])


class CaptureFormatError(ParseError):
    """The file is not a capture we can read (wrong magic, corrupt header)."""

    layer = "capture"
