"""Read an allowlist from the documents operators actually hand over.

One small reader per format turns a file into :class:`Entry` rows.  :func:`detect_format` picks
the reader from the content, never from the extension alone: request documents arrive as .txt,
Bicep snippets sit inside Markdown, squid lists have no extension at all.

Every reader reports unreadable input as ``AllowlistError(file, line, problem)`` and records each
default it fills in twice: on the entry (``Entry.assumed``) and as a sentence in
``Allowlist.notes``, next to a sentence for everything it skipped.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analyzer.allowlist.model import ANY, Allowlist, AllowlistError, Entry, PortRange

FORMATS: tuple[str, ...] = ("request-md", "text", "azure-bicep", "azure-arm", "cilium", "squid", "csv")

# What each reader looks for, for the "no allowlist entries found" message.
_LOOKED_FOR = {
    "request-md": "a Destinations: list, a table with a Destination/FQDN/Domain/Host column, "
    "or ```bicep/```json blocks with targetFqdns",
    "text": "one host name, address or pattern per line",
    "azure-bicep": "targetFqdns, fqdnTags, destinationFqdns or destinationAddresses in Azure Firewall rules",
    "azure-arm": "targetFqdns, fqdnTags, destinationFqdns or destinationAddresses in Azure Firewall rules",
    "cilium": "spec.egress[].toFQDNs, toCIDR or toCIDRSet in CiliumNetworkPolicy documents",
    "squid": "acl NAME dstdomain lines, or one domain per line",
    "csv": "rows under a fqdn/destination/domain/host/pattern/target column",
}

_WEB_PORTS = (PortRange(80, 80), PortRange(443, 443))
_PROTOCOL_NAMES = {"tcp": "TCP", "udp": "UDP", "http": "HTTP", "https": "HTTPS", "any": ANY}
_ANY_WORDS = ("any", "all", "*")


class _Problem(Exception):
    """What is wrong with one piece of input; the caller knows the line and makes the AllowlistError."""


@dataclass
class _Doc:
    """One file being read: its lines, and the entries and notes found so far."""

    file: str
    text: str
    entries: list[Entry] = field(default_factory=list)
    notes: list[tuple[int | None, str]] = field(default_factory=list)
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.text.split("\n")

    def raw(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""

    def error(self, line: int | None, problem: str) -> AllowlistError:
        return AllowlistError(self.file, line, problem)

    @contextmanager
    def at(self, line: int | None) -> Iterator[None]:
        """Turn a _Problem raised inside the block into an AllowlistError for ``line``."""
        try:
            yield
        except _Problem as exc:
            raise self.error(line, str(exc)) from None

    def note(self, line: int | None, sentence: str) -> None:
        self.notes.append((line, sentence))

    def add(
        self,
        text: str,
        line: int,
        protocols: Iterable[str],
        ports: tuple[PortRange, ...],
        *,
        assumed: str | None = None,
        rule: str | None = None,
        kind: str | None = None,
    ) -> None:
        with self.at(line):
            pattern, found_kind = _pattern(text, kind)
        self.entries.append(
            Entry(
                pattern=pattern,
                protocols=frozenset(protocols),
                ports=ports,
                file=self.file,
                line=line,
                raw=self.raw(line),
                kind=found_kind,
                assumed=assumed,
                rule=rule,
            )
        )

    def rendered_notes(self) -> list[str]:
        """The skip sentences in the order they were found, then one sentence per default assumed."""
        out = [f"{self.file}:{line}: {text}" if line else f"{self.file}: {text}" for line, text in self.notes]
        lines_by_default: dict[str, dict[int, None]] = {}
        for entry in self.entries:
            if entry.assumed:
                lines_by_default.setdefault(entry.assumed, {})[entry.line] = None
        for assumed, lines in lines_by_default.items():
            count = sum(1 for e in self.entries if e.assumed == assumed)
            shown = ", ".join(str(n) for n in list(lines)[:8]) + (", ..." if len(lines) > 8 else "")
            noun = "entry" if count == 1 else "entries"
            out.append(f"{self.file}: assumed {assumed} for {count} {noun} (line {shown})")
        return out


# ---------------------------------------------------------------------------------------------
# Public API


def read_allowlist(path: str | Path, fmt: str | None = None) -> Allowlist:
    """Read one allowlist file; ``fmt`` (one of FORMATS) forces the format, else it is detected."""
    file = str(path)
    if fmt is not None and fmt not in FORMATS:
        raise AllowlistError(file, None, f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    doc = _Doc(file, _load_text(file))
    chosen = fmt or detect_format(doc.text)
    _READERS[chosen](doc)
    if not doc.entries:
        problem = f"no allowlist entries found (looked for {_LOOKED_FOR[chosen]})"
        if doc.notes:
            problem += "; skipped: " + "; ".join(text for _, text in doc.notes)
        raise doc.error(None, problem)
    return Allowlist(entries=doc.entries, formats=[chosen], notes=doc.rendered_notes(), files=[file])


def read_allowlists(paths: Iterable[str | Path], fmt: str | None = None) -> Allowlist:
    """Read several files into one allowlist (entries, formats and notes in file order)."""
    merged = Allowlist()
    for path in paths:
        merged.extend(read_allowlist(path, fmt))
    return merged


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


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
    if _MD_DESTINATIONS_RE.search(text) or any(_is_table_start(lines, i) for i in range(len(lines))):
        return "request-md"
    content = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if content and "," in content[0] and _csv_columns(content[0]) & _CSV_DEST:
        return "csv"
    listed = [line for line in content if _looks_like_entry(line)]
    if 2 * len(listed) >= len(content):
        # A list of names.  squid's dstdomain files mark "this domain and below" with a leading dot.
        dotted = sum(1 for line in listed if _clean(_strip_comment(line)).startswith("."))
        return "squid" if listed and 2 * dotted > len(listed) else "text"
    # Mostly prose: a request document without Markdown markup.  Its reader looks for a
    # Destinations list or table and says plainly when there is none.
    return "request-md"


def _parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


_HOSTISH_RE = re.compile(r"[\w*.\-\[\]:/,]*[.:][\w*.\-\[\]:/,]*")


def _looks_like_entry(line: str) -> bool:
    """One host-like token (a dot or colon in it), the rest port/protocol words: a list line, not prose."""
    hosts = [t for t in _clean(_strip_comment(line)).split() if not _SPEC_TOKEN_RE.fullmatch(t)]
    return len(hosts) == 1 and _HOSTISH_RE.fullmatch(hosts[0]) is not None


# ---------------------------------------------------------------------------------------------
# Shared pieces: patterns, ports, cleaning

# Labels of letters, digits, "-", "_" and "*" (wildcards as written: "*.x.com", "*x.com"),
# optionally with squid's leading "." ("this domain and every subdomain").
_HOST_RE = re.compile(r"\.?[a-z0-9_*-]+(?:\.[a-z0-9_*-]+)*")
_LOOSE_RE = re.compile(r"[\w*.:/-]+")  # Cilium matchPattern and Azure tags: keep as written


def _pattern(text: str, kind: str | None) -> tuple[str, str]:
    """Normalise a destination (lower case, no trailing dot) and tell its kind."""
    written = text.strip()
    pattern = written.lower()
    if len(pattern) > 1:
        pattern = pattern.rstrip(".")  # "example.com." is the fully qualified spelling of example.com
    if not pattern:
        raise _Problem("empty destination")
    if any(ch.isspace() for ch in pattern):
        raise _Problem(f"entry has spaces inside: {written!r}")
    if kind in ("pattern", "tag"):
        if not _LOOSE_RE.fullmatch(pattern):
            raise _Problem(f"{written!r} is not a valid {kind}")
        return pattern, kind
    if pattern == "*":
        return pattern, "pattern"  # every destination
    if _is_address(pattern):
        return pattern, "address"
    if _HOST_RE.fullmatch(pattern):
        return pattern, "fqdn"
    raise _Problem(f"{written!r} is not a host name, address or pattern")


def _is_address(text: str) -> bool:
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _port_range(low: int, high: int | None = None) -> PortRange:
    high = low if high is None else high
    for port in (low, high):
        if not 1 <= port <= 65535:
            raise _Problem(f"port {port} is out of range (1-65535)")
    if high < low:
        raise _Problem(f"port range {low}-{high} ends before it starts")
    return PortRange(low, high)


_SPEC_SPLIT_RE = re.compile(r"[\s,;/+&()]+|\band\b|\bor\b", re.I)
_RANGE_RE = re.compile(r"(\d+)(?:-(\d+))?")
_SPEC_WORD = r"(?:tcp|udp|https?|any|\d+(?:-\d+)?)"
# A token that only names protocols and ports: "443", "80,443", "tcp/443", "443/tcp", "udp".
_SPEC_TOKEN_RE = re.compile(rf"{_SPEC_WORD}(?:[/,;]{_SPEC_WORD})*", re.I)

Ports = tuple[PortRange, ...]


def _spec(text: str, meaning: str) -> tuple[frozenset[str] | None, Ports | None]:
    """Protocols and ports named in ``text``: "80/443", "80, 443", "80 and 443", "tcp/443", "TCP/UDP".

    ``meaning`` ("port" or "protocol") is what the field holds: it decides what a bare "any" means.
    None means "not stated"; an empty port tuple means every port.
    """
    text = re.sub(r"\s*-\s*", "-", text.strip())  # "8000 - 8100" is one range
    protocols: set[str] = set()
    ports: list[PortRange] = []
    any_port = False
    for token in filter(None, _SPEC_SPLIT_RE.split(text.lower())):
        if token in _ANY_WORDS:
            if meaning == "protocol":
                protocols.add(ANY)
            else:
                any_port = True
        elif token in _PROTOCOL_NAMES:
            protocols.add(_PROTOCOL_NAMES[token])
        elif match := _RANGE_RE.fullmatch(token):
            span = _port_range(int(match[1]), int(match[2]) if match[2] else None)
            if span not in ports:
                ports.append(span)
        else:
            expected = "a number or range" if meaning == "port" else "TCP, UDP, HTTP, HTTPS or ANY"
            raise _Problem(f"bad {meaning} {token!r} (expected {expected})")
    found_ports: Ports | None = () if any_port else (tuple(ports) or None)
    return (frozenset(protocols) or None), found_ports


def _default_ports(protocols: frozenset[str]) -> tuple[Ports, str]:
    if protocols == {"HTTPS"}:
        return (PortRange(443, 443),), "port 443"
    if protocols == {"HTTP"}:
        return (PortRange(80, 80),), "port 80"
    if protocols & {"UDP", ANY}:
        return (), "any port"
    return _WEB_PORTS, "ports 80/443"


def _fill(
    protocols: frozenset[str] | None, ports: Ports | None, *, no_port: str, no_protocol: str
) -> tuple[frozenset[str], Ports, str | None]:
    """Fill in what an entry and its section left out, and say so (for ``Entry.assumed``)."""
    if protocols is None and ports is None:
        return frozenset({"TCP"}), _WEB_PORTS, f"TCP 80/443 ({no_port})"
    if protocols is None:
        assert ports is not None
        return frozenset({"TCP"}), ports, f"TCP ({no_protocol})"
    if ports is None:
        guessed, described = _default_ports(protocols)
        return protocols, guessed, f"{described} ({no_port})"
    return protocols, ports, None


def _host_and_spec(text: str) -> tuple[str, frozenset[str] | None, Ports | None]:
    """Split "host:443", "host:80,443", "tcp/443 host", "host udp/123", "host 443", "[v6]:443"."""
    protocols: frozenset[str] | None = None
    ports: Ports | None = None
    hosts: list[str] = []
    for token in text.split():
        if _SPEC_TOKEN_RE.fullmatch(token):
            found_protocols, found_ports = _spec(token, "port")
            protocols = found_protocols if found_protocols is not None else protocols
            ports = found_ports if found_ports is not None else ports
        else:
            hosts.append(token)
    if len(hosts) > 1:
        raise _Problem(f"entry has spaces inside: {text!r}")
    if not hosts:
        raise _Problem(f"no host name in {text!r}")
    host, port_text = _split_host_port(hosts[0])
    if port_text is not None:
        if not port_text:
            raise _Problem(f"nothing after ':' in {hosts[0]!r} (expected a port)")
        found_protocols, found_ports = _spec(port_text, "port")
        protocols = found_protocols if found_protocols is not None else protocols
        ports = found_ports if found_ports is not None else ports
    return host, protocols, ports


def _split_host_port(token: str) -> tuple[str, str | None]:
    if token.startswith("["):  # [2001:db8::1]:443
        end = token.find("]")
        if end < 0:
            raise _Problem(f"unclosed '[' in {token!r}")
        rest = token[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _Problem(f"unexpected {rest!r} after ']' in {token!r}")
        return token[1:end], (rest[1:] if rest else None)
    if token.count(":") == 1:
        host, _, port = token.partition(":")
        return host, port
    return token, None  # no port, or a bare IPv6 address


_COMMENT_RE = re.compile(r"(?:^|\s)#.*$")


def _strip_comment(line: str) -> str:
    return _COMMENT_RE.sub("", line)


_LINK_RE = re.compile(r"\[((?:\\.|[^\]\\])*)\]\([^)]*\)")  # [text](url) -> text
_AUTOLINK_RE = re.compile(r"<([a-z][a-z0-9+.-]*:[^>\s]*)>", re.I)
_EMPHASIS_RE = re.compile(r"^(\*\*|__)(.+)\1$")
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash escapes ASCII punctuation
_BULLET_RE = re.compile(r"^(?:[-+*]|\d+[.)])\s+")
_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/?#\s]*@)?([^/?#\s]+)\S*", re.I)


def _clean(text: str) -> str:
    """Strip the markup people wrap a destination in: bullets, links, backticks, bold, escapes, quotes."""
    text = _BULLET_RE.sub("", text.strip())
    text = _LINK_RE.sub(r"\1", text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    text = text.replace("`", "").strip()
    if match := _EMPHASIS_RE.match(text):
        text = match[2]
    text = _ESCAPE_RE.sub(r"\1", text)
    text = text.strip().strip("\"'").strip().rstrip(",;")
    return _URL_RE.sub(r"\1", text)  # https://host:8443/path -> host:8443


# ---------------------------------------------------------------------------------------------
# text: one entry per line


def _read_text(doc: _Doc) -> None:
    for number, line in enumerate(doc.lines, 1):
        body = _clean(_strip_comment(line))
        if not body:
            continue
        with doc.at(number):
            host, protocols, ports = _host_and_spec(body)
            protocols_, ports_, assumed = _fill(
                protocols, ports, no_port="no port given", no_protocol="no protocol given"
            )
        doc.add(host, number, protocols_, ports_, assumed=assumed)


# ---------------------------------------------------------------------------------------------
# request-md: the Markdown request document

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)[\s#]*$")
_MD_KEY_RE = re.compile(r"^(\s*)(?:([-*+]|\d+[.)])\s+)?(protocols?|ports?|action|destinations?)\s*:\s*(.*)$", re.I)
_MD_ITEM_RE = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
# A destination item may carry a description: "api.snapcraft.io - snap store", "x.com (mirror)".
_DESCRIPTION_RE = re.compile(r"^(\S+)\s+(?:\(|[-\u2013\u2014:#]|//).*$")
_ALLOW_WORDS = ("allow", "permit", "accept")
_DENY_WORDS = ("deny", "block", "drop", "reject")
_MD_NO_PORT = "no port in the request"
_MD_NO_PROTOCOL = "no protocol in the request"

_TABLE_DEST = {"destination", "destinations", "fqdn", "fqdns", "domain", "domains", "host", "hosts", "hostname"}
_TABLE_PORT = {"port", "ports", "destinationport", "destinationports"}
_TABLE_PROTOCOL = {"protocol", "protocols", "proto"}
_TABLE_ACTION = {"action"}


@dataclass
class _MdState:
    """Where the reader is in the document and what the Protocol/Port/Action lines above said."""

    section: str | None = None
    level: int = 0  # level of the current heading (0 before any)
    keys_level: int | None = None  # heading level the current Protocol/Port/Action lines were under
    protocols: frozenset[str] | None = None
    ports: Ports | None = None
    deny: bool = False
    list_indent: int | None = None  # inside a Destinations list: items are indented deeper than this
    denied: list[int] = field(default_factory=list)  # lines skipped under Action: Deny

    def reset_keys(self) -> None:
        self.keys_level, self.protocols, self.ports, self.deny = None, None, None, False


def _read_request_md(doc: _Doc) -> None:
    lines, state, index = doc.lines, _MdState(), 0
    while index < len(lines):
        if fence := _FENCE_RE.match(lines[index]):
            state.list_indent = None
            index = _md_fence(doc, index, fence)
        elif _is_table_start(lines, index):
            state.list_indent = None
            index = _md_table(doc, state, index)
        else:
            _md_line(doc, state, index + 1, lines[index])
            index += 1
    if state.denied:
        shown = ", ".join(str(n) for n in state.denied)
        doc.note(None, f"skipped {_count(len(state.denied), 'destination')} listed under 'Action: Deny' (line {shown})")


def _md_fence(doc: _Doc, index: int, fence: re.Match[str]) -> int:
    """Skip a fenced block, reading ```bicep / ```json blocks that hold Azure Firewall rules."""
    marker, info = fence[1], fence[2].lower()
    closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
    end = index + 1
    while end < len(doc.lines) and not closing.match(doc.lines[end]):
        end += 1
    body = "\n".join(doc.lines[index + 1 : end])
    if _AZURE_KEYS_RE.search(body):
        if info == "bicep":
            _azure_bicep(doc, body, index + 2)
        elif info in ("json", "jsonc"):
            _azure_json(doc, body, index + 2)
    return end + 1


def _is_table_start(lines: Sequence[str], index: int) -> bool:
    return (
        "|" in lines[index]
        and index + 1 < len(lines)
        and "|" in lines[index + 1]
        and _TABLE_SEP_RE.match(lines[index + 1]) is not None
    )


def _cells(line: str) -> list[str]:
    row = line.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip() for cell in _CELL_SPLIT_RE.split(row)]


def _md_table(doc: _Doc, state: _MdState, index: int) -> int:
    raw_header = [cell.lower() for cell in _cells(doc.lines[index])]
    header = [re.sub(r"[^a-z]", "", cell) for cell in raw_header]
    end = index + 2
    while end < len(doc.lines) and "|" in doc.lines[end] and doc.lines[end].strip():
        end += 1
    if any("count_" in cell for cell in raw_header):
        # A KQL "summarize count()" result: traffic that was observed, not destinations requested.
        doc.note(index + 1, "skipped a table with a count_ column: it is observed traffic, not a request")
        return end
    column = _first_column(header, _TABLE_DEST)
    if column is None:
        return end  # some other table (ports overview, contacts, ...)
    port_col, protocol_col = _first_column(header, _TABLE_PORT), _first_column(header, _TABLE_PROTOCOL)
    action_col = _first_column(header, _TABLE_ACTION)
    for number in range(index + 3, end + 1):
        cells = _cells(doc.lines[number - 1])

        def cell(col: int | None, cells: list[str] = cells) -> str:
            return _clean(cells[col]) if col is not None and col < len(cells) else ""

        if not cell(column):
            continue
        with doc.at(number):
            action = cell(action_col).lower()
            if action in _DENY_WORDS or (not action and state.deny):
                state.denied.append(number)
                continue
            host, protocols, ports = _host_and_spec(_drop_description(cell(column)))
            if cell(port_col):
                found_protocols, ports = _spec(cell(port_col), "port")
                protocols = found_protocols or protocols
            if cell(protocol_col):
                protocols, found_ports = _spec(cell(protocol_col), "protocol")
                ports = found_ports if found_ports is not None else ports
            _md_add(doc, state, number, host, protocols, ports)
    return end


def _first_column(header: list[str], names: set[str]) -> int | None:
    return next((i for i, name in enumerate(header) if name in names), None)


def _md_line(doc: _Doc, state: _MdState, number: int, line: str) -> None:
    if not line.strip():
        return  # blank lines do not end a list (Markdown "loose" lists)
    if heading := _HEADING_RE.match(line):
        level, title = len(heading[1]), _clean(heading[2])
        state.list_indent = None
        # Protocol/Port lines hold for their own section and its subsections only.
        if state.keys_level is not None and level <= state.keys_level:
            state.reset_keys()
        state.level, state.section = level, title
        if re.fullmatch(r"destinations?:?", title, re.I):
            state.list_indent = -1
        return
    key = _MD_KEY_RE.match(line.replace("**", "").replace("__", ""))
    if state.list_indent is not None and not key:
        item = _MD_ITEM_RE.match(line)
        if item and len(item[1].expandtabs(4)) > state.list_indent:
            _md_destination(doc, state, number, item[2])
            return
    state.list_indent = None
    if not key:
        return
    indent, bullet, name, value = key[1], key[2], key[3].lower().rstrip("s"), _clean(key[4])
    if name == "destination":
        state.list_indent = len(indent.expandtabs(4)) if bullet else -1
        for piece in filter(None, (p.strip() for p in value.split(","))):  # "Destinations: a.com, b.com"
            _md_destination(doc, state, number, piece)
        return
    if state.keys_level is None:
        state.keys_level = state.level
    with doc.at(number):
        if name == "protocol":
            protocols, ports = _spec(value, "protocol")
            state.protocols = protocols or state.protocols
            state.ports = ports if ports is not None else state.ports
        elif name == "port":
            protocols, ports = _spec(value, "port")
            state.protocols = protocols or state.protocols
            state.ports = ports if ports is not None else state.ports
        elif value.lower() in _DENY_WORDS:
            state.deny = True
        elif value.lower() in _ALLOW_WORDS:
            state.deny = False
        else:
            raise _Problem(f"unknown action {value!r} (expected Allow or Deny)")


def _md_destination(doc: _Doc, state: _MdState, number: int, text: str) -> None:
    text = _clean(text)
    if not text or text.endswith(":"):
        return  # a group label inside the list ("Canonical:")
    if state.deny:
        state.denied.append(number)
        return
    with doc.at(number):
        host, protocols, ports = _host_and_spec(_drop_description(text))
    _md_add(doc, state, number, host, protocols, ports)


def _drop_description(text: str) -> str:
    match = _DESCRIPTION_RE.match(text)
    return match[1] if match else text


def _md_add(
    doc: _Doc, state: _MdState, number: int, host: str, protocols: frozenset[str] | None, ports: Ports | None
) -> None:
    """Entry-level port/protocol first, then the section's Protocol/Port lines, then the default."""
    protocols = protocols if protocols is not None else state.protocols
    ports = ports if ports is not None else state.ports
    filled_protocols, filled_ports, assumed = _fill(protocols, ports, no_port=_MD_NO_PORT, no_protocol=_MD_NO_PROTOCOL)
    doc.add(host, number, filled_protocols, filled_ports, assumed=assumed, rule=state.section)


