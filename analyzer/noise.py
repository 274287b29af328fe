"""Traffic that is not egress through the firewall, each with its reason and a switch to keep it.

Kinds: ``search-list`` (a name plus a resolver search suffix that got NXDOMAIN),
``cluster`` (cluster-internal names), ``mdns`` (mDNS/LLMNR), ``reverse`` (PTR lookups),
``broadcast`` (IPv4/IPv6 multicast, 255.255.255.255, and connections whose first packet went to a
link-layer broadcast or multicast address, such as a NetBIOS query to a subnet broadcast),
``private`` (private, loopback and link-local destinations), ``resolver``
(connections to the DNS resolver itself), ``internal`` (site suffixes given with
``--internal-domain``), ``platform`` (cloud platform endpoints such as Azure's wireserver).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from analyzer.frames import Table

NOISE_KINDS = (
    "search-list",
    "cluster",
    "mdns",
    "reverse",
    "broadcast",
    "private",
    "resolver",
    "internal",
    "platform",
)
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
        "0.0.0.0/8",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
    )
]
# Destinations that are groups, never one host behind a firewall: multicast, the limited broadcast.
_GROUP_NETS = [ipaddress.ip_network(n) for n in ("224.0.0.0/4", "255.255.255.255/32", "ff00::/8")]

# (network address, netmask) as integers per IP version: a mask and a compare per network
# instead of ipaddress' containment test, on every destination of a large capture.
_PRIVATE_MASKS = {
    v: [(int(n.network_address), int(n.netmask)) for n in _PRIVATE_NETS if n.version == v] for v in (4, 6)
}
_GROUP_MASKS = {v: [(int(n.network_address), int(n.netmask)) for n in _GROUP_NETS if n.version == v] for v in (4, 6)}


@lru_cache(maxsize=65536)
def _address_value(text: str) -> tuple[int, int] | None:
    """(IP version, integer value) of an address, or None.  inet_pton first: the addresses come from
    our own decoders in canonical form, and it is twenty times faster than ipaddress' parser."""
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return version, int.from_bytes(socket.inet_pton(family, text), "big")
        except OSError:
            continue
    try:
        addr = ipaddress.ip_address(text)  # what inet_pton refuses but ipaddress reads (a scoped IPv6)
    except ValueError:
        return None
    return addr.version, int(addr)


def _in(text: str, masks: dict[int, list[tuple[int, int]]]) -> bool:
    found = _address_value(text)
    if found is None:
        return False
    version, value = found
    return any(value & mask == base for base, mask in masks[version])


@lru_cache(maxsize=65536)
def is_private_address(text: str) -> bool:
    """RFC 1918, CGNAT, loopback, link-local: never reaches the internet firewall.

    Documentation ranges (192.0.2.0/24 and friends) are deliberately *not* private here.
    """
    return _in(text, _PRIVATE_MASKS)


@lru_cache(maxsize=65536)
def is_group_address(text: str) -> bool:
    """IPv4 and IPv6 multicast and the limited broadcast 255.255.255.255.  A subnet broadcast
    (10.0.0.255) looks like any host address: only the link layer tells it (see ``classify``)."""
    return _in(text, _GROUP_MASKS)


@dataclass
class NoiseRules:
    include: frozenset[str] = frozenset()  # kinds the user asked to keep
    internal_domains: tuple[str, ...] = ()
    _reasons: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (kind, reason)

    def active(self, kind: str) -> bool:
        return kind not in self.include


def search_hit(name: str, rules: NoiseRules, search_list: dict[str, str]) -> tuple[str, str] | None:
    if name in search_list and rules.active("search-list"):
        return "search-list", search_list[name]
    return None


class _SuffixRules:
    """The suffix-based kinds (reverse, cluster, mdns, internal) as one table of suffixes.

    A name is looked up by each of its own suffixes (a handful of dict probes) instead of being
    tested against every rule; when several rules match, the one declared first wins, as in
    the rule order below.
    """

    def __init__(self, rules: NoiseRules) -> None:
        ordered: list[tuple[str, tuple[str, str]]] = []
        if rules.active("reverse"):
            for suffix in ("in-addr.arpa", "ip6.arpa"):
                ordered.append((suffix, ("reverse", "reverse lookup (PTR) of an address")))
        if rules.active("cluster"):
            for suffix in CLUSTER_SUFFIXES:
                ordered.append((suffix, ("cluster", f"cluster-internal name (.{suffix})")))
        if rules.active("mdns"):
            ordered.append(("local", ("mdns", "link-local multicast DNS name (.local)")))
        if rules.active("internal"):
            for suffix in rules.internal_domains:
                ordered.append((suffix, ("internal", f"site-internal domain (--internal-domain {suffix})")))
        self._by_suffix: dict[str, tuple[int, tuple[str, str]]] = {}
        for rank, (suffix, verdict) in enumerate(ordered):
            self._by_suffix.setdefault(suffix, (rank, verdict))
        self._memo: dict[str, tuple[str, str] | None] = {}

    def kind(self, name: str) -> tuple[str, str] | None:
        if name in self._memo:
            return self._memo[name]
        best: tuple[int, tuple[str, str]] | None = None
        probe = name
        while True:
            hit = self._by_suffix.get(probe)
            if hit is not None and (best is None or hit[0] < best[0]):
                best = hit
            dot = probe.find(".")
            if dot < 0:
                break
            probe = probe[dot + 1 :]
        verdict = None if best is None else best[1]
        self._memo[name] = verdict
        return verdict


