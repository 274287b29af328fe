"""What every allowlist reader shares: the file being read, and the parsing of destinations and ports.

A reader turns one :class:`Doc` into :class:`Entry` rows.  It reports unreadable input as
``AllowlistError(file, line, problem)`` (raise :class:`Problem` inside ``doc.at(line)``) and
records each default it fills in twice: on the entry (``Entry.assumed``) and as a sentence in the
notes, next to a sentence for everything it skipped.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from analyzer.allowlist.model import ANY, AllowlistError, Entry, InvalidLine, PortRange

WEB_PORTS = (PortRange(80, 80), PortRange(443, 443))
PROTOCOL_NAMES = {"tcp": "TCP", "udp": "UDP", "http": "HTTP", "https": "HTTPS", "any": ANY}
_ANY_WORDS = ("any", "all", "*")

# One file may hold at most this many entries: past it the file is a mistake or an attack
# (YAML aliases, a generated list), and lint and the diff would only bury the answer.
MAX_ENTRIES = 200_000

# How deep objects and lists may nest in a JSON, YAML or Bicep allowlist.  Real firewall rules
# nest about ten levels; the JSON, YAML and Bicep parsers and the rule walks recurse once or
# more per level, so a hostile file nested thousands deep would end in a RecursionError.
MAX_DEPTH = 100


class TooDeep(Exception):
    """A document nests deeper than MAX_DEPTH; ``line`` is where it went past."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def too_deep(doc_error: Callable[[int | None, str], AllowlistError], line: int) -> AllowlistError:
    return doc_error(line, f"nested more than {MAX_DEPTH} levels deep: not a firewall rule set")


_JSON_NESTING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_too_deep(text: str) -> int | None:
    """The 0-based offset where JSON ``text`` nests past MAX_DEPTH, else None (brackets inside
    strings do not count).  Checked before json.loads, which would recurse that deep."""
    depth = 0
    for match in _JSON_NESTING_RE.finditer(text):
        token = match[0]
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif token in "]}":
            depth -= 1
    return None


class Problem(Exception):
    """What is wrong with one piece of input; the caller knows the line and makes the AllowlistError."""


