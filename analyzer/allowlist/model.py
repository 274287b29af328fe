"""What an allowlist entry is, whatever document it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.errors import InputError

# Application protocols a firewall rule can name, normalised.  "TCP"/"UDP" are transport-level
# rules (network rules); HTTP/HTTPS are what Azure application rules and squid speak.
ANY = "ANY"


@dataclass(frozen=True, slots=True)
class PortRange:
    low: int
    high: int

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One destination pattern with the protocols and ports it allows.

    ``protocols`` holds upper-case names: TCP, UDP, HTTP, HTTPS, ANY.  An empty ``ports``
    tuple means every port.  ``assumed`` says which default filled a gap in the document
    (for example "ports 80/443 from the request header"), so a reader can check it.
    """

    pattern: str
    protocols: frozenset[str]
    ports: tuple[PortRange, ...]
    file: str
    line: int
    raw: str
    kind: str = "fqdn"  # fqdn, pattern (cilium matchPattern), address (an IP or CIDR)
    assumed: str | None = None
    rule: str | None = None  # the rule or section name the entry came from

    def port_text(self) -> str:
        return "/".join(str(p) for p in self.ports) if self.ports else "any"

    def allows_port(self, port: int) -> bool:
        return not self.ports or any(port in r for r in self.ports)


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A destination the reader could not take (``foo..bar.com``, port 99999): skipped, not fatal,
    because an allowlist is a document a person wrote; lint lists each one with its line."""

    file: str
    line: int
    text: str  # the destination as written, or the whole line when no destination was found
    problem: str


@dataclass
class Allowlist:
    entries: list[Entry] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)  # detected format per file
    notes: list[str] = field(default_factory=list)  # defaults assumed, things skipped
    files: list[str] = field(default_factory=list)  # the files read, in order
    invalid: list[InvalidLine] = field(default_factory=list)  # lines skipped as not valid entries

    def extend(self, other: Allowlist) -> None:
        self.entries.extend(other.entries)
        self.formats.extend(other.formats)
        self.notes.extend(other.notes)
        self.files.extend(other.files)
        self.invalid.extend(other.invalid)


class AllowlistError(InputError):
    """An allowlist file that cannot be read: names the file, the line and the problem."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem
