"""Reading logs: detection by content, gzip, cut last lines, mixed line endings, flat memory.

The records are AZFWApplicationRule rows
(https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/azfwapplicationrule) and
squid native lines (http://www.squid-cache.org/Doc/config/logformat/), written here.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from analyzer.api import CaptureError, OptionsError, analyze
from analyzer.sources import FORMATS, detect
from analyzer.sources.build import Fold, read_rows
from tests.support.logs import app_rule, envelope, la_csv
from tests.support.paths import CAPTURES

T = "2024-06-10T06:13:20Z"
SQUID = "1718000000.123    412 10.0.0.5 TCP_TUNNEL/200 5123 CONNECT mcr.microsoft.com:443 - HIER_DIRECT/203.0.113.5 -"


def _rows(n: int) -> list[dict[str, object]]:
    return [app_rule(T, "10.0.0.5", 1000 + i, f"host{i % 7}.example", action="Deny") for i in range(n)]


def test_captures_still_are_captures() -> None:
    for name in ("aks-bootstrap.pcap", "multi-if.pcapng", "gzipped.pcap.gz"):
        assert detect((CAPTURES / name).read_bytes()[:65536]) == "capture"


def test_gzip_logs(tmp_path: Path) -> None:
    path = tmp_path / "azfw.json.gz"
    path.write_bytes(gzip.compress(envelope(_rows(20)).encode()))
    assert detect(path.read_bytes()) == "azure-firewall-json"
    report = analyze(path)
    assert report.capture.compressed and report.capture.packets == 20 and sum(r["count"] for r in report.summary) == 20


def test_gzip_cut_short_says_so(tmp_path: Path) -> None:
    data = gzip.compress(("\n".join(json.dumps(r) for r in _rows(2000)) + "\n").encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    report = analyze(path)
    assert 0 < report.capture.packets < 2000
    assert any("gzip stream ends early" in w for w in report.warnings)


@pytest.mark.parametrize("shape", ["json-lines", "envelope", "csv", "squid"])
def test_a_cut_last_line_is_a_warning_not_an_error(tmp_path: Path, shape: str) -> None:
    rows = _rows(5)
    if shape == "json-lines":
        text = "\n".join(json.dumps(r) for r in rows)
    elif shape == "envelope":
        text = envelope(rows, indent=1)
    elif shape == "csv":
        text = la_csv(rows).rstrip("\r\n")
    else:
        text = "\n".join([SQUID] * 5)
    cut = text[: len(text) - 25]  # inside the last record
    path = tmp_path / "cut.log"
    path.write_text(cut)
    report = analyze(path)
    assert report.capture.packets == 4 and report.capture.truncated, shape
    assert report.capture.parse_errors == 0
    assert any("is cut off" in w for w in report.warnings), report.warnings


def test_mixed_line_endings(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in _rows(9)]
    text = "".join(line + ("\r\n", "\n", "\r")[i % 3] for i, line in enumerate(lines))
    path = tmp_path / "mixed.json"
    path.write_bytes(text.encode())
    report = analyze(path)
    assert report.capture.packets == 9 and report.capture.parse_errors == 0
    squid = tmp_path / "mixed-squid.log"
    squid.write_bytes((SQUID + "\r\n" + SQUID + "\r" + SQUID + "\n").encode())
    assert analyze(squid).capture.packets == 3


def test_unparsed_lines_are_counted_and_the_first_few_shown(tmp_path: Path) -> None:
    lines = [SQUID if i % 3 else f"garbage line {i}" for i in range(30)]
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    report = analyze(path)
    assert report.capture.parse_errors == 10 and report.capture.packets == 20
    assert [n for n, _ in report.sources[0].unparsed_lines] == [1, 4, 7, 10, 13]
    (w,) = report.warnings
    assert "10 line(s) not understood as squid: line 1 (not a squid access.log line), line 4" in w and w.endswith(
        ", ..."
    )
    assert [e["frame"] for e in report.parse_errors] == [1, 4, 7, 10, 13]


def test_none_of_these_is_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("Meeting notes\nnothing to see\n")
    with pytest.raises(CaptureError) as err:
        analyze(text)
    message = str(err.value)
    assert "\n" not in message and str(text) in message and "not a pcap" in message and "squid" in message


def test_a_detected_log_without_a_single_record(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"records": [{"category": "AZFWApplicationRule", "properties": {"Action": "Deny"}}]}\n')
    with pytest.raises(CaptureError, match=r"empty\.json: no azure-firewall-json record could be read \(line 1"):
        analyze(path)


def test_source_format_forces_and_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(SQUID + "\n")
    with pytest.raises(CaptureError, match="no azure-firewall-msg record"):
        analyze(path, source_format="azure-firewall-msg")
    assert analyze(path, source_format="squid").capture.packets == 1
    with pytest.raises(OptionsError, match="unknown source format 'nope'"):
        analyze(path, source_format="nope")
    assert set(FORMATS) >= {"squid", "azure-firewall-json", "azure-firewall-csv", "azure-firewall-msg"}


def test_a_stream_that_cannot_seek(tmp_path: Path) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: memoryview) -> int:  # type: ignore[override]
            chunk = self.data.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

        def seekable(self) -> bool:
            return False

        def tell(self) -> int:
            raise OSError("pipe")

    stream = Pipe(envelope(_rows(3)).encode())
    report = analyze(stream, name="upload")  # type: ignore[arg-type]
    assert report.capture.packets == 3 and report.capture.path == "upload"


def test_memory_is_a_count_of_distinct_rows_not_of_records(tmp_path: Path) -> None:
    """Folding keeps one row per distinct (client, name, port, action, rule...): ten times the records,
    the same rows held."""
    held = []
    for n in (1_000, 10_000):
        path = tmp_path / f"{n}.json"
        path.write_text("\n".join(json.dumps(r) for r in _rows(n)) + "\n")
        with path.open("rb") as fh:
            rows, tally, _ = read_rows(fh, str(path))
            fold = Fold()
            for row in rows:
                fold.add(row)
        assert tally.records == n
        held.append(fold.rows_held)
    assert held == [7, 7]


def test_a_query_answer_is_streamed_not_loaded(tmp_path: Path) -> None:
    """The Log Analytics query API's one JSON document ({"tables": [{"columns", "rows"}]}) is read row by
    row from a window of text: four times the rows (4 MB to 17 MB), the same memory to read them."""
    import tracemalloc

    from analyzer.sources.jsonstream import records
    from analyzer.sources.records import Tally
    from analyzer.sources.text import LogText

    columns = list(_rows(1)[0])
    peaks = []
    for n in (25_000, 100_000):
        path = tmp_path / f"answer-{n}.json"
        table = {"name": "PrimaryResult", "columns": [{"name": c, "type": "string"} for c in columns]}
        path.write_text(json.dumps({"tables": [{**table, "rows": [[r[c] for c in columns] for r in _rows(n)]}]}))
        tracemalloc.start()
        try:
            with path.open("rb") as fh:
                tally = Tally(path=str(path), format="azure-firewall-json")
                count = sum(1 for line, record in records(LogText(fh, False), tally) if record["Type"])
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert count == n and not tally.unparsed_lines and not tally.truncated
    assert peaks[1] < peaks[0] * 1.25, peaks  # a window of a chunk or two (1 MiB each), never the document
