"""reports.safe: the one escaper per output medium, checked against independent parsers and Unicode data."""

from __future__ import annotations

import ast
import html
import unicodedata
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.safe import csv_cell, html_text, markdown_cell, terminal, visible
from tests.support.paths import ROOT

FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True)

BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
# What must not survive, by Unicode's own data rather than by our pattern: controls, line and paragraph
# separators, surrogates and bidi controls (one surrogate in 64 is enough to keep them from crowding the rest).
HIDDEN = [
    chr(c)
    for c in range(0x10000)
    if (unicodedata.category(chr(c)) in ("Cc", "Zl", "Zp") or unicodedata.bidirectional(chr(c)) in BIDI_CONTROLS)
    or (unicodedata.category(chr(c)) == "Cs" and c % 64 == 0)
]
# Any code point, the hidden ones often; a list joined rather than st.text, which never yields a lone
# surrogate (text read with surrogateescape has them).
TEXT = st.lists(
    st.one_of(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), st.sampled_from(HIDDEN)), max_size=60
).map("".join)


class _OneElement(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: list[tuple[str, str | None]] = []
        self.data: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def _hides_nothing(shown: str) -> None:
    shown.encode("utf-8")  # a lone surrogate would make this raise
    for ch in shown:
        assert unicodedata.category(ch) not in ("Cc", "Zl", "Zp", "Cs"), ascii(ch)
        assert unicodedata.bidirectional(ch) not in BIDI_CONTROLS, ascii(ch)


@FUZZ
@given(TEXT)
def test_visible_leaves_no_control_separator_surrogate_or_bidi_control(text: str) -> None:
    shown = visible(text)
    _hides_nothing(shown)
    assert visible(shown) == shown  # idempotent: the escapes are plain printable ASCII


@FUZZ
@given(TEXT)
def test_terminal_markdown_and_csv_hide_nothing_either(text: str) -> None:
    for shown in (terminal(text), markdown_cell(text), csv_cell(text)):
        assert isinstance(shown, str)
        _hides_nothing(shown)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[31mb", "a\\x1b[31mb"),
        ("rlo-\u202etxt", "rlo-\\u202etxt"),  # one rule with the HTML page: not the ambiguous \x202e
        ("zw\u200bj\ufeff", "zw\\u200bj\\ufeff"),
        ("x\u2028y", "x\\u2028y"),
        ("lone\udc80", "lone\\udc80"),
    ],
)
def test_the_terminal_shows_what_the_page_shows(raw: str, shown: str) -> None:
    assert terminal(raw) == shown
    assert html_text(raw) == shown  # no markup character in these: the page shows the same text


@FUZZ
@given(TEXT)
def test_html_text_reads_back_as_the_visible_text_in_element_text_and_in_attributes(text: str) -> None:
    out = html_text(text)
    assert not set(out) & set("<>\"'")
    assert html.unescape(out) == visible(text)
    parser = _OneElement()
    parser.feed(f'<p title="{out}">{out}</p>')
    parser.close()
    assert parser.tags == ["p"]  # nothing in the text opened an element
    assert parser.attrs == [("title", visible(text))]
    assert "".join(parser.data) == visible(text)


def test_no_renderer_escapes_on_its_own() -> None:
    # One escaper per output kind, all in reports/safe.py: a renderer that imported html.escape or wrote
    # entities by hand would be a second HTML escaper that could drift from the first.
    for path in sorted((ROOT / "reports").rglob("*.py")):
        if path.name == "safe.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name != "html" for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                assert node.module != "html", path
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                for entity in ("&lt;", "&gt;", "&amp;", "&quot;", "&#x27;"):
                    assert entity not in node.value, (path, entity)
