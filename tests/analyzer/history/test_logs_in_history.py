"""The nightly history takes firewall logs as it takes captures (issue 13).

The log is AZFWApplicationRule records written from Microsoft's column reference
(https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwapplicationrule).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb

from analyzer.api import nightly
from tests.support import nights
from tests.support.logs import app_rule, envelope

T = "2024-06-10T06:13:20Z"


def test_logs_beside_captures_land_in_the_history(tmp_path: Path) -> None:
    folder = nights.night_folder(nights.NIGHT1, tmp_path / "captures")
    (folder / "firewall").mkdir()
    rows = [app_rule(T, "10.10.0.4", 1000 + i, "dc.services.visualstudio.com") for i in range(3)]
    (folder / "firewall" / "azfw.json.gz").write_bytes(gzip.compress(envelope(rows).encode()))
    (folder / "firewall" / "README.txt").write_text("Logs of the night, exported from Log Analytics.\n")
    report = nightly([folder], history=tmp_path / "history", night=nights.NIGHT1)
    assert report.errors() == []
    names = sorted(r["name"] for r in report.captures)
    assert names == ["firewall/azfw.json.gz", "host-a/out.pcap", "host-b/out.pcap"]  # the README is not taken
    (log,) = [r for r in report.captures if r["name"] == "firewall/azfw.json.gz"]
    assert log["packets"] == 3
    got = duckdb.connect().execute(
        f"SELECT fqdn, count, action FROM read_parquet('{tmp_path}/history/profile=*/night=*/run=*/summary.parquet')"
        " WHERE fqdn = 'dc.services.visualstudio.com'"
    ).fetchall()
    assert got == [("dc.services.visualstudio.com", 3, "Deny")]