def search_list_expansions(dns: Table) -> dict[str, str]:
    """NXDOMAIN names that are another queried name plus a search suffix.

    ``api.charmhub.io.maas`` failing next to a lookup of ``api.charmhub.io`` is the resolver's
    search list at work (``search maas`` in resolv.conf), not a destination the install needs.
    """
    names: set[str] = set()
    failed: set[str] = set()
    for r in dns:  # one pass: a large capture's DNS table is streamed back from disk on each
        names.add(r["qname"])
        if r["rcode"] in ("NXDOMAIN", "SERVFAIL", "REFUSED"):
            failed.add(r["qname"])
    out: dict[str, str] = {}
    for qname in sorted(failed):
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

    def apply(self, summary: Table, dns: Table) -> None:
        """Write the verdicts into the ``noise`` and ``noise_reason`` columns of both tables."""
        names = self.names

        def noise(r: dict[str, Any]) -> None:
            r["noise"], r["noise_reason"] = names.get(r["qname"], (None, None))

        dns.update(noise)  # a spilled DNS table takes it as its rows stream back
        rows = summary.rows
        for idx, kind, reason in self.summary_rows:
            rows[idx]["noise"], rows[idx]["noise_reason"] = kind, reason


def classify(
    summary: Table, dns: Table, rules: NoiseRules, resolvers: Iterable[str], link_broadcast: Iterable[str] = ()
) -> NoiseVerdicts:
    """Each name and summary row gets its first kind in rule order, with every kind active; the kinds the
    user asked to keep are dropped afterwards.  Deciding the kind first is what makes ``--include-noise K``
    bring back exactly the items of kind K: a search-list expansion under .cluster.local stays a
    search-list item (not relabelled ``cluster``), and a cluster name at a private address comes back
    with ``cluster`` (rather than falling through to ``private``)."""
    verdicts = _classify(summary, dns, NoiseRules(internal_domains=rules.internal_domains), resolvers, link_broadcast)
    keep = rules.include
    return NoiseVerdicts(
        {n: v for n, v in verdicts.names.items() if v[0] not in keep},
        [h for h in verdicts.summary_rows if h[1] not in keep],
    )


def _classify(
    summary: Table, dns: Table, rules: NoiseRules, resolvers: Iterable[str], link_broadcast: Iterable[str]
) -> NoiseVerdicts:
    search = search_list_expansions(dns)
    suffixes = _SuffixRules(rules)
    names: dict[str, tuple[str, str]] = {}
    for d in dns:
        qname = str(d["qname"])
        if d["service"] in ("mdns", "llmnr") and rules.active("mdns"):
            names[qname] = ("mdns", f"{str(d['service']).upper()} lookup on the local link")
            continue
        hit = search_hit(qname, rules, search) or suffixes.kind(qname)
        if hit is not None:
            names[qname] = hit
    resolver_set = set(resolvers)
    link_group = set(link_broadcast)
    hits: list[tuple[int, str, str]] = []
    for i, row in enumerate(summary.rows):
        fqdn: str | None = row["fqdn"]
        if fqdn is not None and fqdn in names:
            hits.append((i, *names[fqdn]))
            continue
        if fqdn is not None:
            hit = suffixes.kind(fqdn)
            if hit is not None:
                hits.append((i, *hit))
                continue
        if int(row["port"]) in (5353, 5355) and rules.active("mdns"):
            hits.append((i, "mdns", "mDNS/LLMNR port"))
            continue
        addresses: list[str] = row["addresses"]
        if addresses and rules.active("broadcast") and all(a in link_group or is_group_address(a) for a in addresses):
            hits.append((i, "broadcast", "broadcast or multicast destination: never egress through a firewall"))
            continue
        if addresses and rules.active("platform") and all(a in PLATFORM_ADDRESSES for a in addresses):
            hits.append((i, "platform", PLATFORM_ADDRESSES[addresses[0]]))
            continue
        if addresses and rules.active("resolver") and all(a in resolver_set for a in addresses):
            hits.append((i, "resolver", "the DNS resolver itself"))
            continue
        if addresses and rules.active("private") and all(is_private_address(a) for a in addresses):
            hits.append((i, "private", "private, loopback or link-local destination: not internet egress"))
    return NoiseVerdicts(names, hits)
