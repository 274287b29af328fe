"""Noise rules: each kind is recognised with its reason, and each switch brings it back."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest

from analyzer import schema
from analyzer.frames import Table
from analyzer.noise import (
    _GROUP_NETS,
    _PRIVATE_NETS,
    NOISE_KINDS,
    PLATFORM_ADDRESSES,
    NoiseRules,
    _SuffixRules,
    classify,
    is_group_address,
    is_private_address,
    search_list_expansions,
)


def _frame(rows: list[dict[str, Any]], name: str) -> Table:
    return Table(name, [{c: r.get(c) for c in schema.column_names(name)} for r in rows])


def _dns(*entries: tuple[str, str, str]) -> Table:
    return _frame(
        [
            {"qname": q, "qtype": "A", "rcode": rc, "service": svc, "answers": [], "servers": ["10.0.0.2"]}
            for q, rc, svc in entries
        ],
        "dns",
    )


def _summary(*rows: tuple[str | None, str, int, str]) -> Table:
    return _frame(
        [
            {"fqdn": f, "addresses": [a], "port": p, "protocol": proto, "verdict": "ok", "count": 1, "bytes": 0}
            for f, a, p, proto in rows
        ],
        "summary",
    )


DNS = _dns(
    ("api.charmhub.io", "NOERROR", "dns"),
    ("api.charmhub.io.maas", "NXDOMAIN", "dns"),
    ("registry-1.docker.io.svc.cluster.local", "NXDOMAIN", "dns"),
    ("kube-dns.kube-system.svc.cluster.local", "NOERROR", "dns"),
    ("5.0.0.10.in-addr.arpa", "NOERROR", "dns"),
    ("printer.local", "NOERROR", "mdns"),
    ("git.corp.example", "NOERROR", "dns"),
)
SUMMARY = _summary(
    ("api.charmhub.io", "203.0.113.11", 443, "TLS"),
    (None, "10.1.2.3", 443, "TLS"),
    (None, "168.63.129.16", 80, "HTTP"),
    (None, "10.0.0.2", 853, "TCP"),
    ("git.corp.example", "203.0.113.50", 443, "TLS"),
)


def _kinds(rules: NoiseRules) -> dict[str, str]:
    v = classify(SUMMARY, DNS, rules, {"10.0.0.2"})
    out = {name: kind for name, (kind, _reason) in v.names.items()}
    for idx, kind, _reason in v.summary_rows:
        row = SUMMARY.rows[idx]
        out[str(row["fqdn"] if row["fqdn"] is not None else row["addresses"][0])] = kind
    return out


def test_every_kind_is_recognised() -> None:
    kinds = _kinds(NoiseRules(internal_domains=("corp.example",)))
    assert kinds == {
        "api.charmhub.io.maas": "search-list",
        "registry-1.docker.io.svc.cluster.local": "search-list",
        "kube-dns.kube-system.svc.cluster.local": "cluster",
        "5.0.0.10.in-addr.arpa": "reverse",
        "printer.local": "mdns",
        "git.corp.example": "internal",
        "10.1.2.3": "private",
        "168.63.129.16": "platform",
        "10.0.0.2": "resolver",
    }
    assert "api.charmhub.io" not in kinds  # real egress stays


@pytest.mark.parametrize("kind", ["search-list", "cluster", "reverse", "mdns", "private", "platform", "resolver"])
def test_include_switch_keeps_a_kind(kind: str) -> None:
    assert kind not in _kinds(NoiseRules(include=frozenset({kind}))).values()


def test_search_list_reason_names_the_base_and_the_suffix() -> None:
    reasons = search_list_expansions(DNS)
    assert "api.charmhub.io" in reasons["api.charmhub.io.maas"] and ".maas" in reasons["api.charmhub.io.maas"]


def test_documentation_ranges_are_not_private() -> None:
    assert not is_private_address("203.0.113.7") and not is_private_address("2001:db8::1")
    assert is_private_address("172.20.0.1") and is_private_address("fe80::1") and is_private_address("100.64.0.1")


@pytest.mark.parametrize("kind", ["search-list", "cluster", "reverse", "mdns", "private", "platform", "resolver"])
def test_include_brings_back_exactly_that_kind(kind: str) -> None:
    """Keeping a kind removes exactly its items from the noise and relabels nothing (issue 10, item 4)."""
    every = _kinds(NoiseRules())
    kept = _kinds(NoiseRules(include=frozenset({kind})))
    assert kept == {name: k for name, k in every.items() if k != kind}


def test_a_cluster_name_at_a_private_address_comes_back_with_cluster() -> None:
    summary = _summary(("kube-dns.kube-system.svc.cluster.local", "10.152.183.10", 53, "TCP"))
    dns = _dns(("kube-dns.kube-system.svc.cluster.local", "NOERROR", "dns"))
    assert classify(summary, dns, NoiseRules(), set()).summary_rows[0][1] == "cluster"
    kept = classify(summary, dns, NoiseRules(include=frozenset({"cluster"})), set())
    assert kept.summary_rows == [] and kept.names == {}


# The fast paths of the noise pass against plain, independent oracles: ipaddress containment for
# the address kinds, a scan of every suffix rule for the name kinds, and the pass as it was before
# (each rule tried row by row) for the whole classification.


def _addresses(rng: random.Random) -> list[str]:
    """Random IPv4 and IPv6 addresses, the edges of every network the rules know, and non-addresses."""
    out = ["", "bad", "1.2.3", "10.0.0.256", "fe80::1%eth0", "::ffff:10.0.0.1", "0.0.0.0", "::", "300.1.1.1",
           "198.51", "010.0.0.1", "10.1.2.3.4", "1.", ".1.2.3", "+10.0.0.1", " 10.0.0.1", "\u0661\u0660.0.0.1",
           "224.x.0.1", "10.0.0.1x", "1234.0.0.1"]  # fmt: skip
    for net in _PRIVATE_NETS + _GROUP_NETS:
        first, last = int(net.network_address), int(net.broadcast_address)
        top = 2**net.max_prefixlen - 1
        out += [str(ipaddress.ip_address(v) if net.version == 4 else ipaddress.IPv6Address(v))
                for v in {first, last, max(first - 1, 0), min(last + 1, top)}]  # fmt: skip
    for _ in range(4000):
        out.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        top = rng.choice([0x00, 0xFC, 0xFD, 0xFE, 0xFF, rng.getrandbits(8)])
        out.append(str(ipaddress.IPv6Address((top << 120) | rng.getrandbits(120))))
    return out


def _in_any(text: str, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in nets)


def test_address_kinds_equal_ipaddress_containment() -> None:
    for text in _addresses(random.Random("address-kinds")):
        assert is_private_address(text) == _in_any(text, _PRIVATE_NETS), text
        assert is_group_address(text) == _in_any(text, _GROUP_NETS), text


NAME_LABELS = ["svc", "cluster", "local", "in-addr", "arpa", "ip6", "kubernetes", "default", "corp", "x", "", "10"]
INTERNAL = ("corp.x", "svc", "svc.cluster.local", "local", "x")  # overlaps and repeats of the built-in suffixes


def _noise_name(rng: random.Random) -> str:
    return ".".join(rng.choice(NAME_LABELS) for _ in range(rng.randint(1, 5)))


def _oracle_suffix_kind(name: str, rules: NoiseRules) -> tuple[str, str] | None:
    """The first rule in declared order whose suffix ends the name, trying every rule."""
    declared = sorted(_SuffixRules(rules)._by_suffix.items(), key=lambda item: item[1][0])
    for suffix, (_rank, verdict) in declared:
        if name == suffix or name.endswith("." + suffix):
            return verdict
    return None


def test_suffix_kinds_equal_trying_every_rule_in_any_order() -> None:
    rng = random.Random("suffix-kinds")
    for _ in range(30):
        rules = NoiseRules(
            include=frozenset(rng.sample(NOISE_KINDS, rng.randint(0, 3))),
            internal_domains=tuple(rng.sample(INTERNAL, rng.randint(0, len(INTERNAL)))),
        )
        suffixes = _SuffixRules(rules)
        names = [_noise_name(rng) for _ in range(300)]
        for name in names + names[::-1]:
            assert suffixes.kind(name) == _oracle_suffix_kind(name, rules), name


def _oracle_classify(
    summary: Table, dns: Table, rules: NoiseRules, resolvers: set[str], link_broadcast: set[str]
) -> tuple[dict[str, tuple[str, str]], list[tuple[int, str, str]]]:
    """classify before its fast paths, rule by rule and row by row (addresses by ipaddress)."""
    every = NoiseRules(internal_domains=rules.internal_domains)
    search = search_list_expansions(dns)
    names: dict[str, tuple[str, str]] = {}
    for d in dns:
        qname = str(d["qname"])
        if d["service"] in ("mdns", "llmnr"):
            names[qname] = ("mdns", f"{str(d['service']).upper()} lookup on the local link")
            continue
        hit = ("search-list", search[qname]) if qname in search else _oracle_suffix_kind(qname, every)
        if hit is not None:
            names[qname] = hit
    hits: list[tuple[int, str, str]] = []
    for i, row in enumerate(summary.rows):
        fqdn, addresses = row["fqdn"], row["addresses"]
        if fqdn is not None and fqdn in names:
            hits.append((i, *names[fqdn]))
            continue
        if fqdn is not None and (hit := _oracle_suffix_kind(fqdn, every)) is not None:
            hits.append((i, *hit))
            continue
        if int(row["port"]) in (5353, 5355):
            hits.append((i, "mdns", "mDNS/LLMNR port"))
            continue
        if addresses and all(a in link_broadcast or _in_any(a, _GROUP_NETS) for a in addresses):
            hits.append((i, "broadcast", "broadcast or multicast destination: never egress through a firewall"))
            continue
        if addresses and all(a in PLATFORM_ADDRESSES for a in addresses):
            hits.append((i, "platform", PLATFORM_ADDRESSES[addresses[0]]))
            continue
        if addresses and all(a in resolvers for a in addresses):
            hits.append((i, "resolver", "the DNS resolver itself"))
            continue
        if addresses and all(_in_any(a, _PRIVATE_NETS) for a in addresses):
            hits.append((i, "private", "private, loopback or link-local destination: not internet egress"))
    keep = rules.include
    return {n: v for n, v in names.items() if v[0] not in keep}, [h for h in hits if h[1] not in keep]


POOL = ["203.0.113.5", "203.0.113.255", "10.1.2.3", "10.0.0.2", "fe80::1", "224.0.0.251", "ff02::fb",
        "255.255.255.255", "168.63.129.16", "2001:db8::1", "::1", "bad"]  # fmt: skip


def test_classify_equals_the_rule_by_rule_pass() -> None:
    rng = random.Random("classify")
    seen: set[str] = set()
    for _ in range(60):
        qnames = [_noise_name(rng) for _ in range(rng.randint(0, 40))]
        qnames += [f"{q}.{rng.choice(NAME_LABELS)}" for q in rng.sample(qnames, len(qnames) // 3)]  # search lists
        dns = _frame(
            [
                {"qname": q, "rcode": rng.choice(["NOERROR", "NXDOMAIN", "SERVFAIL"]),
                 "service": rng.choice(["dns", "dns", "mdns", "llmnr"]), "answers": [], "servers": ["10.0.0.2"]}
                for q in qnames
            ],
            "dns",
        )  # fmt: skip
        summary = _frame(
            [
                {"fqdn": rng.choice([None, None, _noise_name(rng), *qnames[:5]]),
                 "addresses": rng.sample(POOL, rng.choice([0, 1, 1, 1, 2, 3])),
                 "port": rng.choice([443, 443, 443, 53, 5353, 5355]), "protocol": "UDP", "verdict": "ok", "count": 1,
                 "bytes": 0}
                for _ in range(rng.randint(0, 60))
            ],
            "summary",
        )  # fmt: skip
        rules = NoiseRules(
            include=frozenset(rng.sample(NOISE_KINDS, rng.randint(0, 3))),
            internal_domains=tuple(rng.sample(INTERNAL, rng.randint(0, 2))),
        )
        resolvers = set(rng.sample(POOL, rng.randint(0, 2)))
        link = set(rng.sample(POOL, rng.randint(0, 2)))
        got = classify(summary, dns, rules, resolvers, link)
        assert (got.names, got.summary_rows) == _oracle_classify(summary, dns, rules, resolvers, link)
        seen.update(kind for _, kind, _ in got.summary_rows)
    assert seen == set(NOISE_KINDS)  # every rule decided some row
