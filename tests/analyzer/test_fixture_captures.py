"""Every fixture capture built by fixtures/build_fixtures.py gives exactly its expected rows.

The expected JSON is written by the builder from the same declaration that makes the
packets, so each case states what an operator must see: the exact set of summary rows
(protocol, port, fqdn, verdict, count, source), the DNS lookups and the capture facts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from analyzer.pipeline import analyze
from reports.jsondoc import document
from tests.support.paths import CAPTURES, EXPECTED


def _cases() -> list[str]:
    return sorted(p.name[: -len(".json")] for p in EXPECTED.glob("*.json"))


def _summary_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["protocol"],
        row["port"],
        row["fqdn"],
        _address(row) if row["fqdn"] is None else None,
        row["verdict"],
        row["count"],
        row["source"],
    )


def _address(row: dict[str, Any]) -> str | None:
    """The expected files (written by fixtures/build_fixtures.py) give an unnamed row's address as text."""
    if "addresses" in row:
        return ", ".join(row["addresses"]) or None
    return row.get("address")


@pytest.mark.parametrize("name", _cases())
def test_fixture_matches_expected(name: str) -> None:
    expected = json.loads((EXPECTED / f"{name}.json").read_text())
    doc = document(analyze(CAPTURES / name))
    cap = expected["capture"]
    for key in ("format", "link_types", "packets", "truncated"):
        if key in cap:
            assert doc["capture"][key] == cap[key], key
    got = sorted(map(_summary_key, doc["summary"]), key=repr)
    want = sorted(map(_summary_key, expected["summary"]), key=repr)
    assert got == want
    if "dns" in expected:
        got_dns = {(d["qname"], d["qtype"]): d for d in doc["dns"]}
        for want_dns in expected["dns"]:
            row = got_dns.get((want_dns["qname"], want_dns["qtype"]))
            assert row is not None, f"lookup {want_dns['qname']} {want_dns['qtype']} missing"
            assert row["rcode"] == want_dns["rcode"], want_dns["qname"]
            assert sorted(row["answers"]) == sorted(want_dns["answers"]), want_dns["qname"]
    internal = [e for e in doc["parse_errors"] if e["layer"] == "internal"]
    assert not internal
