"""``egress nightly`` and ``egress drift``: the two nights give exactly their drift items in every format,
the right exit code under each --fail-on, and one line with exit 2 for bad input."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontends.cli import app
from tests.support import nights
from tests.support.cli import egress

runner = CliRunner()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both nights' capture folders, and a history of them stored with the allowlist."""
    root = tmp_path_factory.mktemp("lab")
    nights.two_nights(root, allowlist=True)
    return root


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _drift(lab: Path, *args: str) -> tuple[int, str]:
    return _run("drift", "--history", str(lab / "history"), *args)


EXPECTED = nights.EXPECTED_WITH_ALLOWLIST


@pytest.mark.parametrize(
    ("gates", "code"),
    [
        ((), 0),
        (("new",), 1),
        (("gone",), 1),
        (("blocked",), 1),
        (("regression",), 1),
        (("missing",), 1),
    ],
)
def test_nightly_exit_code_under_each_fail_on(lab: Path, gates: tuple[str, ...], code: int) -> None:
    fail_on = [a for g in gates for a in ("--fail-on", g)]
    status, output = _run(
        "nightly",
        str(lab / "captures" / nights.NIGHT2 / "sunbeam"),
        "--history",
        str(lab / "history"),
        "--night",
        nights.NIGHT2,
        "-a",
        str(lab / "request.txt"),
        "--format",
        "json",
        *fail_on,
    )
    assert status == code, output
    doc = json.loads(output[output.index("{") :].rsplit("}", 1)[0] + "}")
    assert [(d["class"], d["name"]) for d in doc["drift"]] == EXPECTED
    assert doc["failing"] == (0 if not gates else 1)


def test_without_an_allowlist_regression_never_fails(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path)
    proc = egress("drift", "--history", str(history), "--fail-on", "regression", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert [(d["class"], d["name"]) for d in json.loads(proc.stdout)["drift"]] == nights.EXPECTED
    proc = egress("drift", "--history", str(history), "--fail-on", "blocked", "--format", "json")
    assert proc.returncode == 1 and proc.stderr.strip() == "egress: failing: 1 drift item(s) of --fail-on blocked"


def test_json_has_exactly_the_items(lab: Path) -> None:
    status, output = _drift(lab, "--format", "json")
    assert status == 0
    doc = json.loads(output)
    assert doc["schema"] == "egress-nightly/1"
    assert (doc["profile"], doc["night"], doc["baseline"]["nights"]) == ("sunbeam", nights.NIGHT2, [nights.NIGHT1])
    assert [(d["class"], d["name"]) for d in doc["drift"]] == EXPECTED
    assert sorted(c["name"] for c in doc["captures"]) == ["host-a/out.pcap", "host-b/out.pcap"]


def test_junit_has_one_case_per_item_and_failures_for_the_gated_classes(lab: Path, tmp_path: Path) -> None:
    out = tmp_path / "drift.xml"
    status, _ = _drift(lab, "-o", str(out), "--fail-on", "regression", "--fail-on", "gone")
    assert status == 1
    suite = ET.parse(out).getroot()
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [(f"egress.drift.{k}", n) for k, n in EXPECTED]
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == [nights.MIRROR, nights.DROPPED]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "0")


def test_markdown_has_one_row_per_item(lab: Path) -> None:
    status, output = _drift(lab, "--format", "md", "--fail-on", "new")
    assert status == 1
    rows = [line for line in output.splitlines() if line.startswith("| ") and not line.startswith(("| gate", "| ---"))]
    cells = [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]
    assert [(c[1], c[2].replace("\\", "")) for c in cells] == EXPECTED
    assert [c[0] for c in cells] == ["", "FAIL", "", ""]


def test_html_lists_the_items_and_draws_the_timeline(lab: Path) -> None:
    status, output = _drift(lab, "--format", "html")
    assert status == 0
    rows = nights.html_table(output, "drift-table")
    assert [(r[1], r[2]) for r in rows] == EXPECTED
    svg = output[output.index("<svg") : output.index("</svg>")]
    assert svg.count("<rect") == len({r for r in re.findall(r"<title>(\S+) 2026", svg)}) * 2
    assert "http://" not in output.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in output


def test_terminal_table_lists_the_items(lab: Path) -> None:
    status, output = _drift(lab, "--fail-on", "blocked")
    assert status == 1
    lines = [line for line in output.splitlines() if any(name in line for _, name in EXPECTED)]
    for (cls, name), line in zip(EXPECTED, lines, strict=True):
        assert cls in line and name in line
    assert lines[0].split()[0] == "FAIL"


def test_from_and_to(lab: Path) -> None:
    status, output = _drift(lab, "--from", nights.NIGHT1, "--to", nights.NIGHT2, "--format", "json")
    assert status == 0
    assert [(d["class"], d["name"]) for d in json.loads(output)["drift"]] == EXPECTED


