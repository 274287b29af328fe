"""Making untrusted text inert for each output medium: exactly one escaper per kind of output.

Names, reasons and paths come from packets an attacker controls or from files someone else wrote.
Every renderer puts such text through the function here for its medium and escapes nothing on its
own: :func:`terminal` (rich), :func:`markdown_cell`, :func:`csv_cell` and :func:`html_text` (HTML
text and double-quoted attributes).  All four start from :func:`visible`, the one rule for the
characters a reader cannot see.  (Packet bytes become text earlier, in ``parsers.text.escape_name``:
that is decoding, not output.)
"""

from __future__ import annotations

import html
import re

# C0/C1 controls, DEL, bidi embeddings/overrides/isolates, zero-width and other invisible format
# characters, line/paragraph separators, lone surrogates and interlinear annotation characters.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _shown(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(text: object) -> str:
    """Every control or invisible format character becomes a visible ``\\xNN`` / ``\\uNNNN`` escape.

    So no terminal escape sequence is sent, no bidi control reorders what a person reads, nothing
    hides inside a name behind a zero-width character, and no lone surrogate breaks writing the output.
    """
    s = "" if text is None else str(text)
    return _INVISIBLE.sub(_shown, s)


def html_text(text: object) -> str:
    """Visible, then HTML-escaped (quotes too): safe in element text and in double-quoted attributes."""
    return html.escape(visible(text), quote=True)


def terminal(text: object) -> str:
    """Visible text for rich.  Markup needs nothing here: the renderers hand rich ``Text``, never markup."""
    return visible(text)


def markdown_cell(text: object) -> str:
    """Inert inside a Markdown table cell: no column break, no markup, no HTML, no control bytes."""
    s = visible(text)
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
        s = visible(value)
        return "'" + s if s.startswith(_FORMULA_START) else s
    return value
