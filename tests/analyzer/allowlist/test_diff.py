"""The allowlist diff end to end: the real MicroStack request against crafted install captures.

Expectations are derived independently in the test: the request's destinations are pulled out
with a plain regex, and Azure's documented wildcard rule (leftmost '*' = "ends with") is
re-implemented in two lines, so the product's reader and matcher are checked, not echoed.
"""

from __future__ import annotations

import re

import pytest

from analyzer.api import Options, Report, analyze, read_allowlist
from reports.display import noise_label
from tests.support.paths import CAPTURES, SHARED

REQUEST = SHARED / "requests" / "microstack-acl-request.md"

pytestmark = pytest.mark.skipif(not REQUEST.exists(), reason="../shared/requests is not present")


def _destinations() -> list[str]:
    text = REQUEST.read_text()
    block = text.split("- Destinations:", 1)[1].split("\n## ", 1)[0]
    return [m.lower() for m in re.findall(r"^\s+- (\S+)\s*$", block, re.M)]


def _azure_match(pattern: str, name: str) -> bool:
    if pattern.startswith("*"):
        return name.endswith(pattern[1:]) and (not pattern.startswith("*.") or name != pattern[2:])
    return name == pattern


def _run(capture: str, dialect: str = "azure") -> Report:
    return analyze(CAPTURES / capture, allowlist=read_allowlist(REQUEST), options=Options(dialect=dialect))


def _label(row: dict[str, object]) -> object:
    return row["fqdn"] or ", ".join(row["addresses"])  # type: ignore[arg-type]


def test_sunbeam_install_against_the_microstack_request() -> None:
    a = _run("sunbeam-install.pcap")
    assert a.allowlist is not None and a.allowlist.dialect == "azure"
    missing = {(_label(m), m["protocol"], m["port"]): m for m in a.missing()}
    # NTP is UDP 123: the name matches *ubuntu.com, but the request only opens TCP 80/443.
    ntp = missing[("ntp.ubuntu.com", "UDP", 123)]
    assert "*ubuntu.com matches" in ntp["reason"] and "UDP 123" in ntp["reason"]
    assert ntp["verdict"] == "no-reply" and "cause of the failed install" in ntp["reason"]
    # No entry at all for the NTP pool, and no name at all for a bare-IP connection.
    assert "no entry matches" in missing[("0.ubuntu.pool.ntp.org", "UDP", 123)]["reason"]
    assert "no name seen" in missing[("203.0.113.200", "TLS", 443)]["reason"]
    assert len(missing) == 3

    # Allowed by the request, yet blocked in the capture: the rule is not in force.
    blocked = {(b["fqdn"], b["verdict"]) for b in a.blocked_but_allowed()}
    assert blocked == {
        ("production.cloudflare.docker.com", "no-reply"),
        ("ghcr.io", "tls-interrupted"),
        ("quay.io", "reset"),
    }

    # Excess: exactly the destinations that no contacted name matches (independent matcher).
    contacted = {r["fqdn"] for r in a.covered() if r["fqdn"]} | {m["fqdn"] for m in a.missing() if m["fqdn"]}
    want_excess = {p for p in _destinations() if not any(_azure_match(p, n) for n in contacted)}
    assert {e["entry"] for e in a.excess} == want_excess
    assert "contracts.canonical.com" in want_excess and "*canonical.com" not in want_excess

    # The .maas search-list expansions are noise, not missing and not dns-only.
    noise = {noise_label(n): n.kind for n in a.noise()}
    assert noise.get("api.charmhub.io.maas") == "search-list"
    assert not any(".maas" in (m["fqdn"] or "") for m in a.missing())
    assert not any(x["qname"].endswith(".maas") for x in a.dns_only())


def test_port_mismatch_names_the_port() -> None:
    a = _run("tls-port-5000.pcap")
    (m,) = [m for m in a.missing() if m["fqdn"] == "registry.jujucharms.com"]
    assert m["port"] == 5000
    assert "port 5000 is not allowed" in m["reason"] and "80/443" in m["reason"]


def test_lint_flags_every_risky_entry_of_the_microstack_request() -> None:
    a = _run("sunbeam-install.pcap")
    findings: dict[str, set[str]] = {}
    for f in a.lint:
        findings.setdefault(f["entry"], set()).add(f["problem"])
    dests = _destinations()
    # Every "*x.com" without a dot matches evilx.com under Azure's rule.
    for p in dests:
        if p.startswith("*") and not p.startswith("*."):
            assert "over-broad" in findings.get(p, set()), p
    # Where anyone can publish content (Public Suffix List private section).
    for p in ("*amazonaws.com", "*githubusercontent.com"):
        assert "multi-tenant" in findings[p], p
    # Every exact name that a wildcard of the same request already covers is redundant.
    for p in dests:
        if "*" not in p and any(q != p and q.startswith("*") and _azure_match(q, p) for q in dests):
            assert "redundant" in findings.get(p, set()), p


def test_dialect_changes_the_answer() -> None:
    """Under squid's rules '*canonical.com' is not a wildcard at all: it is invalid and matches nothing."""
    a = _run("sunbeam-install.pcap", dialect="squid")
    lint = {(f["entry"], f["problem"]) for f in a.lint}
    assert ("*canonical.com", "invalid") in lint
    missing = {m["fqdn"] for m in a.missing()}
    # Only "*snapcraftcontent.com" would have covered the snap CDN name; under Azure's rules it does.
    assert "canonical-lgw01.cdn.snapcraftcontent.com" in missing
    azure = _run("sunbeam-install.pcap")
    assert "canonical-lgw01.cdn.snapcraftcontent.com" not in {m["fqdn"] for m in azure.missing()}
    assert "api.charmhub.io" not in missing  # listed exactly in the request
