"""Making packet-derived text inert for each output medium."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode bidi overrides that can visually reorder a name.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal(text: object) -> str:
    """No control byte (so no terminal escape sequence) and no rich markup survives."""
    s = "" if text is None else str(text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def markdown_cell(text: object) -> str:
    """Inert inside a Markdown table cell: no column break, no markup, no HTML, no control bytes."""
    s = terminal(text)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")
    s = s.replace("<", "&lt;").replace(">", "&gt;")
    for ch in "`*_[]~":
        s = s.replace(ch, "\\" + ch)
    return s


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Spreadsheet-safe: a text cell that starts like a formula is prefixed with a quote (OWASP advice)."""
    if value is None:
        return ""
    if isinstance(value, str):
        s = terminal(value)
        return "'" + s if s.startswith(_FORMULA_START) else s
    return value
