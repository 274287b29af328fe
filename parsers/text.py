"""Turning untrusted name bytes from packets into safe text."""

from __future__ import annotations

import re

_PLAIN = re.compile(rb"[\x21-\x5b\x5d-\x7e]*")  # printable ASCII except backslash


def escape_name(raw: bytes) -> str:
    """Printable ASCII stays as is; every other byte becomes ``\\DDD`` (dig's presentation format).

    Names arrive from packets an attacker controls: nothing that leaves here can carry a
    control character or a terminal escape sequence.
    """
    if _PLAIN.fullmatch(raw):
        return raw.decode("ascii")
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x5C else f"\\{b:03d}" for b in raw)
