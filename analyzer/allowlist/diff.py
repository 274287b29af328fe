"""Observed egress against a requested allowlist: covered, missing, blocked-but-allowed, excess, dns-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analyzer.allowlist.dialects import exact_name, matcher_or_never
from analyzer.allowlist.index import EntryIndex
from analyzer.allowlist.model import Allowlist, Entry
from analyzer.frames import Table
from analyzer.naming import transport_of

# Which entry protocols can carry which observed protocol.
# "TCP" here means no application bytes were recognised: typically a connection the firewall
# stopped before the ClientHello or request left (no-reply, reset, unreachable).  An HTTP/HTTPS
# rule is then judged on the port alone, since that is all the device would have had to go on.
_APP_OK = {
    "HTTPS": {"TLS", "HTTP-CONNECT", "TCP"},  # a CONNECT to :443 is how a proxy sees HTTPS
    "HTTP": {"HTTP", "TCP"},
    "MSSQL": set(),
}


def protocol_allowed(entry: Entry, protocol: str) -> bool:
    for p in entry.protocols:
        if p == "ANY" or p == transport_of(protocol):
            return True
        if protocol in _APP_OK.get(p, set()):
            return True
    return False


def _entry_label(e: Entry) -> str:
    return e.pattern


def _protocols_text(e: Entry) -> str:
    return "/".join(sorted(e.protocols)) + " " + e.port_text()


@dataclass
class Diff:
    dialect: str
    covered: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    blocked_but_allowed: list[dict[str, Any]] = field(default_factory=list)
    excess: list[dict[str, Any]] = field(default_factory=list)
    dns_only: list[dict[str, Any]] = field(default_factory=list)
    lint: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "missing": self.missing,
            "excess": self.excess,
            "covered": self.covered,
            "blocked_but_allowed": self.blocked_but_allowed,
            "dns_only": self.dns_only,
            "lint": self.lint,
        }


def diff(
    summary: Table,
    dns: Table,
    allowlist: Allowlist,
    dialect: str,
    noise_rows: set[int],
    noise_names: set[str],
) -> Diff:
    out = Diff(dialect)
    entries = allowlist.entries
    exact = [exact_name(dialect, e.pattern) if e.kind != "address" else None for e in entries]
    # Entries are looked up by name, anchor label or network, not tried one by one per row.
    index = EntryIndex(entries, dialect)
    used = [False] * len(entries)
    contacted: set[str] = set()
    for i, row in enumerate(summary.rows):
        if i in noise_rows:
            continue
        fqdn: str | None = row["fqdn"]
        address: str | None = row["address"]
        protocol, port, verdict = str(row["protocol"]), int(row["port"]), str(row["verdict"])
        if fqdn:
            contacted.add(fqdn)
        name_hits = index.matches(fqdn, address)  # in entry order: it decides which entry is named
        full = [j for j in name_hits if protocol_allowed(entries[j], protocol) and entries[j].allows_port(port)]
        for j in name_hits:
            used[j] = True  # a name match makes an entry "used" even when its port is wrong
        label = fqdn if fqdn is not None else address
        base = {
            "fqdn": fqdn,
            "address": address if fqdn is None else None,
            "protocol": protocol,
            "port": port,
            "verdict": verdict,
            "count": int(row["count"]),
        }
        if full:
            entry = entries[full[0]]
            rec = {**base, "entry": _entry_label(entry), "entry_line": entry.line}
            out.covered.append(rec)
            if verdict != "ok":
                out.blocked_but_allowed.append(
                    {
                        **rec,
                        "reason": f"allowed by {entry.pattern} ({_protocols_text(entry)}) yet the capture shows "
                        f"{verdict}: the rule is not applied yet, or another device blocks it",
                    }
                )
            continue
        if name_hits:
            e = entries[name_hits[0]]
            if not protocol_allowed(e, protocol):
                transport = transport_of(protocol)
                what = f"{transport} {port}" + (f" ({protocol})" if protocol != transport else "")
                reason = f"{e.pattern} matches but {what} is not allowed (entry allows {_protocols_text(e)})"
            else:
                reason = f"{e.pattern} matches but port {port} is not allowed (entry allows {_protocols_text(e)})"
        elif fqdn is None:
            reason = (
                f"no name seen for {label} (no SNI, Host or DNS answer): FQDN rules cannot match it; "
                "it needs a network rule for the address"
            )
        else:
            reason = f"no entry matches {label}"
        if verdict != "ok":
            reason += f"; the capture shows {verdict}, a likely cause of the failed install"
        out.missing.append({**base, "reason": reason})
    qnames = dns.column("qname")
    asked = set(qnames)
    for j, e in enumerate(entries):
        if not used[j]:
            out.excess.append(
                {
                    "entry": e.pattern,
                    "line": e.line,
                    "file": e.file,
                    "reason": "no observed connection matched it" + _dns_hint(e, dialect, exact[j], qnames, asked),
                }
            )
    seen: set[str] = set()
    for row in dns.where(service="dns", rcode="NOERROR"):
        name = str(row["qname"])
        if name in contacted or name in noise_names or name in seen or not row["answers"]:
            continue
        seen.add(name)
        out.dns_only.append(
            {
                "fqdn": name,
                "qtype": row["qtype"],
                "answers": list(row["answers"]),
                "reason": "resolved but never connected to (not evidence that the rule is needed)",
            }
        )
    return out


def _dns_hint(entry: Entry, dialect: str, exact: str | None, qnames: list[str], asked: set[str]) -> str:
    if exact is not None:  # the entry's one name, when it has no wildcard
        names = [exact] if exact in asked else []
    else:
        m, _ = matcher_or_never(dialect, entry.pattern)
        names = [q for q in qnames if m(q)]
    if names:
        return f" (only DNS lookups: {', '.join(sorted(set(names))[:3])})"
    return ""