# ---------------------------------------------------------------------------------------------
# Azure Firewall rules, shared by azure-bicep and azure-arm

_AZURE_KEYS_RE = re.compile(r"\b(?:targetFqdns|fqdnTags|destinationFqdns)\b")
_APP_RULE_KEYS = ("targetFqdns", "fqdnTags", "targetUrls", "webCategories")
_NET_RULE_KEYS = ("destinationFqdns", "destinationAddresses", "destinationIpGroups")
_APP_PROTOCOLS = {"http": ("HTTP", 80), "https": ("HTTPS", 443), "mssql": ("TCP", 1433)}
_NET_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "any": ANY}

Locate = Callable[[str], int]


class _Loc(str):
    """A Bicep string value that remembers the 1-based line it was read from."""

    line: int

    def __new__(cls, value: str, line: int) -> _Loc:
        self = super().__new__(cls, value)
        self.line = line
        return self


@dataclass(frozen=True)
class _Opaque:
    """A Bicep expression (variable, function call, interpolation, loop): not evaluated."""

    line: int


def _is_expression(value: object) -> bool:
    # ARM template expressions are strings in brackets: "[parameters('fqdns')]" ("[[" escapes a "[").
    return isinstance(value, _Opaque) or (
        isinstance(value, str) and value.startswith("[") and value.endswith("]") and not value.startswith("[[")
    )


