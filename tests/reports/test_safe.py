"""reports.safe: the one escaper per output medium, checked against independent parsers and Unicode data."""

from __future__ import annotations

import ast
import html
import unicodedata
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.safe import html_text, visible
from tests.support.paths import ROOT

FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True)

# Any code point, lone surrogates included: text from allowlist files read with surrogateescape has them.
TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=60)
BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


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


@FUZZ
@given(TEXT)
def test_visible_leaves_no_control_separator_surrogate_or_bidi_control(text: str) -> None:
    shown = visible(text)
    shown.encode("utf-8")  # a lone surrogate would make this raise
    for ch in shown:
        assert unicodedata.category(ch) not in ("Cc", "Zl", "Zp", "Cs"), ascii(ch)
        assert unicodedata.bidirectional(ch) not in BIDI_CONTROLS, ascii(ch)
    assert visible(shown) == shown  # idempotent: the escapes are plain printable ASCII


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
