"""Traffic that is not egress through the firewall, each with its reason and a switch to keep it.

Kinds: ``search-list`` (a name plus a resolver search suffix that got NXDOMAIN),
``cluster`` (cluster-internal names), ``mdns`` (mDNS/LLMNR), ``reverse`` (PTR lookups),
``private`` (private, loopback, link-local and multicast destinations), ``resolver``
(connections to the DNS resolver itself), ``internal`` (site suffixes given with
``--internal-domain``), ``platform`` (cloud platform endpoints such as Azure's wireserver).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from analyzer.frames import rows

NOISE_KINDS = ("search-list", "cluster", "mdns", "reverse", "private", "resolver", "internal", "platform")
# Cloud platform endpoints a VM reaches on a host-local path that no customer firewall sits on.
PLATFORM_ADDRESSES = {
    "168.63.129.16": "Azure platform address (wireserver: DHCP, DNS, health probes, VM agent); "
    "host-local, never crosses Azure Firewall",
}
CLUSTER_SUFFIXES = ("cluster.local", "svc", "svc.cluster.local", "kubernetes.default")
_PRIVATE_NETS = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "255.255.255.255/32",
        "0.0.0.0/8",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
]


@lru_cache(maxsize=65536)
def is_private_address(text: str) -> bool:
    """RFC 1918, CGNAT, loopback, link-local, multicast: never reaches the internet firewall.

    Documentation ranges (192.0.2.0/24 and friends) are deliberately *not* private here.
    """
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(addr in net for net in _PRIVATE_NETS if net.version == addr.version)


@dataclass
class NoiseRules:
    include: frozenset[str] = frozenset()  # kinds the user asked to keep
    internal_domains: tuple[str, ...] = ()
    _reasons: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (kind, reason)

    def active(self, kind: str) -> bool:
        return kind not in self.include


def _under(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("." + suffix)


def classify_name(name: str, rules: NoiseRules, search_list: dict[str, str]) -> tuple[str, str] | None:
    """The noise kind and reason for a DNS name, or None when it is real egress."""
    if name in search_list and rules.active("search-list"):
        return "search-list", search_list[name]
    if rules.active("reverse") and (_under(name, "in-addr.arpa") or _under(name, "ip6.arpa")):
        return "reverse", "reverse lookup (PTR) of an address"
    if rules.active("cluster"):
        for suffix in CLUSTER_SUFFIXES:
            if _under(name, suffix):
                return "cluster", f"cluster-internal name (.{suffix})"
    if rules.active("mdns") and _under(name, "local"):
        return "mdns", "link-local multicast DNS name (.local)"
    if rules.active("internal"):
        for suffix in rules.internal_domains:
            if _under(name, suffix):
                return "internal", f"site-internal domain (--internal-domain {suffix})"
    return None


def search_list_expansions(dns: pd.DataFrame) -> dict[str, str]:
    """NXDOMAIN names that are another queried name plus a search suffix.

    ``api.charmhub.io.maas`` failing next to a lookup of ``api.charmhub.io`` is the resolver's
    search list at work (``search maas`` in resolv.conf), not a destination the install needs.
    """
    names = set(dns["qname"].astype(object))
    out: dict[str, str] = {}
    failed = dns[dns["rcode"].astype(object).isin(["NXDOMAIN", "SERVFAIL", "REFUSED"])]
    for qname in set(failed["qname"].astype(object)):
        labels = qname.split(".")
        for i in range(len(labels) - 1, 0, -1):
            base = ".".join(labels[:i])
            if base in names and base != qname:
                suffix = ".".join(labels[i:])
                out[qname] = f"search-list expansion of {base} (suffix .{suffix}) that got NXDOMAIN"
                break
        else:
            for suffix in ("svc.cluster.local", "cluster.local", "svc"):
                if qname.endswith("." + suffix) and qname.count(".") > suffix.count(".") + 1:
                    out[qname] = f"search-list expansion with the cluster suffix .{suffix}"
                    break
    return out


@dataclass(frozen=True)
class NoiseVerdicts:
    names: dict[str, tuple[str, str]]  # DNS name -> (kind, reason)
    summary_rows: list[tuple[int, str, str]]  # (summary row index, kind, reason)

    def table(self, summary: pd.DataFrame) -> list[dict[str, str]]:
        out = [{"name": n, "kind": k, "reason": r} for n, (k, r) in sorted(self.names.items())]
        table = rows(summary)
        for idx, kind, reason in self.summary_rows:
            row = table[idx]
            label = row["fqdn"] if row["fqdn"] is not None else row["address"]
            out.append({"name": f"{label} {row['protocol']}/{row['port']}", "kind": kind, "reason": reason})
        return out


def classify(summary: pd.DataFrame, dns: pd.DataFrame, rules: NoiseRules, resolvers: Iterable[str]) -> NoiseVerdicts:
    search = search_list_expansions(dns)
    names: dict[str, tuple[str, str]] = {}
    for d in rows(dns):
        qname = str(d["qname"])
        if d["service"] in ("mdns", "llmnr") and rules.active("mdns"):
            names[qname] = ("mdns", f"{str(d['service']).upper()} lookup on the local link")
            continue
        hit = classify_name(qname, rules, search)
        if hit is not None:
            names[qname] = hit
    resolver_set = set(resolvers)
    hits: list[tuple[int, str, str]] = []
    for i, row in enumerate(rows(summary)):
        fqdn: str | None = row["fqdn"]
        if fqdn is not None and fqdn in names:
            hits.append((i, *names[fqdn]))
            continue
        if fqdn is not None:
            hit = classify_name(fqdn, rules, {})
            if hit is not None:
                hits.append((i, *hit))
                continue
        if int(row["port"]) in (5353, 5355) and rules.active("mdns"):
            hits.append((i, "mdns", "mDNS/LLMNR port"))
            continue
        addresses = [] if row["address"] is None else [a.strip() for a in str(row["address"]).split(",")]
        addresses = [a for a in addresses if not a.startswith("+")]
        if addresses and rules.active("platform") and all(a in PLATFORM_ADDRESSES for a in addresses):
            hits.append((i, "platform", PLATFORM_ADDRESSES[addresses[0]]))
            continue
        if addresses and rules.active("resolver") and all(a in resolver_set for a in addresses):
            hits.append((i, "resolver", "the DNS resolver itself"))
            continue
        if addresses and rules.active("private") and all(is_private_address(a) for a in addresses):
            hits.append((i, "private", "private, loopback or link-local destination: not internet egress"))
    return NoiseVerdicts(names, hits)
