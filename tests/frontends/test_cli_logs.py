"""``egress analyze`` with firewall logs, through the real entry point.

The Azure Firewall records are written from the AZFWApplicationRule columns
(https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwapplicationrule); the
hostile names are ours.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.support.cli import egress
from tests.support.logs import aks_firewall_log, app_rule, envelope
from tests.support.paths import CAPTURES, ROOT

T = "2024-06-10T06:13:20Z"
HOSTILE = [
    "<script>alert(1)</script>.evil.example",
    "=cmd|' /C calc'!a0.example",
    "\x1b[31mred.example",
    "a|b.example",
    "-n.example",
    "\u202egnp.example",
]


def test_the_notes_table_from_a_log(tmp_path: Path) -> None:
    rows = [app_rule(T, "10.10.0.4", 1000 + i, "dc.services.visualstudio.com") for i in range(3)]
    rows += [app_rule(T, "10.10.0.4", 2000, "mcr.microsoft.com", action="Allow", rule="Allow container images")]
    log = tmp_path / "azfw.json"
    log.write_text(envelope(rows))
    proc = egress("analyze", str(log))
    assert proc.returncode == 0, proc.stderr
    head = proc.stdout.splitlines()[0]
    assert "azure-firewall-json, 4 records" in head
    for column in ("Protocol", "DestinationPort", "Fqdn", "count_", "Action", "Rule"):
        assert column in proc.stdout
    line = next(x for x in proc.stdout.splitlines() if "dc.services.visualstudio.com" in x and "│" in x)
    assert re.search(r"\b3\b.*Deny.*Default Action", line), line
    md = egress("analyze", str(log), "--format", "md").stdout
    assert "AZFWApplicationRule\n" in md and "| summarize count_ = count() by Protocol, DestinationPort, Fqdn" in md
    assert '| where SourceIp in ("10.10.0.4")' in md
    doc = json.loads(egress("analyze", str(log), "--format", "json").stdout)
    assert doc["sources"][0]["format"] == "azure-firewall-json" and doc["sources"][0]["records"] == 4
    assert {r["fqdn"]: r["rule"] for r in doc["log_verdicts"]}["mcr.microsoft.com"] == "Allow container images"
    out = tmp_path / "pq"
    assert egress("analyze", str(log), "--format", "parquet", "-o", str(out)).returncode == 0
    said = duckdb.connect().execute(f"SELECT fqdn, rule FROM '{out}/log_verdicts.parquet' ORDER BY fqdn").fetchall()
    assert said == [("dc.services.visualstudio.com", None), ("mcr.microsoft.com", "Allow container images")]
    html = egress("analyze", str(log), "--format", "html").stdout
    assert '<section id="logs">' in html and "Allow container images" in html
    assert "<pre><code>AZFWApplicationRule\n" in html


def test_stdin_and_several_logs(tmp_path: Path) -> None:
    rows = [app_rule(T, "10.10.0.4", 1000 + i, "dc.services.visualstudio.com") for i in range(3)]
    proc = subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", "analyze", "-", "--format", "json"],
        input=envelope(rows), capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [(r["fqdn"], r["count"]) for r in json.loads(proc.stdout)["summary"]] == [
        ("dc.services.visualstudio.com", 3)
    ]
    first, second = tmp_path / "a.json", tmp_path / "b.log"
    first.write_text(envelope(rows[:2]))
    second.write_text(
        "1718000000.123 1 10.10.0.4 TCP_DENIED/403 0 CONNECT dc.services.visualstudio.com:443 - HIER_NONE/- -\n"
    )
    doc = json.loads(egress("analyze", str(first), str(second), "--format", "json").stdout)
    assert [s["format"] for s in doc["sources"]] == ["azure-firewall-json", "squid"]
    assert sorted((r["protocol"], r["count"], r["verdict"]) for r in doc["summary"]) == [
        ("HTTP-CONNECT", 1, "proxy-denied"), ("TLS", 2, "denied"),
    ]  # fmt: skip


def test_capture_and_log_make_one_report(tmp_path: Path) -> None:
    log = tmp_path / "azfw.json"
    log.write_text(envelope(aks_firewall_log()))
    proc = egress("analyze", str(CAPTURES / "aks-bootstrap.pcap"), str(log), "--format", "md")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("# Egress report") == 1 and "Confirmed" in proc.stdout
    line = next(x for x in proc.stdout.splitlines() if x.startswith("| TLS | 443 | packages.microsoft.com"))
    assert line.rstrip().endswith("| Default Action | yes |")


def test_bad_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\nworld\n")
    proc = egress("analyze", str(notes))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "not a pcap" in proc.stderr and "nor a log egress reads" in proc.stderr
    proc = egress("analyze", str(notes), "--source-format", "klingon")
    assert proc.returncode == 2 and "unknown source format 'klingon'" in proc.stderr
    log = tmp_path / "access.log"
    log.write_text("1718000000.123 1 10.0.0.5 TCP_DENIED/403 0 CONNECT x.example:443 - HIER_NONE/- -\n")
    proc = egress("analyze", str(log), "--source-format", "azure-firewall-csv")
    assert proc.returncode == 2 and "no azure-firewall-csv record could be read" in proc.stderr


def _hostile_log(tmp_path: Path) -> Path:
    rows = [app_rule(T, "10.10.0.4", 1000 + i, name, rule=name, action="Allow") for i, name in enumerate(HOSTILE)]
    log = tmp_path / "hostile.json"
    log.write_text(envelope(rows))
    return log


def test_hostile_names_from_a_log_are_inert_everywhere(tmp_path: Path) -> None:
    log = _hostile_log(tmp_path)
    out = egress("analyze", str(log), env={"FORCE_COLOR": "1"})
    assert out.returncode == 0, out.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b[31mred" in text
    md = egress("analyze", str(log), "--format", "md").stdout
    assert "<script>" not in md and "&lt;script&gt;" in md and "a\\|b.example" in md
    html = egress("analyze", str(log), "--format", "html").stdout
    assert "<script>alert(1)" not in html
    rows = list(csv.DictReader(io.StringIO(egress("analyze", str(log), "--format", "csv").stdout)))
    assert rows and all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    doc = json.loads(egress("analyze", str(log), "--format", "json").stdout)
    assert "<script>alert(1)</script>.evil.example" in {r["fqdn"] for r in doc["summary"]}  # data stays data
