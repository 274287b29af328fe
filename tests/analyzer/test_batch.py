"""Several captures at once: same answers as one at a time, in parallel worker processes."""

from __future__ import annotations

import json
from pathlib import Path

from analyzer.api import Options, analyze_many
from reports.jsondoc import render
from tests.support.cli import egress
from tests.support.paths import CAPTURES as FIXTURE_CAPTURES

CAPTURES = [str(FIXTURE_CAPTURES / n) for n in ("sll.pcap", "sunbeam-install.pcap", "dns-tcp.pcap")]


def test_parallel_equals_sequential() -> None:
    sequential = analyze_many(CAPTURES, options=Options(jobs=1))
    parallel = analyze_many(CAPTURES, options=Options(jobs=2))
    assert [r.path for r in parallel] == CAPTURES
    for s, p in zip(sequential, parallel, strict=True):
        assert s.report is not None and p.report is not None
        assert render(s.report) == render(p.report)


def test_cli_writes_one_report_per_capture_and_names_the_bad_one(tmp_path: Path) -> None:
    junk = tmp_path / "notes.pcap"
    junk.write_text("not a capture\n")
    out = tmp_path / "reports"
    proc = egress("analyze", *CAPTURES, str(junk), "--format", "json", "-o", str(out), "--jobs", "2")
    assert proc.returncode == 2  # one bad input, and nothing else lost
    assert proc.stderr.count("error:") == 1 and "notes.pcap" in proc.stderr
    for path in CAPTURES:
        written = json.loads((out / f"{Path(path).name}.json").read_text())
        single = json.loads(egress("analyze", path, "--format", "json").stdout)
        assert written["summary"] == single["summary"] and written["dns"] == single["dns"]


def test_several_captures_need_a_directory_for_file_formats() -> None:
    proc = egress("analyze", *CAPTURES, "--format", "md")
    assert proc.returncode == 2 and "give a directory with -o" in proc.stderr


def test_fail_on_counts_across_captures(tmp_path: Path) -> None:
    proc = egress("analyze", *CAPTURES, "--fail-on", "blocked", "-o", str(tmp_path / "t"))
    assert proc.returncode == 1
    assert "sunbeam-install.pcap" in proc.stderr and "sll.pcap:" not in proc.stderr