@dataclass
class Doc:
    """One file being read: its lines, and the entries and notes found so far."""

    file: str
    text: str
    entries: list[Entry] = field(default_factory=list)
    notes: list[tuple[int | None, str]] = field(default_factory=list)
    invalid: list[InvalidLine] = field(default_factory=list)
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.text.split("\n")

    def raw(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""

    def error(self, line: int | None, problem: str) -> AllowlistError:
        return AllowlistError(self.file, line, problem)

    @contextmanager
    def at(self, line: int | None) -> Iterator[None]:
        """Turn a Problem raised inside the block into an AllowlistError for ``line``."""
        try:
            yield
        except Problem as exc:
            raise self.error(line, str(exc)) from None

    @contextmanager
    def entry(self, line: int) -> Iterator[None]:
        """Read one destination: a Problem raised inside the block skips it as an invalid line
        and reading goes on (a document-wide problem uses :meth:`at` and stops the read)."""
        try:
            yield
        except Problem as exc:
            self.skip(line, self.raw(line), str(exc))

    def skip(self, line: int, text: str, problem: str) -> None:
        self.invalid.append(InvalidLine(self.file, line, text, problem))

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
        try:
            pattern, found_kind = _pattern(text, kind)
        except Problem as exc:
            self.skip(line, text.strip() or self.raw(line), str(exc))
            return
        if len(self.entries) >= MAX_ENTRIES:
            raise self.error(line, f"more than {MAX_ENTRIES:,} entries in one file: split it, or check how it was made")
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
        """The skip sentences in the order they were found, then one for the invalid lines, then one
        sentence per default assumed."""
        out = [f"{self.file}:{line}: {text}" if line else f"{self.file}: {text}" for line, text in self.notes]
        if self.invalid:
            numbers = [bad.line for bad in self.invalid]
            shown = ", ".join(str(n) for n in numbers[:8]) + (", ..." if len(numbers) > 8 else "")
            noun = "invalid entry" if len(numbers) == 1 else "invalid entries"
            out.append(f"{self.file}: skipped {len(numbers)} {noun} (line {shown}): each is an 'invalid' lint finding")
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


def plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


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
        raise Problem("empty destination")
    if any(ch.isspace() for ch in pattern):
        raise Problem(f"entry has spaces inside: {written!r}")
    if kind in ("pattern", "tag"):
        if not _LOOSE_RE.fullmatch(pattern):
            raise Problem(f"{written!r} is not a valid {kind}")
        return pattern, kind
    if pattern == "*":
        return pattern, "pattern"  # every destination
    if is_address(pattern):
        return pattern, "address"
    if _HOST_RE.fullmatch(pattern):
        if pattern.rsplit(".", 1)[-1].isdigit():
            # 999.1.1.1, 10.0.0.256, 1.2.3: no top-level domain is all digits, so this is a
            # mistyped address, and a firewall would read it as neither an address nor a name.
            raise Problem(f"{written!r} is not a valid IP address, and a host name cannot end in a number")
        return pattern, "fqdn"
    raise Problem(f"{written!r} is not a host name, address or pattern")


def is_address(text: str) -> bool:
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def port_range(low: int, high: int | None = None) -> PortRange:
    high = low if high is None else high
    for port in (low, high):
        if not 1 <= port <= 65535:
            raise Problem(f"port {port} is out of range (1-65535)")
    if high < low:
        raise Problem(f"port range {low}-{high} ends before it starts")
    return PortRange(low, high)


_SPEC_SPLIT_RE = re.compile(r"[\s,;/+&()]+|\band\b|\bor\b", re.I)
_RANGE_RE = re.compile(r"(\d+)(?:-(\d+))?")
_SPEC_WORD = r"(?:tcp|udp|https?|any|\d+(?:-\d+)?)"
# A token that only names protocols and ports: "443", "80,443", "tcp/443", "443/tcp", "udp".
SPEC_TOKEN_RE = re.compile(rf"{_SPEC_WORD}(?:[/,;]{_SPEC_WORD})*", re.I)

Ports = tuple[PortRange, ...]


def parse_spec(text: str, meaning: str) -> tuple[frozenset[str] | None, Ports | None]:
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
        elif token in PROTOCOL_NAMES:
            protocols.add(PROTOCOL_NAMES[token])
        elif match := _RANGE_RE.fullmatch(token):
            span = port_range(int(match[1]), int(match[2]) if match[2] else None)
            if span not in ports:
                ports.append(span)
        else:
            expected = "a number or range" if meaning == "port" else "TCP, UDP, HTTP, HTTPS or ANY"
            raise Problem(f"bad {meaning} {token!r} (expected {expected})")
    found_ports: Ports | None = () if any_port else (tuple(ports) or None)
    return (frozenset(protocols) or None), found_ports


def _default_ports(protocols: frozenset[str]) -> tuple[Ports, str]:
    if protocols == {"HTTPS"}:
        return (PortRange(443, 443),), "port 443"
    if protocols == {"HTTP"}:
        return (PortRange(80, 80),), "port 80"
    if protocols & {"UDP", ANY}:
        return (), "any port"
    return WEB_PORTS, "ports 80/443"


def fill_defaults(
    protocols: frozenset[str] | None, ports: Ports | None, *, no_port: str, no_protocol: str
) -> tuple[frozenset[str], Ports, str | None]:
    """Fill in what an entry and its section left out, and say so (for ``Entry.assumed``)."""
    if protocols is None and ports is None:
        return frozenset({"TCP"}), WEB_PORTS, f"TCP 80/443 ({no_port})"
    if protocols is None:
        assert ports is not None
        return frozenset({"TCP"}), ports, f"TCP ({no_protocol})"
    if ports is None:
        guessed, described = _default_ports(protocols)
        return protocols, guessed, f"{described} ({no_port})"
    return protocols, ports, None


def host_and_spec(text: str) -> tuple[str, frozenset[str] | None, Ports | None]:
    """Split "host:443", "host:80,443", "tcp/443 host", "host udp/123", "host 443", "[v6]:443"."""
    protocols: frozenset[str] | None = None
    ports: Ports | None = None
    hosts: list[str] = []
    for token in text.split():
        if SPEC_TOKEN_RE.fullmatch(token):
            found_protocols, found_ports = parse_spec(token, "port")
            protocols = found_protocols if found_protocols is not None else protocols
            ports = found_ports if found_ports is not None else ports
        else:
            hosts.append(token)
    if len(hosts) > 1:
        raise Problem(f"entry has spaces inside: {text!r}")
    if not hosts:
        raise Problem(f"no host name in {text!r}")
    host, port_text = _split_host_port(hosts[0])
    if port_text is not None:
        if not port_text:
            raise Problem(f"nothing after ':' in {hosts[0]!r} (expected a port)")
        found_protocols, found_ports = parse_spec(port_text, "port")
        protocols = found_protocols if found_protocols is not None else protocols
        ports = found_ports if found_ports is not None else ports
    return host, protocols, ports


def _split_host_port(token: str) -> tuple[str, str | None]:
    if token.startswith("["):  # [2001:db8::1]:443
        end = token.find("]")
        if end < 0:
            raise Problem(f"unclosed '[' in {token!r}")
        rest = token[end + 1 :]
        if rest and not rest.startswith(":"):
            raise Problem(f"unexpected {rest!r} after ']' in {token!r}")
        return token[1:end], (rest[1:] if rest else None)
    if token.count(":") == 1:
        host, _, port = token.partition(":")
        return host, port
    return token, None  # no port, or a bare IPv6 address


_COMMENT_RE = re.compile(r"(?:^|\s)#.*$")


def strip_comment(line: str) -> str:
    return _COMMENT_RE.sub("", line)


_LINK_RE = re.compile(r"\[((?:\\.|[^\]\\])*)\]\([^)]*\)")  # [text](url) -> text
_AUTOLINK_RE = re.compile(r"<([a-z][a-z0-9+.-]*:[^>\s]*)>", re.I)
_EMPHASIS_RE = re.compile(r"^(\*\*|__)(.+)\1$")
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash escapes ASCII punctuation
_BULLET_RE = re.compile(r"^(?:[-+*]|\d+[.)])\s+")
_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/?#\s]*@)?([^/?#\s]+)\S*", re.I)


def clean(text: str) -> str:
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


def first_column(header: list[str], names: set[str]) -> int | None:
    return next((i for i, name in enumerate(header) if name in names), None)


@dataclass(frozen=True, slots=True)
class Format:
    """One allowlist format: its name (``--allowlist-format``), its reader, and what the reader
    looks for, for the "no allowlist entries found" message."""

    name: str
    read: Callable[[Doc], None]
    looked_for: str
