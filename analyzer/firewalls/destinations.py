"""What a capture justifies asking a firewall for: the destinations every export writes, and what it cannot.

The exports (one writer per vendor, beside its reader and dialect in :mod:`analyzer.firewalls`; the
generic request document and text list in :mod:`analyzer.allowlist.formats`) take a
:class:`Destinations`.  Noise is excluded.  Names stay exact: a wildcard is a decision for a person
(the suggestion notes say where one would fit), never something an export invents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzer.protocols import name_only, rule_label, transport_of
from analyzer.report import Report


@dataclass(frozen=True, slots=True)
class Destinations:
    names: tuple[tuple[str, str, str, int], ...]  # (name, protocol, transport, port), sorted
    addresses: tuple[tuple[str, str, int], ...]  # (address, transport, port) of rows without a name, sorted


# A host name a firewall accepts: letter-digit-hyphen labels (underscore too: service names use it), no label
# starting or ending with a hyphen, 63 octets a label, 253 in all, two labels at least, and a last label
# that is not all digits (that would be a broken IPv4 address).  Packets can carry anything: "-n" taken
# from an SNI would be read by squid as a flag.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def is_dns_name(name: str) -> bool:
    labels = name.split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


def justified(report: Report) -> Destinations:
    """(name, protocol, transport, port) for named egress; (address, transport, port) for the rest.

    A name that is not a valid DNS name never reaches a firewall config (:func:`notes` says so).
    """
    names: set[tuple[str, str, str, int]] = set()
    addresses: set[tuple[str, str, int]] = set()
    for r in report.egress():
        if name_only(r["protocol"]):
            continue  # no port is known to open (notes says so)
        transport = transport_of(r["protocol"])
        if r["fqdn"]:
            if is_dns_name(r["fqdn"]):
                names.add((r["fqdn"], r["protocol"], transport, r["port"]))
        else:
            for a in r["addresses"]:
                addresses.add((a, transport, r["port"]))
    return Destinations(tuple(sorted(names)), tuple(sorted(addresses)))


def app_protocol(protocol: str, port: int) -> str | None:
    """Azure application rules speak Http/Https only; everything else needs a network rule.

    A TCP connection to 443 or 80 whose first bytes we never saw (blocked before the ClientHello
    or request) is taken to be HTTPS or HTTP: that is what the client would have sent.
    """
    if protocol in ("TLS", "HTTP-CONNECT") or (protocol == "TCP" and port == 443):
        return "Https"
    if protocol == "HTTP" or (protocol == "TCP" and port == 80):
        return "Http"
    return None


def notes(report: Report, target: str, dest: Destinations | None = None) -> list[str]:
    """Every destination the capture justifies that the export leaves out or writes with a caveat, and why.

    Comment-capable formats carry these as comments; the CLI also says them on stderr (JSON has no comments).
    ``dest`` is :func:`justified` of the report, when the caller has it already.
    """
    out: list[str] = []
    invalid: dict[str, int] = {}
    dns_blocked: set[str] = set()
    for r in report.egress():
        where = rule_label(r["protocol"], r["port"])
        if (r["fqdn"] or name_only(r["protocol"])) and not is_dns_name(r["fqdn"] or ""):
            # A name that is not a valid DNS name (a name-only row has nothing else to it, so an empty one
            # counts too).  Counted, never quoted: the name is whatever a packet or log carried, and this
            # text lands in configs.
            invalid[where] = invalid.get(where, 0) + 1
            continue
        if name_only(r["protocol"]):
            dns_blocked.add(r["fqdn"])
            continue
        if r["verdict"] == "proxy-denied":
            via = ", ".join(r["vias"]) or "a proxy"
            out.append(
                f"{r['fqdn'] or ', '.join(r['addresses'])} {where} was refused by the proxy at {via}: "
                "the rule belongs on the proxy as well"
            )
    out += [
        f"not exported: {name}: a DNS firewall blocked its lookup, so the port it needs is unknown; allow the name "
        "on the DNS firewall and capture again"
        for name in sorted(dns_blocked)
    ]
    for where, n in invalid.items():
        out.append(
            f"not exported: {n} name(s) on {where} that are not valid DNS names (the analysis report lists them)"
        )
    dest = dest or justified(report)
    names, addresses = dest.names, dest.addresses
    if target == "squid":
        out += [f"not proxied by squid, needs a firewall rule: {n} {t}/{p}" for n, _, t, p in names if t != "TCP"]
        out += [f"not proxied by squid, needs a firewall rule: {a} {t}/{p}" for a, t, p in addresses if t != "TCP"]
    elif target == "aws-domain-list":
        out += [
            f"not in a domain list (TLS SNI and HTTP Host only), needs a stateful rule: {n} {t}/{p}"
            for n, protocol, t, p in names
            if app_protocol(protocol, p) is None
        ]
        out += [f"needs a network rule for the address: {a} {t}/{p}" for a, t, p in addresses]
    return sorted(set(out), key=out.index)