def test_a_corrupt_capture_is_exit_two_after_the_others_are_stored(tmp_path: Path) -> None:
    folder = nights.night_folder(nights.NIGHT1, tmp_path / "captures")
    (folder / "host-c").mkdir()
    bad = folder / "host-c" / "out.pcap"
    bad.write_bytes(b"\x00" * 10)
    proc = egress("nightly", str(folder), "--history", str(tmp_path / "h"), "--night", nights.NIGHT1, "-f", "json")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"egress: error: {bad}: ")
    doc = json.loads(proc.stdout)
    assert sorted((c["name"], c["error"] is None) for c in doc["captures"]) == [
        ("host-a/out.pcap", True),
        ("host-b/out.pcap", True),
        ("host-c/out.pcap", False),
    ]


def test_a_night_with_no_readable_capture_is_not_stored(tmp_path: Path) -> None:
    # Stored, a night that saw nothing would enter the next baselines: every name 'gone', then 'flapping'.
    history = nights.two_nights(tmp_path)
    manifest = (history / "manifest.json").read_bytes()
    folder = tmp_path / "night3" / "host-a"
    folder.mkdir(parents=True)
    (folder / "out.pcap").write_bytes(b"garbage, not a capture")
    (folder / "other.pcap").write_bytes(b"")
    proc = egress("nightly", str(folder.parent), "--history", str(history), "--night", nights.NIGHT3)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert f"no capture of night {nights.NIGHT3} could be read; history unchanged" in proc.stderr
    assert (history / "manifest.json").read_bytes() == manifest
    assert not list(history.glob(f"profile=*/night={nights.NIGHT3}"))
    drift = egress("drift", "--history", str(history), "--format", "json")
    assert drift.returncode == 0 and json.loads(drift.stdout)["night"] == nights.NIGHT2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nightly", "{tmp}/empty", "--history", "{tmp}/h"), "{tmp}/empty: no captures found"),
        (("nightly", "{tmp}/missing.pcap", "--history", "{tmp}/h"), "{tmp}/missing.pcap: no such file or folder"),
        (("nightly", "{tmp}/empty", "--history", "{tmp}/h", "--fail-on", "missing"), "--fail-on missing needs"),
        (("drift", "--history", "{tmp}/other"), "{tmp}/other: not an egress history"),
        (("drift", "--history", "{tmp}/h"), "{tmp}/h: no history here yet"),
        (("drift", "--history", "{tmp}/h", "-f", "md", "-o", "{tmp}/x.html"), "--format md but -o"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    proc = egress(*(a.format(tmp=tmp_path) for a in args))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("egress: error: " + message.format(tmp=tmp_path)), proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["nightly", "drift"])
def test_help_has_an_example(command: str) -> None:
    status, output = _run(command, "--help")
    assert status == 0
    assert f"Example: egress {command} --history" in " ".join(output.split()) or (
        f"Example: egress {command} " in " ".join(output.split())
    )
    for option in ("--history", "--fail-on", "--format", "--profile", "--baseline-nights", "--suppressions"):
        assert option in output
    assert "<bool>" not in output


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "table", "parquet"])
def test_analyze_keeps_same_named_captures_apart_in_every_format(tmp_path: Path, fmt: str) -> None:
    """``egress analyze a/out.pcap b/out.pcap -o DIR`` once wrote one report over the other and exited 0."""
    a = nights.night_folder(nights.NIGHT1, tmp_path) / "host-a" / "out.pcap"
    b = a.parent.parent / "host-b" / "out.pcap"
    out = tmp_path / "reports"
    status, output = _run("analyze", str(a), str(b), "--format", fmt, "-o", str(out))
    assert status == 0, output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    if fmt == "parquet":
        assert {w.split("/")[0] for w in written} == {"host-a"} | {"host-b"}
        assert {w.rsplit("/", 1)[0] for w in written} == {"host-a/out.pcap", "host-b/out.pcap"}
    else:
        ext = "txt" if fmt == "table" else fmt
        assert written == [f"host-a/out.pcap.{ext}", f"host-b/out.pcap.{ext}"]
        assert (out / f"host-a/out.pcap.{ext}").read_text() != (out / f"host-b/out.pcap.{ext}").read_text()


def test_a_hostile_folder_name_in_an_error_is_inert(tmp_path: Path) -> None:
    folder = tmp_path / "job\x1b[2J|<b>"
    folder.mkdir()
    proc = egress("nightly", str(folder), "--history", str(tmp_path / "h"), "--profile", "lab")
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "job\\x1b[2J|<b>: no captures found" in proc.stderr


def test_an_unreadable_capture_is_a_row_with_its_reason(tmp_path: Path) -> None:
    import os

    folder = nights.night_folder(nights.NIGHT1, tmp_path / "captures")
    locked = folder / "host-b" / "out.pcap"
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        pytest.skip("running as root: a mode-0 file is still readable")
    status, output = _run("nightly", str(folder), "--history", str(tmp_path / "h"), "-f", "json")
    assert status == 2
    assert f"{locked}: permission denied" in output
