"""parsers.text.escape_name: dig's presentation format, checked against the spec and by round trip."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.text import escape_name

FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True)


def unescape(text: str) -> bytes:
    return bytes(int(m.group(1)) if m.group(1) else ord(m.group(2)) for m in re.finditer(r"\\(\d{3})|(.)", text))


def test_examples(dig_escape) -> None:
    assert escape_name(b"www.example.com") == "www.example.com"
    assert escape_name(b"") == ""
    assert escape_name(b"a b") == "a\\032b"
    assert escape_name(b"\x1b[31m") == "\\027[31m"
    assert escape_name(b"back\\slash") == "back\\092slash"
    assert escape_name(b"\x00\x7f\x80\xff") == "\\000\\127\\128\\255"
    assert escape_name(b"caf\xc3\xa9") == dig_escape(b"caf\xc3\xa9") == "caf\\195\\169"


@FUZZ
@given(st.binary(max_size=300))
def test_matches_spec_and_round_trips(raw: bytes) -> None:
    out = escape_name(raw)
    # Only printable ASCII leaves, so no control byte or terminal escape can reach a report.
    assert all(0x21 <= ord(c) <= 0x7E for c in out)
    assert unescape(out) == raw
    expected = "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x5C else f"\\{b:03d}" for b in raw)
    assert out == expected
