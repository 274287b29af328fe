"""Noise rules: each kind is recognised with its reason, and each switch brings it back."""

from __future__ import annotations

from typing import Any

import pytest

from analyzer import schema
from analyzer.frames import Table
from analyzer.noise import NoiseRules, classify, is_private_address, search_list_expansions


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
