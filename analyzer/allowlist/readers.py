"""Read an allowlist from the documents operators actually hand over.

One small reader per format turns a file into :class:`Entry` rows: the generic formats (request
document, text, CSV) are in ``analyzer.allowlist.formats``, each firewall vendor's in
``analyzer.firewalls``.  :func:`detect_format` picks the reader from the content, never from the
extension alone: request documents arrive as .txt, Bicep snippets sit inside Markdown, squid
lists have no extension at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from analyzer import firewalls
from analyzer.allowlist.document import SPEC_TOKEN_RE, Doc, Format, clean, json_too_deep, strip_comment
from analyzer.allowlist.formats import csvfile, markdown, text
from analyzer.allowlist.formats.csvfile import CSV_DEST, csv_columns
from analyzer.allowlist.formats.markdown import is_table_start
from analyzer.allowlist.model import Allowlist, AllowlistError

# The generic formats; the vendors' are found by name in analyzer.firewalls (loaded when used).
_GENERIC: dict[str, Format] = {f.name: f for f in (markdown.FORMAT, text.FORMAT, csvfile.FORMAT)}
# Every format name, in the order the command line lists them.
FORMATS: tuple[str, ...] = (markdown.FORMAT.name, text.FORMAT.name, *firewalls.FORMAT_HOMES, csvfile.FORMAT.name)


# ---------------------------------------------------------------------------------------------
# Public API


def read_allowlist(path: str | Path, fmt: str | None = None) -> Allowlist:
    """Read one allowlist file; ``fmt`` (one of FORMATS) forces the format, else it is detected."""
    file = str(path)
    if fmt is not None and fmt not in FORMATS:
        raise AllowlistError(file, None, f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return parse_allowlist(_load_text(file), file, fmt)


def parse_allowlist(text: str, file: str, fmt: str | None = None) -> Allowlist:
    """An allowlist from its text (an upload, a form field); ``file`` names it in every message."""
    if fmt is not None and fmt not in FORMATS:
        raise AllowlistError(file, None, f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    doc = Doc(file, text.replace("\r\n", "\n").replace("\r", "\n"))
    name = fmt or detect_format(doc.text)
    chosen = _GENERIC[name] if name in _GENERIC else firewalls.allowlist_format(name)
    chosen.read(doc)
    if doc.invalid and (not doc.entries or (fmt is not None and len(doc.invalid) > len(doc.entries))):
        # Nothing valid, or mostly invalid under a forced --allowlist-format: the file is broken
        # throughout or in another format, and the few lines that happen to parse mean nothing.
        # The first bad line is the answer, as it was when any bad line stopped the read.
        first, more = doc.invalid[0], len(doc.invalid) - 1
        if not more:
            extra = ""
        elif not doc.entries:
            extra = f" (and {more} more invalid; no allowlist entries found)"
        else:
            extra = f" (and {more} more invalid, {len(doc.entries)} valid: not a {chosen.name} file?)"
        raise doc.error(first.line, first.problem + extra)
    if not doc.entries:
        problem = f"no allowlist entries found (looked for {chosen.looked_for})"
        if doc.notes:
            problem += "; skipped: " + "; ".join(text for _, text in doc.notes)
        raise doc.error(None, problem)
    return Allowlist(
        entries=doc.entries, formats=[chosen.name], notes=doc.rendered_notes(), invalid=doc.invalid, files=[file]
    )


def read_allowlists(paths: Iterable[str | Path], fmt: str | None = None) -> Allowlist:
    """Read several files into one allowlist (entries, formats and notes in file order)."""
    merged = Allowlist()
    for path in paths:
        merged.extend(read_allowlist(path, fmt))
    return merged


def _load_text(file: str) -> str:
    try:
        data = Path(file).read_bytes()
    except FileNotFoundError:
        raise AllowlistError(file, None, "no such file") from None
    except OSError as exc:
        raise AllowlistError(file, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AllowlistError(file, data[: exc.start].count(b"\n") + 1, "not UTF-8 text") from None
    # One newline convention, so every parser (json, yaml, ours) counts lines the same way.
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------------------------------------
# Detection

_CILIUM_RE = re.compile(r"^\s*kind:\s*['\"]?Cilium\w*NetworkPolicy|^\s*-?\s*toFQDNs\s*:", re.M)
# Bicep keys are bare words; in JSON they are quoted, so this does not fire on ARM.
_BICEP_RE = re.compile(r"^\s*(?:targetFqdns|destinationFqdns|fqdnTags)\s*:", re.M)
_SQUID_CONF_RE = re.compile(r"^\s*acl\s+\S+\s+(?:dstdomain|dstdom_regex|dst)\b", re.M | re.I)
_FENCE_LINE_RE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})", re.M)
_MD_DESTINATIONS_RE = re.compile(
    r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?(?:\*\*|__)?destinations?(?:\*\*|__)?\s*:|^ {0,3}#{1,6}\s+destinations?\b",
    re.M | re.I,
)
_AZURE_JSON_HINT_RE = re.compile(r'"(?:targetFqdns|destinationFqdns|fqdnTags|\$schema)"')


def detect_format(text: str) -> str:
    """Which of FORMATS ``text`` is written in, judged by its content."""
    stripped = text.strip()
    if not stripped:
        return "text"
    if stripped[0] in "{[" and (_parses_as_json(stripped) or _AZURE_JSON_HINT_RE.search(stripped)):
        # Any JSON document goes to the ARM reader: it finds rules anywhere in the tree and gives a
        # clearer "no entries" (or JSON syntax error with its line) than the text reader would.
        return "azure-arm"
    if _FENCE_LINE_RE.search(text):
        return "request-md"  # code fences only occur in Markdown documents
    if _CILIUM_RE.search(text):
        return "cilium"
    if _BICEP_RE.search(text):
        return "azure-bicep"
    if _SQUID_CONF_RE.search(text):
        return "squid"
    lines = text.split("\n")
    if _MD_DESTINATIONS_RE.search(text) or any(is_table_start(lines, i) for i in range(len(lines))):
        return "request-md"
    content = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if content and "," in content[0] and csv_columns(content[0]) & CSV_DEST:
        return "csv"
    listed = [line for line in content if _looks_like_entry(line)]
    if 2 * len(listed) >= len(content):
        # A list of names.  squid's dstdomain files mark "this domain and below" with a leading dot.
        dotted = sum(1 for line in listed if clean(strip_comment(line)).startswith("."))
        return "squid" if listed and 2 * dotted > len(listed) else "text"
    # Mostly prose: a request document without Markdown markup.  Its reader looks for a
    # Destinations list or table and says plainly when there is none.
    return "request-md"


def _parses_as_json(text: str) -> bool:
    if json_too_deep(text) is not None:
        return True  # JSON-shaped; the ARM reader then refuses it with its line
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


_HOSTISH_RE = re.compile(r"[\w*.\-\[\]:/,]*[.:][\w*.\-\[\]:/,]*")


def _looks_like_entry(line: str) -> bool:
    """One host-like token (a dot or colon in it), the rest port/protocol words: a list line, not prose."""
    hosts = [t for t in clean(strip_comment(line)).split() if not SPEC_TOKEN_RE.fullmatch(t)]
    return len(hosts) == 1 and _HOSTISH_RE.fullmatch(hosts[0]) is not None
