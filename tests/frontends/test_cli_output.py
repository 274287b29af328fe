"""Where the output goes (issue 10, items 7, 13, 14, 15, 16): checked before the analysis, one line and exit 2
when it cannot be written, the format inferred from the file name, same-named captures kept apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import ROOT, egress

SUNBEAM = str(ROOT / "fixtures" / "captures" / "sunbeam-install.pcap")
SLL = ROOT / "fixtures" / "captures" / "sll.pcap"
REQUEST = str(ROOT / "fixtures" / "replay" / "sunbeam.allowlist.md")


def _one_line_exit_2(proc: object) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)  # type: ignore[attr-defined]
    err = proc.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(err) == 1 and "Traceback" not in proc.stderr, err  # type: ignore[attr-defined]
    return str(err[0])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--format", "json", "-o", "{tmp}/missing/dir/x.json"], "no such directory"),
        (["--format", "json", "-o", "{tmp}"], "is a directory"),
        (["--format", "parquet", "-o", "{tmp}/file.txt"], "not a directory"),
        (["-o", "{tmp}/x.html", "--format", "json"], "looks like html"),
    ],
)
def test_unwritable_or_contradictory_output_is_refused_before_analysis(
    tmp_path: Path, args: list[str], says: str
) -> None:
    (tmp_path / "file.txt").write_text("already here\n")
    line = _one_line_exit_2(egress("analyze", SUNBEAM, *[a.format(tmp=tmp_path) for a in args]))
    assert says in line


def test_export_to_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    line = _one_line_exit_2(egress("export", SUNBEAM, "--to", "text", "-o", str(tmp_path / "no" / "x.txt")))
    assert "no such directory" in line


def test_full_disk_on_stdout_is_one_line() -> None:
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full")
    import subprocess
    import sys

    with full.open("w") as out:
        proc = subprocess.run(
            [sys.executable, "-c", "from frontends.cli import main; main()", "export", SUNBEAM, "--to", "text"],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    line = _one_line_exit_2(proc)
    assert "cannot write stdout" in line


@pytest.mark.parametrize(("suffix", "check"), [(".json", "json"), (".md", "md"), (".html", "html"), (".csv", "csv")])
def test_format_follows_the_file_extension(tmp_path: Path, suffix: str, check: str) -> None:
    out = tmp_path / f"report{suffix}"
    proc = egress("analyze", SUNBEAM, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    if check == "json":
        assert json.loads(text)["schema"].startswith("egress-analyzer/")
    elif check == "md":
        assert text.startswith("# Egress report")
    elif check == "html":
        assert text.startswith("<!DOCTYPE html>")
    else:
        assert text.startswith("protocol,port,fqdn,addresses")


def test_same_named_captures_in_different_folders_keep_their_reports(tmp_path: Path) -> None:
    for host in ("a", "b"):
        (tmp_path / host).mkdir()
    shutil.copy(SUNBEAM, tmp_path / "a" / "out.pcap")
    shutil.copy(SLL, tmp_path / "b" / "out.pcap")
    out = tmp_path / "reports"
    proc = egress(
        "analyze",
        str(tmp_path / "a" / "out.pcap"),
        str(tmp_path / "b" / "out.pcap"),
        "--format",
        "json",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    a = json.loads((out / "a" / "out.pcap.json").read_text())
    b = json.loads((out / "b" / "out.pcap.json").read_text())
    assert a["capture"]["path"].endswith("a/out.pcap") and b["capture"]["path"].endswith("b/out.pcap")
    assert a["capture"]["packets"] != b["capture"]["packets"]


@pytest.mark.parametrize(("fmt", "start"), [("md", "# Allowlist lint"), ("csv", "entry,file,line,problem,detail")])
def test_lint_has_the_output_options(tmp_path: Path, fmt: str, start: str) -> None:
    out = tmp_path / f"lint.{fmt}"
    proc = egress("lint", REQUEST, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith(start) and "over-broad" in text


def test_warnings_are_said_once(tmp_path: Path) -> None:
    cut = tmp_path / "cut.pcap"
    data = Path(SUNBEAM).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    proc = egress("analyze", str(cut))
    assert proc.returncode == 0
    together = proc.stdout + proc.stderr
    assert together.count("cut") + together.count("truncat") >= 1
    warning_lines = [line for line in together.splitlines() if "warning" in line.lower()]
    assert len(warning_lines) == len(set(w.split("warning", 1)[1] for w in warning_lines)), warning_lines


def test_an_empty_capture_says_no_packets(tmp_path: Path) -> None:
    import struct

    empty = tmp_path / "empty.pcap"
    empty.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for fmt in ("table", "md"):
        proc = egress("analyze", str(empty), "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        assert "None" not in proc.stdout and ("no packets" in proc.stdout.lower()), proc.stdout


def test_lint_writes_html_and_parquet(tmp_path: Path) -> None:
    import duckdb

    page = tmp_path / "lint.html"
    assert egress("lint", REQUEST, "-o", str(page)).returncode == 0
    assert page.read_text().startswith("<!DOCTYPE html>")
    out = tmp_path / "pq"
    proc = egress("lint", REQUEST, "--format", "parquet", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = duckdb.sql(f"select problem, count(*) from read_parquet('{out / 'lint.parquet'}') group by 1").fetchall()
    assert dict(rows)["over-broad"] > 0 and sum(n for _, n in rows) == 41
