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

# The kinds an address can have, as bits: the kinds all the addresses of a row share are their AND.
_GROUP, _PRIVATE = 1, 2
# Kinds of a destination address that are not in the address itself (``_classify`` adds them).
_PLATFORM, _RESOLVER = 4, 8
# Address bits per IP version, and the shift that leaves an address's first octet.
_BITS = {4: 32, 6: 128}


def _by_first_octet(version: int) -> tuple[tuple[tuple[int, int, int], ...], ...]:
    """For each value of an address's first octet, the (network address, netmask, kind bit) of the
    private and group networks that reach into that octet.  Most destinations of a capture are
    public addresses whose first octet no such network reaches: they are decided by one index
    instead of a mask and compare per network (with one cache for both kinds, the group and
    private checks of the handshake capture's 10.9k addresses: 22 ms -> 6 ms)."""
    shift = _BITS[version] - 8
    table: list[list[tuple[int, int, int]]] = [[] for _ in range(256)]
    for nets, bit in ((_PRIVATE_NETS, _PRIVATE), (_GROUP_NETS, _GROUP)):
        for n in nets:
            if n.version != version:
                continue
            base, mask = int(n.network_address), int(n.netmask)
            for octet in range(base >> shift, (int(n.broadcast_address) >> shift) + 1):
                table[octet].append((base, mask, bit))
    return tuple(tuple(nets) for nets in table)


_NETS_BY_OCTET = {v: (_BITS[v] - 8, _by_first_octet(v)) for v in (4, 6)}
_V4_BY_OCTET = _NETS_BY_OCTET[4][1]


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


def _address_kinds(text: str) -> int:
    """The kind bits (``_GROUP``, ``_PRIVATE``) of an address; 0 for a public one or a non-address.

    Text that starts like an IPv4 address (1 to 3 digits, a dot) whose first octet no network
    reaches has no kind: parsed, it is either that public address or no address at all.  That
    decides the common destination from its first digits, without parsing or caching it (the
    kinds of the handshake capture's 10.9k addresses: 6 ms -> 3 ms)."""
    dot = text.find(".")
    if 0 < dot < 4:
        digits = text[:dot]
        if digits.isascii() and digits.isdigit() and (int(digits) > 255 or not _V4_BY_OCTET[int(digits)]):
            return 0
    return _parsed_kinds(text)


@lru_cache(maxsize=65536)
def _parsed_kinds(text: str) -> int:
    """:func:`_address_kinds` the long way, cached: private and group destinations repeat."""
    found = _address_value(text)
    if found is None:
        return 0
    version, value = found
    shift, by_octet = _NETS_BY_OCTET[version]
    kinds = 0
    for base, mask, bit in by_octet[value >> shift]:
        if value & mask == base:
            kinds |= bit
    return kinds


def is_private_address(text: str) -> bool:
    """RFC 1918, CGNAT, loopback, link-local: never reaches the internet firewall.

    Documentation ranges (192.0.2.0/24 and friends) are deliberately *not* private here.
    """
    return bool(_address_kinds(text) & _PRIVATE)


def is_group_address(text: str) -> bool:
    """IPv4 and IPv6 multicast and the limited broadcast 255.255.255.255.  A subnet broadcast
    (10.0.0.255) looks like any host address: only the link layer tells it (see ``classify``)."""
    return bool(_address_kinds(text) & _GROUP)


@dataclass
class NoiseRules:
    include: frozenset[str] = frozenset()  # kinds the user asked to keep
    internal_domains: tuple[str, ...] = ()
    _reasons: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (kind, reason)

    def active(self, kind: str) -> bool:
        return kind not in self.include


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
        # A suffix ends a name only if both end in the same label: a name whose last label ends no
        # suffix (com, io: nearly every name of a capture) has no kind, and costs one probe
        # (the handshake capture's 10k names: 4 ms -> 1 ms).
        self._last_labels = {suffix.rpartition(".")[2] for suffix in self._by_suffix}
        # name -> (rank, verdict) of its first rule, for the names asked and every suffix of them.
        self._memo: dict[str, tuple[int, tuple[str, str]] | None] = {}

    def kind(self, name: str) -> tuple[str, str] | None:
        if name.rpartition(".")[2] not in self._last_labels:
            return None
        memo = self._memo
        found = memo[name] if name in memo else self._ranked(name)
        return None if found is None else found[1]

    def _ranked(self, name: str) -> tuple[int, tuple[str, str]] | None:
        """The best (rank, verdict) of the name's own suffixes.  A name's best is that of its own
        text against that of its parent (``a.b.c`` -> ``b.c``), so the walk stops at the first
        suffix already known and fills the memo on the way back: on a capture the parents are
        shared (10k names under a dozen domains), so most names cost two probes instead of one per
        label (10k names that all reach the walk: 6 ms -> 4 ms)."""
        memo, by_suffix = self._memo, self._by_suffix
        chain = [name]
        best: tuple[int, tuple[str, str]] | None = None
        probe = name
        while (dot := probe.find(".")) >= 0:
            probe = probe[dot + 1 :]
            if probe in memo:
                best = memo[probe]
                break
            chain.append(probe)
        for suffix in reversed(chain):
            hit = by_suffix.get(suffix)
            if hit is not None and (best is None or hit[0] < best[0]):
                best = hit
            memo[suffix] = best
        return best


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
    kind_of = suffixes.kind
    mdns = rules.active("mdns")
    search_on = rules.active("search-list")
    names: dict[str, tuple[str, str]] = {}
    for d in dns:
        qname = str(d["qname"])
        if mdns and d["service"] in ("mdns", "llmnr"):
            names[qname] = ("mdns", f"{str(d['service']).upper()} lookup on the local link")
            continue
        if search_on and qname in search:
            names[qname] = ("search-list", search[qname])
            continue
        hit = kind_of(qname)
        if hit is not None:
            names[qname] = hit
    resolver_set = set(resolvers)
    link_group = set(link_broadcast)
    # The address rules below each need every address of a row to be of their kind: the kinds of an
    # address are bits, a row's the bits all its addresses share, tested in rule order.
    broadcast, platform, resolver, private = (rules.active(k) for k in ("broadcast", "platform", "resolver", "private"))
    every = _GROUP | _PRIVATE | _PLATFORM | _RESOLVER
    hits: list[tuple[int, str, str]] = []
    for i, row in enumerate(summary.rows):
        fqdn: str | None = row["fqdn"]
        if fqdn is not None:
            hit = names.get(fqdn) or kind_of(fqdn)
            if hit is not None:
                hits.append((i, *hit))
                continue
        if mdns and int(row["port"]) in (5353, 5355):
            hits.append((i, "mdns", "mDNS/LLMNR port"))
            continue
        addresses: list[str] = row["addresses"]
        if not addresses:
            continue
        shared = every
        for a in addresses:
            shared &= (
                _address_kinds(a)
                | (_GROUP if a in link_group else 0)
                | (_PLATFORM if a in PLATFORM_ADDRESSES else 0)
                | (_RESOLVER if a in resolver_set else 0)
            )
        if not shared:
            continue  # the common case: an internet address
        if broadcast and shared & _GROUP:
            hits.append((i, "broadcast", "broadcast or multicast destination: never egress through a firewall"))
        elif platform and shared & _PLATFORM:
            hits.append((i, "platform", PLATFORM_ADDRESSES[addresses[0]]))
        elif resolver and shared & _RESOLVER:
            hits.append((i, "resolver", "the DNS resolver itself"))
        elif private and shared & _PRIVATE:
            hits.append((i, "private", "private, loopback or link-local destination: not internet egress"))
    return NoiseVerdicts(names, hits)
