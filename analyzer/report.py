"""What an analysis returns: the typed, frozen :class:`Report` every renderer and front end reads.

Kept apart from :mod:`analyzer.api` so that a renderer can name the type without loading the
engine and the packet decoders (``import reports.jsondoc`` stays light).

The review of a capture lives in columns of the rows it speaks of, never in side structures
that point at rows by position: each summary row carries its noise kind, its allowlist status
and the entry that allows it; each DNS row its noise kind and ``dns-only`` status.  Allowlist
entries nobody used (``excess``) and the allowlist's own problems (``lint``) are tables of
their own.  The methods below are views over those columns, in table order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analyzer.frames import Table


@dataclass(frozen=True, slots=True)
class CaptureInfo:
    """Facts about the capture file.  Timestamps are integer nanoseconds (UTC); renderers format them."""

    path: str
    format: str  # pcap, pcapng
    compressed: bool
    nanosecond: bool
    link_types: tuple[int, ...]
    link_type_names: tuple[str, ...]
    packets: int
    bytes: int
    first_ts: int | None
    last_ts: int | None
    truncated: bool
    parse_errors: int
    non_ip_packets: int
    undecoded_link_type_packets: int
    flows: int
    fragments_dropped: int


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One log read as a source of observations (a firewall or proxy log, not a capture)."""

    path: str
    format: str  # azure-firewall-json, squid, ...: analyzer.sources.FORMATS
    compressed: bool
    records: int  # observations and DNS lookups read
    unparsed: int  # lines (or records) not understood
    unparsed_lines: tuple[tuple[int, str], ...]  # the first few: (line number, reason)
    truncated: bool  # the last line was cut off
    first_ts: int | None
    last_ts: int | None
    tables: tuple[str, ...]  # what the log holds: AZFWApplicationRule, AzureDiagnostics, squid, ...


@dataclass(frozen=True, slots=True)
class AllowlistInfo:
    """The allowlist a report was compared with."""

    files: tuple[str, ...]
    formats: tuple[str, ...]
    entries: int
    notes: tuple[str, ...]
    dialect: str


@dataclass(frozen=True, slots=True)
class NoiseItem:
    """One thing left out as noise: a DNS name (``protocol`` None), or a summary row."""

    name: str | None  # the DNS name, or the row's fqdn (None: an address-only row)
    kind: str
    reason: str
    addresses: tuple[str, ...] = ()
    protocol: str | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One group of the allowlist a capture justifies: exact names under a registrable domain, or an address."""

    domain: str | None
    names: tuple[str, ...]
    addresses: tuple[str, ...]
    ports: tuple[str, ...]  # "TCP/443"
    note: str | None


@dataclass(frozen=True, slots=True)
class LintReport:
    """``egress lint``: an allowlist on its own."""

    allowlist: AllowlistInfo
    lint: Table


@dataclass(frozen=True, slots=True)
class Report:
    capture: CaptureInfo
    warnings: tuple[str, ...]
    summary: Table
    flows: Table
    http: Table
    dns: Table
    parse_errors: Table
    observations: Table  # one row per connection and name: what other sources merge with, and history stores
    excess: Table  # allowlist entries no connection matched (empty without an allowlist)
    lint: Table  # the allowlist's own problems (empty without an allowlist)
    suggested: tuple[Suggestion, ...] = ()
    allowlist: AllowlistInfo | None = None
    # Logs read with (or instead of) the capture, and what they said per summary row (rule, reason,
    # confirmed by the other source or not): empty for a capture alone.
    sources: tuple[SourceInfo, ...] = ()
    log_verdicts: Table | None = None
    tables: dict[str, Table] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tables = {
            name: getattr(self, name)
            for name in ("summary", "flows", "http", "dns", "parse_errors", "excess", "lint", "observations")
        }
        object.__setattr__(self, "tables", tables)

    def table(self, name: str) -> Table:
        return self.tables[name]

    # Views over the review columns, in table order.

    def egress(self) -> list[dict[str, Any]]:
        """Summary rows that are egress (not noise): what the operator acts on."""
        return [r for r in self.summary.rows if r["noise"] is None]

    def missing(self) -> list[dict[str, Any]]:
        return [r for r in self.summary.rows if r["status"] == "missing"]

    def covered(self) -> list[dict[str, Any]]:
        return [r for r in self.summary.rows if r["status"] in ("covered", "blocked-but-allowed")]

    def blocked_but_allowed(self) -> list[dict[str, Any]]:
        return [r for r in self.summary.rows if r["status"] == "blocked-but-allowed"]

    def blocked(self) -> list[dict[str, Any]]:
        """Egress rows the capture shows denied (the ``--fail-on blocked`` gate)."""
        return [r for r in self.summary.rows if r["noise"] is None and r["action"] == "Deny"]

    def dns_only(self) -> list[dict[str, Any]]:
        """Names resolved but never connected to, one row per name (the first of its lookups)."""
        seen: set[str] = set()
        out = []
        for r in self.dns.rows:
            if r["status"] == "dns-only" and r["qname"] not in seen:
                seen.add(r["qname"])
                out.append(r)
        return out

    def noise(self) -> list[NoiseItem]:
        """What was left out: noise DNS names (sorted, once each), then noise summary rows in summary order."""
        names: dict[str, NoiseItem] = {}
        for r in self.dns.rows:
            if r["noise"] is not None and r["qname"] not in names:
                names[r["qname"]] = NoiseItem(r["qname"], r["noise"], r["noise_reason"])
        out = [names[n] for n in sorted(names)]
        for r in self.summary.rows:
            if r["noise"] is not None:
                out.append(
                    NoiseItem(r["fqdn"], r["noise"], r["noise_reason"], tuple(r["addresses"]), r["protocol"], r["port"])
                )
        return out

    def log_verdict(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """What the logs said of a summary row (its rule, reason, confirmed count), None when nothing."""
        if self.log_verdicts is None or not len(self.log_verdicts):
            return None
        index = self._log_index()
        name = row["fqdn"] if row["fqdn"] is not None else (row["addresses"][0] if row["addresses"] else None)
        return index.get((row["protocol"], row["port"], name, row["verdict"]))

    def _log_index(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        rows = self.log_verdicts.rows if self.log_verdicts is not None else []
        return {(r["protocol"], r["port"], r["fqdn"] or r["address"], r["verdict"]): r for r in rows}

    def noise_names(self) -> set[str]:
        return {r["qname"] for r in self.dns.rows if r["noise"] is not None}
