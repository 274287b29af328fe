"""What every log reader shares: the observation row it yields, the reading's tally, timestamps.

A log row speaks the capture's vocabulary so that everything downstream (summary, review,
allowlist diff, history) is shared: protocols are ``TLS``, ``HTTP``, ``HTTP-CONNECT``, ``TCP``,
``UDP``, ``DNS``; a verdict is ``ok`` for an allowed connection and ``denied`` for one the log
says the firewall refused (the summary's Action is Deny for any verdict but ``ok`` and
``mid-stream``).  What the log says beyond that is kept in its own columns: ``verdict_reason``
(``No rule matched``, ``SNI TLS extension was missing``), ``rule`` and ``source_kind``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OK = "ok"
DENIED = "denied"  # the log says the firewall refused it (a capture would show a reset or silence)
UNPARSED_SHOWN = 5  # unparsed lines whose numbers a warning names
NOTES_KEPT = 20  # distinct notes a warning each (a log of many rules' failures must not grow without bound)


@dataclass(slots=True)
class Tally:
    """What reading one log found: records, unparsed lines (the first few numbers), time span."""

    path: str
    format: str
    compressed: bool = False
    records: int = 0
    unparsed: int = 0
    unparsed_lines: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), the first few
    truncated: bool = False
    first_ts: int | None = None
    last_ts: int | None = None
    tables: set[str] = field(default_factory=set)  # AZFWApplicationRule, squid, ...: what the KQL names
    warnings: list[str] = field(default_factory=list)
    # Records read but holding no verdict, or more than a row says (a firewall's failed lookup and its
    # rule): each distinct text and how many records gave it, the first NOTES_KEPT of them.
    notes: dict[str, int] = field(default_factory=dict)
    notes_dropped: int = 0

    def note(self, text: str, keep: bool = False) -> None:
        """Count a note; ``keep``: one of a few fixed texts, never crowded out by the many varying ones."""
        if keep or text in self.notes or len(self.notes) < NOTES_KEPT:
            self.notes[text] = self.notes.get(text, 0) + 1
        else:
            self.notes_dropped += 1

    def bad(self, line: int, reason: str) -> None:
        self.unparsed += 1
        if len(self.unparsed_lines) < UNPARSED_SHOWN:
            self.unparsed_lines.append((line, reason))

    def seen(self, ts: int | None) -> None:
        if ts is None:
            return
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts

    def summary_warnings(self) -> list[str]:
        out = list(self.warnings)
        for text, n in self.notes.items():
            out.append(f"{self.path}: {text}" + (f" ({n} records)" if n > 1 else ""))
        if self.notes_dropped:
            out.append(f"{self.path}: {self.notes_dropped} more record(s) with notes of other kinds")
        if self.unparsed:
            shown = ", ".join(f"line {n} ({why})" for n, why in self.unparsed_lines)
            more = "" if self.unparsed <= len(self.unparsed_lines) else ", ..."
            out.append(f"{self.path}: {self.unparsed} line(s) not understood as {self.format}: {shown}{more}")
        return out


def observation(
    *,
    kind: str,
    ts: int | None,
    protocol: str,
    port: int,
    fqdn: str | None,
    address: str | None,
    verdict: str,
    source: str,
    client: str | None = None,
    client_port: int | None = None,
    reason: str | None = None,
    rule: str | None = None,
    count: int = 1,
    nbytes: int = 0,
    via: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """One observations row (schema ``OBSERVATIONS``) from a log record."""
    return {
        "protocol": protocol,
        "port": port,
        "fqdn": fqdn,
        "address": address,
        "count": count,
        "bytes": nbytes,
        "verdict": verdict,
        "first_seen": ts,
        "last_seen": ts,
        "source": source,
        "via": via,
        "detail": detail,
        "link_broadcast": False,
        "source_kind": kind,
        "client": client,
        "client_port": client_port,
        "verdict_reason": reason,
        "rule": rule,
        "confirmed": None,
        "conflict": None,
    }


def dns_lookup(
    *, kind: str, ts: int | None, qname: str, qtype: str | None, rcode: str | None, server: str | None = None
) -> dict[str, Any]:
    """A DNS lookup a log reports: routed to the dns table (as a capture's lookups are), never an
    egress connection of its own.  The keys ``qtype``/``rcode``/``server`` exist only on these rows."""
    name = qname.strip().rstrip(".").lower()
    row = observation(kind=kind, ts=ts, protocol="DNS", port=53, fqdn=name, address=None, verdict=OK, source="dns")
    row.update(qtype=qtype, rcode=rcode, server=server)
    return row


# -- names, ports, protocols ---------------------------------------------------------------------

_APP_PROTOCOLS = {
    "HTTPS": "TLS",
    "TLS": "TLS",
    "HTTP": "HTTP",
    "TCP": "TCP",
    "UDP": "UDP",
    "ICMP": "ICMP",
    "DNS": "DNS",
}


def protocol_of(text: str | None, port: int | None = None) -> str:
    """A log's protocol in the capture's words: HTTPS is TLS, ``HTTP/1.1`` is HTTP, Any is TCP."""
    word = (text or "").strip().upper()
    if word.startswith("HTTP/") or word.startswith("HTTP:"):
        word = "HTTP"
    if word.startswith("HTTPS:"):
        word = "HTTPS"
    return _APP_PROTOCOLS.get(word, "TCP" if word in ("", "ANY") else word[:16])


def port_of(value: Any) -> int | None:
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return port if 0 <= port <= 65535 else None


def name_of(value: Any) -> str | None:
    """A host name as a log gives it, lower case without a trailing dot; None when empty or an address."""
    if not isinstance(value, str):
        return None
    name = value.strip().rstrip(".").lower()
    if not name or name in ("-", "n/a") or _IP.match(name):
        return None
    return name


_IP = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*)$")


def is_address(value: str | None) -> bool:
    return bool(value) and bool(_IP.match(str(value).strip().lower()))


def split_host_port(text: str) -> tuple[str, int | None]:
    """``host:443``, ``[2001:db8::1]:443``, ``host`` (no port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, port_of(rest[1:]) if rest.startswith(":") else None
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, port_of(port)
    return text, None


# -- timestamps -------------------------------------------------------------------------------------

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE
)
# The portal's CSV export: 6/10/2024, 6:13:20.123 AM
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*([AP]M)?$", re.I)


def iso_ns(text: Any) -> int | None:
    """ISO-8601 (any fraction up to ns, ``Z`` or an offset; no zone means UTC), the portal's
    ``M/D/YYYY, h:mm:ss.fff AM``, or epoch seconds; integer ns, None when it is none of these."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return int(text * 1_000_000_000)
    if not isinstance(text, str):
        return None
    s = text.strip().removesuffix(" [UTC]")
    m = _ISO.match(s)
    if m:
        y, mo, d, h, mi, sec, frac, zone = m.groups()
        offset = 0
        if zone and zone.upper() != "Z":
            z = zone.replace(":", "")
            offset = (int(z[1:3]) * 3600 + int(z[3:5]) * 60) * (1 if z[0] == "+" else -1)
        return _ns(int(y), int(mo), int(d), int(h), int(mi), int(sec), frac, offset)
    m = _US.match(s)
    if m:
        mo, d, y, h, mi, sec, frac, ampm = m.groups()
        hour = int(h) % 12 + (12 if ampm and ampm.upper() == "PM" else 0) if ampm else int(h)
        return _ns(int(y), int(mo), int(d), hour, int(mi), int(sec), frac, 0)
    return epoch_ns(s)


def epoch_ns(text: str) -> int | None:
    """``1718000000.123`` as integer ns, exactly (a float would lose the last digits)."""
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None
    return int(whole) * 1_000_000_000 + (int(frac.ljust(9, "0")[:9]) if frac else 0)


def _ns(y: int, mo: int, d: int, h: int, mi: int, s: int, frac: str | None, offset: int) -> int | None:
    try:
        secs = int(datetime(y, mo, d, h, mi, min(s, 59), tzinfo=UTC).timestamp()) - offset
    except ValueError:
        return None
    return secs * 1_000_000_000 + (int(frac.ljust(9, "0")[:9]) if frac else 0)
