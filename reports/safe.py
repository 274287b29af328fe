"""Making packet-derived text inert for each output medium."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode bidi overrides that can visually reorder a name.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal(text: object) -> str:
    """No control byte (so no terminal escape sequence) and no rich markup survives."""
    s = "" if text is None else str(text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)
