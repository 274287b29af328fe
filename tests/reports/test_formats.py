"""Every format renders the same facts; exports round-trip through our own readers; --fail-on gates."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from analyzer.allowlist.readers import read_allowlist
from analyzer.api import Options, Report, analyze
from analyzer.schema import SCHEMA_VERSION, TABLES, arrow_schema
from reports import csvout, exports, markdown
from reports.jsondoc import document
from tests.support.paths import CAPTURES, SHARED, SUNBEAM

REQUEST = SHARED / "requests" / "microstack-acl-request.md"


def _analysis(with_allowlist: bool = True, **kw: Any) -> Report:
    al = read_allowlist(REQUEST) if with_allowlist and REQUEST.exists() else None
    return analyze(SUNBEAM, allowlist=al, options=Options(**kw))


def _label(row: dict[str, Any]) -> str:
    return str(row["fqdn"] or ", ".join(row["addresses"]))


def _egress(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_markdown_has_kql_summary_and_a_request_our_reader_accepts(tmp_path: Path) -> None:
    a = _analysis(with_allowlist=False)
    text = markdown.render(a)
    assert "| Protocol | DestinationPort | Fqdn | count_ | Action |" in text
    doc = document(a)
    for row in doc["summary"]:
        if row["fqdn"] and row["noise"] is None:
            assert row["fqdn"] in text
    # The change request at the end is in the shape of the request documents: our reader reads it back.
    request = tmp_path / "request.md"
    request.write_text(text.split("## Change request", 1)[1])
    entries = read_allowlist(request).entries
    named = {(r["fqdn"], r["port"]) for r in doc["summary"] if r["fqdn"] and r["noise"] is None}
    assert {(e.pattern, p.low) for e in entries for p in e.ports} == named


@pytest.mark.skipif(not REQUEST.exists(), reason="../shared/requests absent")
def test_markdown_lists_the_diff_and_asks_only_for_what_is_missing() -> None:
    a = _analysis()
    text = markdown.render(a)
    assert a.allowlist is not None
    for m in a.missing():
        assert _label(m) in text
    for e in a.excess:
        assert e["entry"].replace("*", "\\*") in text
    request = text.split("## Change request", 1)[1]
    assert "ntp.ubuntu.com" in request and "api.charmhub.io" not in request


@pytest.mark.skipif(not REQUEST.exists(), reason="../shared/requests absent")
def test_csv_rows_match_the_summary_with_status() -> None:
    a = _analysis()
    rows = list(csv.DictReader(io.StringIO(csvout.render(a))))
    doc = document(a)
    assert len(rows) == len(doc["summary"])
    by_name = {(r["fqdn"], r["port"]): r for r in rows}
    assert by_name[("ntp.ubuntu.com", "123")]["status"] == "missing"
    assert by_name[("quay.io", "443")]["status"] == "blocked-but-allowed"
    assert by_name[("api.charmhub.io", "443")]["status"] == "covered"
    assert by_name[("api.charmhub.io", "443")]["count"] == "10"


def test_parquet_is_typed_and_carries_provenance(tmp_path: Path) -> None:
    proc = _egress("analyze", str(SUNBEAM), "--format", "parquet", "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    for name in TABLES:
        path = tmp_path / "out" / f"{name}.parquet"
        table = pq.read_table(path)
        assert table.schema.remove_metadata().equals(arrow_schema(name)), name
        meta = table.schema.metadata
        assert meta[b"egress.schema"] == SCHEMA_VERSION.encode()
        assert meta[b"egress.capture_path"] == str(SUNBEAM).encode()
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    rows = con.execute(f"select sum(count) from read_parquet('{tmp_path / 'out' / 'summary.parquet'}')").fetchall()
    assert rows[0][0] == sum(r["count"] for r in document(_analysis(False))["summary"])


@pytest.mark.skipif(not REQUEST.exists(), reason="../shared/requests absent")
def test_every_format_renders_the_same_facts(tmp_path: Path) -> None:
    args = ["analyze", str(SUNBEAM), "--allowlist", str(REQUEST)]
    doc = json.loads(_egress(*args, "--format", "json").stdout)
    md = _egress(*args, "--format", "md").stdout
    table = tmp_path / "t.txt"
    assert _egress(*args, "-o", str(table)).returncode == 0
    csv_text = _egress(*args, "--format", "csv").stdout
    for rendered in (md, table.read_text(), csv_text):
        for m in doc["summary"]:
            if m["status"] == "missing":
                assert _label(m) in rendered
        for r in doc["summary"]:
            if r["action"] == "Deny":
                assert r["fqdn"] in rendered


@pytest.mark.parametrize("target", ["text", "squid", "cilium", "azure-bicep", "azure-arm", "request-md"])
def test_export_round_trips_to_no_missing_and_no_excess(tmp_path: Path, target: str) -> None:
    """Feed each export back as the allowlist: every named destination is covered, nothing is excess."""
    a = _analysis(with_allowlist=False)
    path = tmp_path / f"export.{target}"
    path.write_text(exports.render(a, target))
    dialect = {"squid": "squid", "cilium": "cilium"}.get(target, "azure")
    b = analyze(SUNBEAM, allowlist=read_allowlist(path), options=Options(dialect=dialect))
    named_missing = [m for m in b.missing() if m["fqdn"]]
    if target == "squid":  # squid proxies TCP only: UDP names are listed as comments, not rules
        assert all(m["protocol"] == "UDP" for m in named_missing)
    else:
        assert named_missing == []
    assert len(b.excess) == 0


def test_aws_domain_list_is_valid_rules_source_list() -> None:
    doc = json.loads(exports.render(_analysis(with_allowlist=False), "aws-domain-list"))
    src = doc["RulesSourceList"]
    assert src["GeneratedRulesType"] == "ALLOWLIST"
    assert "api.charmhub.io" in src["Targets"] and "archive.ubuntu.com" in src["Targets"]
    assert set(src["TargetTypes"]) == {"TLS_SNI", "HTTP_HOST"}
    assert not any(t.startswith("ntp") for t in src["Targets"])  # UDP is not a domain-list protocol


@pytest.mark.skipif(not REQUEST.exists(), reason="../shared/requests absent")
def test_fail_on_gates() -> None:
    base = ["analyze", str(SUNBEAM), "--allowlist", str(REQUEST), "--format", "json"]
    assert _egress(*base).returncode == 0
    for kind in ("missing", "blocked", "excess"):
        proc = _egress(*base, "--fail-on", kind)
        assert proc.returncode == 1, kind
        assert "failing" in proc.stderr
    no_allowlist = _egress("analyze", str(SUNBEAM), "--fail-on", "missing")
    assert no_allowlist.returncode == 2 and "needs --allowlist" in no_allowlist.stderr
    clean = CAPTURES / "sll.pcap"
    assert _egress("analyze", str(clean), "--fail-on", "blocked").returncode == 0
