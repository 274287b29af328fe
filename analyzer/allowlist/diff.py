"""Observed egress against a requested allowlist: covered, missing, blocked-but-allowed, excess, dns-only."""

from __future__ import annotations

from typing import Any

from analyzer.allowlist.dialects import exact_name, matcher_or_never
from analyzer.allowlist.index import EntryIndex, NamesByEnd
from analyzer.allowlist.model import Allowlist, Entry
from analyzer.frames import Table
from analyzer.protocols import name_only, transport_of
from analyzer.summary import unlisted, unlisted_reason

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


def diff(summary: Table, dns: Table, allowlist: Allowlist, dialect: str) -> list[dict[str, Any]]:
    """Fill the ``status``, ``entry``, ``entry_line`` and ``reason`` columns of every summary row that is
    not noise, ``status`` = ``dns-only`` on DNS rows resolved but never connected to; return the excess
    rows (entries no connection matched).  Noise columns must be filled first."""
    entries = allowlist.entries
    exact = [exact_name(dialect, e.pattern) if e.kind != "address" else None for e in entries]
    # Entries are looked up by name, anchor label or network, not tried one by one per row.
    index = EntryIndex(entries, dialect)
    used = [False] * len(entries)
    contacted: set[str] = set()
    # (protocol, port) -> entry -> whether the entry allows them: a capture has a few of each pair
    # for thousands of rows (the checks of 10k rows: 2.5 times faster).
    fits: dict[tuple[str, int], dict[int, bool]] = {}
    allows_texts: dict[int, str] = {}

    def allows_text(j: int) -> str:
        """Entry ``j``'s "TCP 80/443", built once: thousands of blocked rows cite the same few entries."""
        text = allows_texts.get(j)
        if text is None:
            text = allows_texts[j] = _protocols_text(entries[j])
        return text

    for row in summary.rows:
        if row["noise"] is not None:
            continue
        fqdn: str | None = row["fqdn"]
        addresses: list[str] = row["addresses"]
        protocol, port, verdict = str(row["protocol"]), int(row["port"]), str(row["verdict"])
        # Only a Deny is a finding against the firewall: a connection joined mid-stream (Unknown)
        # proves neither that the rule works nor that it does not.
        denied = row["action"] == "Deny"
        if fqdn:
            contacted.add(fqdn)
        name_hits = index.matches(fqdn, addresses)  # in entry order: it decides which entry is named
        if name_only(protocol):
            # A lookup a DNS firewall blocked (only logs make these rows: a capture's lookups stay in the dns
            # table).  DNS firewalls judge the name alone: any entry naming it is the one that should let it
            # through, whatever its ports.
            for j in name_hits:
                used[j] = True
            if name_hits:
                entry = entries[name_hits[0]]
                row["entry"], row["entry_line"] = _entry_label(entry), entry.line
                row["status"] = "blocked-but-allowed" if denied else "covered"
                if denied:
                    row["reason"] = (
                        f"allowed by {entry.pattern} ({allows_text(name_hits[0])}) yet a DNS firewall blocked its "
                        "lookup: the name is not on the DNS firewall's allowed domains, or a blocked-domain list "
                        "names it"
                    )
            else:
                row["status"] = "missing"
                row["reason"] = f"no entry matches {fqdn}" + (
                    "; a DNS firewall blocked its lookup, so nothing connected" if denied else ""
                )
            continue
        fit = fits.get((protocol, port))
        if fit is None:
            fit = fits[protocol, port] = {}
        full: list[int] = []
        for j in name_hits:
            used[j] = True  # a name match makes an entry "used" even when its port is wrong
            allows = fit.get(j)
            if allows is None:
                allows = fit[j] = protocol_allowed(entries[j], protocol) and entries[j].allows_port(port)
            if allows:
                full.append(j)
        if full:
            entry = entries[full[0]]
            row["entry"], row["entry_line"] = _entry_label(entry), entry.line
            if denied:
                row["status"] = "blocked-but-allowed"
                row["reason"] = (
                    f"allowed by {entry.pattern} ({allows_text(full[0])}) yet the capture shows "
                    f"{verdict}: the rule is not applied yet, or another device blocks it"
                )
            else:
                row["status"] = "covered"
            continue
        if name_hits:
            e = entries[name_hits[0]]
            if not protocol_allowed(e, protocol):
                transport = transport_of(protocol)
                what = f"{transport} {port}" + (f" ({protocol})" if protocol != transport else "")
                reason = f"{e.pattern} matches but {what} is not allowed (entry allows {allows_text(name_hits[0])})"
            else:
                reason = (
                    f"{e.pattern} matches but port {port} is not allowed (entry allows {allows_text(name_hits[0])})"
                )
        elif unlisted(row):
            reason = (
                f"{unlisted_reason(row)}: FQDN rules cannot match them; they need network rules for their "
                "addresses, and noise rules, which judge by address, could not classify them"
            )
        elif fqdn is None:
            reason = (
                f"no name seen for {', '.join(addresses)} (no SNI, Host or DNS answer): FQDN rules cannot match "
                "it; it needs a network rule for the address"
            )
        else:
            reason = f"no entry matches {fqdn}"
        if denied:
            reason += f"; the capture shows {verdict}, a likely cause of the failed install"
        elif verdict != "ok":
            reason += f"; the capture shows {verdict}: open before the capture started, its outcome unknown"
        row["status"], row["reason"] = "missing", reason
    qnames = dns.column("qname")
    asked = NamesByEnd(qnames)
    excess = [
        {
            "entry": e.pattern,
            "file": e.file,
            "line": e.line,
            "reason": "no observed connection matched it"
            + _dns_hint(e, dialect, exact[j], qnames, asked, index.wildcard_names(j, asked)),
        }
        for j, e in enumerate(entries)
        if not used[j]
    ]

    def dns_only(row: dict[str, Any]) -> None:
        if (
            row["service"] == "dns"
            and row["rcode"] == "NOERROR"
            and row["answers"]
            and row["noise"] is None
            and row["qname"] not in contacted
        ):
            row["status"] = "dns-only"

    dns.update(dns_only)  # after the noise columns, which a spilled table also fills as it streams
    return excess


def _dns_hint(
    entry: Entry, dialect: str, exact: str | None, qnames: list[str], asked: NamesByEnd, indexed: list[str] | None
) -> str:
    if exact is not None:  # the entry's one name, when it has no wildcard
        names = [exact] if exact in asked else []
    elif indexed is not None:  # a wildcard: the names the index found it matches
        names = indexed
    else:  # an address entry (a name rule may still read it as a name) or an invalid pattern
        m, _ = matcher_or_never(dialect, entry.pattern)
        names = [q for q in qnames if m(q)]
    if names:
        return f" (only DNS lookups: {', '.join(sorted(set(names))[:3])})"
    return ""
