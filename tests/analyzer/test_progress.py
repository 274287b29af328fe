"""Progress: measured against the file's size whatever its format, and a line a person can read."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from analyzer.pipeline import analyze, analyze_stream
from analyzer.progress import StderrProgress
from fixtures.builders.pcapng import section
from tests.support.captures import fixture_records
from tests.support.cli import egress
from tests.support.paths import SUNBEAM


def _calls(path: Path, fast: bool = True) -> tuple[list[tuple[int, int | None, int]], int]:
    calls: list[tuple[int, int | None, int]] = []
    with path.open("rb") as fh:
        result = analyze_stream(
            fh, str(path), path.stat().st_size, lambda d, t, p: calls.append((d, t, p)), fast, chunk_size=4096
        )
    return calls, result.capture.packets


@pytest.mark.parametrize("kind", ["pcap", "pcapng", "pcap.gz", "pcapng.gz"])
@pytest.mark.parametrize("fast", [True, False])
def test_progress_runs_to_the_file_size(tmp_path: Path, kind: str, fast: bool) -> None:
    raw = (
        SUNBEAM.read_bytes()
        if kind.startswith("pcap.") or kind == "pcap"
        else section("<", fixture_records(SUNBEAM.name), True)
    )
    if kind.endswith(".gz"):
        raw = gzip.compress(raw)
    path = tmp_path / f"c.{kind}"
    path.write_bytes(raw)
    calls, packets = _calls(path, fast)
    if fast:  # the full decoder reports every 20,000 packets, more than this capture has
        assert len(calls) > 2, "4 KB chunks: progress is reported along the way"
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and all(d <= len(raw) for d in done)
    assert calls[-1] == (len(raw), len(raw), packets)


def test_the_line_a_person_reads() -> None:
    now = [100.0]
    out = io.StringIO()
    bar = StderrProgress(out, clock=lambda: now[0])
    now[0] = 102.0
    assert bar.line(200_000_000, 500_000_000, 300_000) == (
        " 40.0%  200.0 of 500.0 MB, 300,000 packets, 150,000 packets/s, about 3 s left"
    )
    assert bar.line(5_000_000, None, 10) == "5.0 MB read, 10 packets, 5 packets/s"  # stdin: no size known
    now[0] = 100.0 + 3 * 3600
    assert "about 4 h 30 min left" in bar.line(100, 250, 1)
    bar(500_000_000, 500_000_000, 750_000)
    bar(500_000_000, 500_000_000, 750_000)  # once finished, nothing more is written
    text = out.getvalue()
    assert text.startswith("\r100.0%  500.0 of 500.0 MB") and text.endswith("\n") and text.count("\n") == 1


def test_cli_progress_goes_to_stderr_and_leaves_stdout_json() -> None:
    proc = egress("analyze", str(SUNBEAM), "--progress", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "100.0%" in proc.stderr and "packets/s" in proc.stderr
    import json

    assert json.loads(proc.stdout)["capture"]["packets"] == analyze(SUNBEAM).capture.packets