def _azure_walk(doc: _Doc, node: object, locate: Locate, action: str = "allow", name: str | None = None) -> None:
    """Find application and network rules anywhere in a Bicep/ARM tree.

    ``action`` comes from the nearest enclosing rule collection ({action: {type: 'Deny'}}) and
    ``name`` from the nearest named object, for rules that have no name of their own.
    """
    if isinstance(node, list):
        for item in node:
            _azure_walk(doc, item, locate, action, name)
        return
    if not isinstance(node, dict):
        return
    declared = node.get("action")
    if isinstance(declared, dict) and isinstance(declared.get("type"), str):
        action = declared["type"].lower()
    own_name = node.get("name")
    if isinstance(own_name, str) and not _is_expression(own_name):
        name = str(own_name)
    if any(key in node for key in _APP_RULE_KEYS):
        _azure_application_rule(doc, node, locate, action, name)
    elif any(key in node for key in _NET_RULE_KEYS):
        _azure_network_rule(doc, node, locate, action, name)
    else:
        for value in node.values():
            _azure_walk(doc, value, locate, action, name)


def _azure_strings(doc: _Doc, value: object, key: str, rule: str | None, locate: Locate) -> list[tuple[str, int]]:
    """The literal strings of a rule's list property, each with its line; expressions are noted."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[tuple[str, int]] = []
    for item in items:
        if _is_expression(item) or not isinstance(item, str):
            line = item.line if isinstance(item, _Opaque) else locate(str(item))
            doc.note(line, f"skipped {key} of rule {rule!r}: an expression, not evaluated")
            continue
        out.append((item, locate(item)))
    return out


def _azure_application_rule(doc: _Doc, rule: dict[str, object], locate: Locate, action: str, name: str | None) -> None:
    found: list[tuple[str, str, int]] = []  # (key, value, line), in the order the document has them
    for key, value in rule.items():
        if key in ("targetFqdns", "fqdnTags"):
            found += [(key, text, line) for text, line in _azure_strings(doc, value, key, name, locate)]
        elif key in ("targetUrls", "webCategories") and value:
            doc.note(None, f"skipped {key} of rule {name!r}: only FQDNs are compared")
    if action != "allow":
        if found:
            doc.note(found[0][2], f"skipped {action.capitalize()} rule {name!r} ({_count(len(found), 'destination')})")
        return
    for key, text, line in found:
        with doc.at(line):
            groups = _azure_app_protocols(rule.get("protocols"))
        for protocols, ports, assumed in groups:
            kind = "tag" if key == "fqdnTags" else None
            doc.add(text, line, protocols, ports, assumed=assumed, rule=name, kind=kind)
        if key == "fqdnTags":
            doc.note(line, f"FQDN tag {text!r} is kept as a tag entry; the FQDNs behind it are not expanded")


def _azure_app_protocols(value: object) -> list[tuple[frozenset[str], Ports, str | None]]:
    """One (protocol, ports) group per protocolType, so Http:80 + Https:443 do not allow Http:443."""
    if not isinstance(value, list) or not value:
        return [(frozenset({"HTTP", "HTTPS"}), _WEB_PORTS, "HTTP/HTTPS 80/443 (rule lists no protocols)")]
    groups: dict[str, list[PortRange]] = {}
    for item in value:
        if not isinstance(item, dict):
            raise _Problem("protocols must be objects like {protocolType: 'Https', port: 443}")
        kind = str(item.get("protocolType", "")).lower()
        if kind not in _APP_PROTOCOLS:
            raise _Problem(f"unknown protocolType {item.get('protocolType')!r} (expected Http, Https or Mssql)")
        protocol, default_port = _APP_PROTOCOLS[kind]
        port = item.get("port", default_port)
        if isinstance(port, bool) or not isinstance(port, int | str) or not str(port).isdigit():
            raise _Problem(f"bad port {port!r}")
        span = _port_range(int(port))
        if span not in groups.setdefault(protocol, []):
            groups[protocol].append(span)
    return [(frozenset({protocol}), tuple(ports), None) for protocol, ports in groups.items()]


def _azure_network_rule(doc: _Doc, rule: dict[str, object], locate: Locate, action: str, name: str | None) -> None:
    if "translatedAddress" in rule or "translatedFqdn" in rule or str(rule.get("ruleType", "")).lower() == "natrule":
        doc.note(None, f"skipped NAT rule {name!r}: it translates inbound traffic, it allows no egress")
        return
    found: list[tuple[str, str, int]] = []
    for key, value in rule.items():
        if key in ("destinationFqdns", "destinationAddresses"):
            found += [(key, text, line) for text, line in _azure_strings(doc, value, key, name, locate)]
        elif key == "destinationIpGroups" and value:
            doc.note(None, f"skipped destinationIpGroups of rule {name!r}: IP groups are not expanded")
    if action != "allow":
        if found:
            doc.note(found[0][2], f"skipped {action.capitalize()} rule {name!r} ({_count(len(found), 'destination')})")
        return
    if not found:
        return
    line = found[0][2]
    with doc.at(line):
        protocols, protocols_assumed = _azure_net_protocols(doc, line, rule.get("ipProtocols", rule.get("protocols")))
        ports, ports_assumed = _azure_net_ports(rule.get("destinationPorts"))
    if not protocols:
        doc.note(line, f"skipped network rule {name!r}: it allows only ICMP")
        return
    assumed = "; ".join(filter(None, (protocols_assumed, ports_assumed))) or None
    for key, text, text_line in found:
        kind = None
        if key == "destinationAddresses" and text != "*" and not _is_address(text.lower()):
            kind = "tag"  # a service tag such as AzureCloud.WestEurope
            doc.note(text_line, f"service tag {text!r} is kept as a tag entry; its addresses are not expanded")
        doc.add(text, text_line, protocols, ports, assumed=assumed, rule=name, kind=kind)


def _azure_net_protocols(doc: _Doc, line: int, value: object) -> tuple[frozenset[str], str | None]:
    if not isinstance(value, list) or not value:
        return frozenset({ANY}), "protocol ANY (rule lists no ipProtocols)"
    protocols: set[str] = set()
    for item in value:
        word = str(item).lower()
        if word == "icmp":
            doc.note(line, "ICMP in a network rule is not compared (only TCP/UDP are)")
        elif word in _NET_PROTOCOLS:
            protocols.add(_NET_PROTOCOLS[word])
        else:
            raise _Problem(f"unknown ipProtocol {item!r} (expected TCP, UDP, Any or ICMP)")
    return frozenset(protocols), None


def _azure_net_ports(value: object) -> tuple[Ports, str | None]:
    if not isinstance(value, list) or not value:
        return (), "any port (rule lists no destinationPorts)"
    ports: list[PortRange] = []
    for item in value:
        _, found = _spec(str(item), "port")
        if found == ():
            return (), None  # "*"
        for span in found or ():
            if span not in ports:
                ports.append(span)
    return tuple(ports), None


class _JsonLocator:
    """Best-effort lines for JSON values: the json module forgets positions, so find each value's
    quoted text after the previous one found (the walk visits values in document order)."""

    def __init__(self, text: str, first_line: int) -> None:
        self.text, self.pos, self.line = text, 0, first_line

    def __call__(self, value: str) -> int:
        for needle in (json.dumps(value, ensure_ascii=False), json.dumps(value)):
            found = self.text.find(needle, self.pos)
            if found >= 0:
                self.line += self.text.count("\n", self.pos, found)
                self.pos = found + len(needle)
                break
        return self.line


def _azure_json(doc: _Doc, text: str, first_line: int) -> None:
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as exc:
        raise doc.error(first_line + exc.lineno - 1, f"JSON syntax error: {exc.msg}") from None
    _azure_walk(doc, tree, _JsonLocator(text, first_line))


def _read_azure_arm(doc: _Doc) -> None:
    _azure_json(doc, doc.text, 1)


# Bicep: just enough of the language to read object and array literals.  Anything else (variables,
# function calls, loops, interpolated strings) becomes an _Opaque value that the rules walk notes.
_BICEP_TOKEN_RE = re.compile(
    r"""
    (?P<space>[ \t]+)
    |(?P<newline>\n)
    |(?P<comment>//[^\n]*|/\*.*?\*/)
    |(?P<multi>'''.*?''')
    |(?P<string>'(?:\\.|[^'\\\n])*')
    |(?P<punct>[{}\[\]():,])
    |(?P<word>[^\s{}\[\]():,'/]+|/)
    """,
    re.VERBOSE | re.DOTALL,
)
_BICEP_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}

Token = tuple[str, str, int]  # (kind, text, line)


def _bicep_tokens(doc: _Doc, text: str, first_line: int) -> list[Token]:
    tokens: list[Token] = []
    pos, line = 0, first_line
    while pos < len(text):
        match = _BICEP_TOKEN_RE.match(text, pos)
        if match is None:
            raise doc.error(line, "unterminated string")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append((kind, match[0], line))
        line += match[0].count("\n")
        pos = match.end()
    return tokens


class _BicepParser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.pos = tokens, 0

    def _peek(self, ahead: int = 0) -> Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def _text(self, ahead: int = 0) -> str:
        token = self._peek(ahead)
        return token[1] if token else ""

    def literals(self) -> list[object]:
        """Every top-level object or array literal (the right-hand sides of resource/var/param)."""
        found: list[object] = []
        while (token := self._peek()) is not None:
            if token[1] == "{":
                found.append(self._object())
            elif token[1] == "[":
                found.append(self._array())
            else:
                self.pos += 1
        return found

    def _object(self) -> dict[str, object]:
        self.pos += 1  # "{"
        out: dict[str, object] = {}
        while (token := self._peek()) is not None:
            if token[0] == "newline" or token[1] == ",":
                self.pos += 1
            elif token[1] == "}":
                self.pos += 1
                break
            elif token[0] in ("word", "string") and self._text(1) == ":":
                key = token[1].strip("'")
                self.pos += 2
                out[key] = self._value(in_array=False)
            else:
                self._skip_expression()  # a decorator, a spread, something we do not read
                if self._peek() is token:
                    self.pos += 1
        return out

    def _array(self) -> list[object] | _Opaque:
        start = self._peek()
        self.pos += 1  # "["
        if self._text() == "for":  # [for x in xs: ...] is computed
            self.pos -= 1
            self._skip_expression()
            return _Opaque(start[2] if start else 0)
        out: list[object] = []
        while (token := self._peek()) is not None:
            if token[0] == "newline" or token[1] == ",":
                self.pos += 1
            elif token[1] == "]":
                self.pos += 1
                break
            else:
                before = self.pos
                out.append(self._value(in_array=True))
                if self.pos == before:  # a stray ")" or "}": step over it
                    self.pos += 1
        return out

    def _value(self, in_array: bool) -> object:
        token = self._peek()
        if token is None:
            return _Opaque(0)
        kind, text, line = token
        if text == "{":
            return self._object()
        if text == "[":
            return self._array()
        if kind in ("string", "multi") or (kind == "word" and re.fullmatch(r"-?\d+|true|false|null", text)):
            self.pos += 1
            if self._value_ended(in_array):
                return _bicep_literal(kind, text, line)
            self.pos -= 1
        self._skip_expression()
        return _Opaque(line)

    def _value_ended(self, in_array: bool) -> bool:
        token = self._peek()
        if token is None or token[0] == "newline" or token[1] in (",", "}", "]"):
            return True
        if in_array:  # Bicep arrays separate items by newlines or spaces: ['a' 'b']
            return token[0] in ("string", "multi", "word") or token[1] in ("{", "[")
        # Next key on the same line: { port: 443 protocolType: 'Https' }
        return token[0] in ("word", "string") and self._text(1) == ":"

    def _skip_expression(self) -> None:
        """Consume one expression up to the end of its line (or a closing bracket), keeping brackets balanced."""
        depth = 0
        while (token := self._peek()) is not None:
            text = token[1]
            if depth == 0 and (token[0] == "newline" or text in (",", "}", "]", ")")):
                return
            if text in ("{", "[", "("):
                depth += 1
            elif text in ("}", "]", ")"):
                depth -= 1
            self.pos += 1


def _bicep_literal(kind: str, text: str, line: int) -> object:
    if kind == "multi":
        return _Loc(text[3:-3], line)
    if kind == "string":
        if "${" in text:
            return _Opaque(line)  # interpolation: depends on parameters
        return _Loc(re.sub(r"\\(.)", lambda m: _BICEP_ESCAPES.get(m[1], m[1]), text[1:-1]), line)
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    return int(text)


def _azure_bicep(doc: _Doc, text: str, first_line: int) -> None:
    tree = _BicepParser(_bicep_tokens(doc, text, first_line)).literals()

    def locate(value: str) -> int:
        return value.line if isinstance(value, _Loc) else first_line

    _azure_walk(doc, tree, locate)


def _read_azure_bicep(doc: _Doc) -> None:
    _azure_bicep(doc, doc.text, 1)


# ---------------------------------------------------------------------------------------------
# cilium: CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy YAML

_CILIUM_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")


def _read_cilium(doc: _Doc) -> None:
    # Composed nodes rather than loaded data: nodes keep their line numbers.
    try:
        documents = list(yaml.compose_all(doc.text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise doc.error(mark.line + 1 if mark else None, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise doc.error(None, f"YAML error: {exc}") from None
    nodes = [node for node in documents if node is not None]
    for node in nodes:
        _cilium_document(doc, node)
    if nodes and not any(_is_cilium_policy(node) for node in nodes):
        # Not one policy in the file: say what was there rather than just "no entries".
        kind = _yscalar(_ymap(nodes[0]).get("kind")) or "(none)"
        raise doc.error(_yline(nodes[0]), f"expected kind {' or '.join(_CILIUM_KINDS)}, found {kind}")


def _is_cilium_policy(node: yaml.Node) -> bool:
    top = _ymap(node)
    kind = _yscalar(top.get("kind")) or ""
    return kind in _CILIUM_KINDS or any(_is_cilium_policy(item) for item in _yseq(top.get("items")))


def _ymap(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def _yseq(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _yscalar(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _yline(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _cilium_document(doc: _Doc, node: yaml.Node) -> None:
    if not isinstance(node, yaml.MappingNode):
        found = "a list" if isinstance(node, yaml.SequenceNode) else "plain text"
        raise doc.error(_yline(node), f"expected a CiliumNetworkPolicy (a YAML mapping), found {found}")
    top = _ymap(node)
    kind = _yscalar(top.get("kind")) or ""
    if kind.endswith("List") and "items" in top:  # kubectl get cnp -o yaml
        for item in _yseq(top["items"]):
            _cilium_document(doc, item)
        return
    if kind not in _CILIUM_KINDS:
        doc.note(_yline(node), f"skipped a YAML document of kind {kind or '(none)'}: not a Cilium network policy")
        return
    name = _yscalar(_ymap(top.get("metadata")).get("name"))
    specs = ([top["spec"]] if "spec" in top else []) + _yseq(top.get("specs"))
    for spec in specs:
        fields = _ymap(spec)
        if "egressDeny" in fields:
            doc.note(_yline(fields["egressDeny"]), f"skipped egressDeny of policy {name!r}: deny rules allow nothing")
        for rule in _yseq(fields.get("egress")):
            _cilium_egress_rule(doc, _ymap(rule), _yline(rule), name)


def _cilium_egress_rule(doc: _Doc, rule: dict[str, yaml.Node], line: int, name: str | None) -> None:
    targets: list[tuple[str, int, str | None]] = []  # (text, line, kind)
    for item in _yseq(rule.get("toFQDNs")):
        for key, value in _ymap(item).items():
            text = _yscalar(value)
            if key in ("matchName", "matchPattern") and text is not None:
                targets.append((text, _yline(value), "pattern" if key == "matchPattern" else None))
    for item in _yseq(rule.get("toCIDR")):
        if (text := _yscalar(item)) is not None:
            targets.append((text, _yline(item), None))
    for item in _yseq(rule.get("toCIDRSet")):
        fields = _ymap(item)
        if (cidr := _yscalar(fields.get("cidr"))) is not None:
            targets.append((cidr, _yline(fields["cidr"]), None))
        if "except" in fields:
            doc.note(_yline(fields["except"]), "toCIDRSet except ranges are not subtracted")
    if not targets:
        # toEndpoints (kube-dns), toServices...: cluster-internal, not an egress allowlist entry.
        entities = [_yscalar(e) for e in _yseq(rule.get("toEntities"))]
        if "world" in entities or "all" in entities:
            doc.note(line, f"policy {name!r} allows egress to entity 'world': every external destination")
        return
    groups = _cilium_ports(doc, rule.get("toPorts"))
    for text, text_line, kind in targets:
        for protocols, ports, assumed in groups:
            doc.add(text, text_line, protocols, ports, assumed=assumed, rule=name, kind=kind)


def _cilium_ports(doc: _Doc, node: yaml.Node | None) -> list[tuple[frozenset[str], Ports, str | None]]:
    """One (protocol, ports) group per protocol named in toPorts."""
    groups: dict[str, list[PortRange] | None] = {}  # None: every port
    defaulted: set[str] = set()
    for port_rule in _yseq(node):
        for item in _yseq(_ymap(port_rule).get("ports")):
            fields = _ymap(item)
            with doc.at(_yline(item)):
                protocol_text = _yscalar(fields.get("protocol"))
                protocol = _PROTOCOL_NAMES.get((protocol_text or "any").lower())
                if protocol not in ("TCP", "UDP", ANY):
                    raise _Problem(f"unknown protocol {protocol_text!r} (expected TCP, UDP or ANY)")
                if protocol_text is None:
                    defaulted.add(protocol)
                span = _cilium_port(_yscalar(fields.get("port")), _yscalar(fields.get("endPort")))
            current = groups.setdefault(protocol, [])
            if span is None or current is None:
                groups[protocol] = None
            elif span not in current:
                current.append(span)
    if not groups:
        return [(frozenset({ANY}), (), "any port and protocol (no toPorts)")]
    return [
        (
            frozenset({protocol}),
            tuple(spans) if spans is not None else (),
            "protocol ANY (Cilium default)" if protocol in defaulted else None,
        )
        for protocol, spans in groups.items()
    ]


def _cilium_port(port: str | None, end_port: str | None) -> PortRange | None:
    if port in (None, "", "0"):
        return None  # Cilium: port 0 or no port means every port
    assert port is not None
    if not port.isdigit():
        raise _Problem(f"named port {port!r} cannot be compared with captured traffic; use the number")
    if end_port is not None and not end_port.isdigit():
        raise _Problem(f"bad endPort {end_port!r}")
    return _port_range(int(port), int(end_port) if end_port else None)


# ---------------------------------------------------------------------------------------------
# squid: squid.conf dstdomain acls, or a plain dstdomain list file

_SQUID_ACL_RE = re.compile(r"^\s*acl\s+(\S+)\s+(\S+)\s*(.*?)\s*$", re.I)
_SQUID_ACCESS_RE = re.compile(r"^\s*http_access\s+(allow|deny)\b(.*)$", re.I)
_SQUID_PROTOCOLS = frozenset({"HTTP", "HTTPS"})
_SQUID_ASSUMED = "HTTP/HTTPS 80/443 (no squid port acls; CONNECT to 443)"


def _read_squid(doc: _Doc) -> None:
    if not any(_SQUID_ACL_RE.match(line) for line in doc.lines):
        _read_squid_list(doc)
        return
    # An acl named only by "http_access deny" lines is a blocklist.  "deny !Safe_ports" is the
    # usual way to allow ports, so negated names do not count.
    allowed: set[str] = set()
    denied: set[str] = set()
    for line in doc.lines:
        if access := _SQUID_ACCESS_RE.match(_strip_comment(line)):
            names = {word for word in access[2].split() if not word.startswith("!")}
            (allowed if access[1].lower() == "allow" else denied).update(names)
    deny_only = denied - allowed
    domains: list[tuple[str, int, str]] = []
    ports: list[PortRange] = []
    for number, line in enumerate(doc.lines, 1):
        acl = _SQUID_ACL_RE.match(_strip_comment(line))
        if not acl:
            continue
        name, acl_type = acl[1], acl[2].lower()
        values = [word for word in acl[3].split() if not word.startswith("-")]  # flags such as -i
        if acl_type not in ("dstdomain", "dst", "port", "dstdom_regex"):
            continue
        if name in deny_only:
            doc.note(number, f"skipped acl {name}: only http_access deny lines use it")
        elif acl_type == "dstdom_regex":
            doc.note(number, f"skipped acl {name}: dstdom_regex patterns are not compared")
        elif acl_type == "port":
            with doc.at(number):
                for value in values:
                    for span in _spec(value, "port")[1] or ():
                        if span not in ports:
                            ports.append(span)
        else:
            for value in values:
                if value.startswith('"'):
                    doc.note(number, f"acl {name} reads {value}: not followed (pass that file as its own allowlist)")
                else:
                    domains.append((value, number, name))
    assumed = None if ports else _SQUID_ASSUMED
    port_spans = tuple(sorted(ports, key=lambda span: (span.low, span.high))) or _WEB_PORTS
    for value, number, name in domains:
        doc.add(value, number, _SQUID_PROTOCOLS, port_spans, assumed=assumed, rule=name)


def _read_squid_list(doc: _Doc) -> None:
    for number, line in enumerate(doc.lines, 1):
        body = _strip_comment(line).strip()
        if body:
            doc.add(body, number, _SQUID_PROTOCOLS, _WEB_PORTS, assumed=_SQUID_ASSUMED)


# ---------------------------------------------------------------------------------------------
# csv: a header row naming the destination column

_CSV_DEST = {
    "fqdn",
    "fqdns",
    "destination",
    "destinations",
    "destinationfqdn",
    "domain",
    "domains",
    "host",
    "hosts",
    "hostname",
    "pattern",
    "target",
    "targetfqdn",
    "targetfqdns",
}
_CSV_PORT = {"port", "ports", "destinationport", "destinationports", "dport"}
_CSV_PROTOCOL = {"protocol", "protocols", "proto"}
_CSV_RULE = {"rule", "rulename", "name"}


def _csv_columns(line: str) -> set[str]:
    return {re.sub(r"[^a-z]", "", cell.lower()) for cell in next(csv.reader([line]), [])}


def _read_csv(doc: _Doc) -> None:
    reader = csv.reader(doc.lines)
    columns: dict[str, int | None] | None = None
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            header = [re.sub(r"[^a-z]", "", cell.lower()) for cell in row]
            columns = {
                "dest": _first_column(header, _CSV_DEST),
                "port": _first_column(header, _CSV_PORT),
                "protocol": _first_column(header, _CSV_PROTOCOL),
                "rule": _first_column(header, _CSV_RULE),
            }
            if columns["dest"] is None:
                looked_for = "fqdn, destination, domain, host, pattern, target"
                raise doc.error(number, f"CSV header has no destination column (looked for {looked_for})")
            continue

        def cell(name: str, row: list[str] = row, columns: dict[str, int | None] = columns) -> str:
            col = columns[name]
            return row[col].strip() if col is not None and col < len(row) else ""

        if not _clean(cell("dest")):
            doc.note(number, "skipped a row with an empty destination")
            continue
        with doc.at(number):
            host, protocols, ports = _host_and_spec(_clean(cell("dest")))
            if cell("port"):
                found_protocols, ports = _spec(cell("port"), "port")
                protocols = found_protocols or protocols
            if cell("protocol"):
                protocols, found_ports = _spec(cell("protocol"), "protocol")
                ports = found_ports if found_ports is not None else ports
            filled_protocols, filled_ports, assumed = _fill(
                protocols, ports, no_port="no port given", no_protocol="no protocol given"
            )
        doc.add(host, number, filled_protocols, filled_ports, assumed=assumed, rule=cell("rule") or None)


_READERS: dict[str, Callable[[_Doc], None]] = {
    "request-md": _read_request_md,
    "text": _read_text,
    "azure-bicep": _read_azure_bicep,
    "azure-arm": _read_azure_arm,
    "cilium": _read_cilium,
    "squid": _read_squid,
    "csv": _read_csv,
}
