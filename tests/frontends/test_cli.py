"""The CLI boundary: one clear line and exit code 2 for bad input, JSON keys other issues build on."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontends.cli import app
from tests.support.paths import SHARED, SUNBEAM

FIXTURE = SUNBEAM
runner = CliRunner()


def _egress(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def test_json_document_has_the_keys_other_issues_build_on() -> None:
    proc = _egress("analyze", str(FIXTURE), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "egress-analyzer/2"
    for key in ("path", "format", "link_types", "packets", "bytes", "first_ts", "last_ts", "truncated", "parse_errors"):
        assert key in doc["capture"], key
    summary_keys = {
        "protocol",
        "port",
        "fqdn",
        "addresses",
        "count",
        "bytes",
        "verdict",
        "action",
        "first_seen",
        "last_seen",
        "source",
        "noise",
        "status",
        "entry",
        "reason",
    }
    flow_keys = {
        "ts",
        "src",
        "sport",
        "dst",
        "dport",
        "transport",
        "protocol",
        "fqdn",
        "source",
        "verdict",
        "packets",
        "bytes",
        "via",
    }
    dns_keys = {"qname", "qtype", "rcode", "answers", "cname_chain", "count"}
    assert doc["summary"] and summary_keys <= set(doc["summary"][0])
    assert doc["flows"] and flow_keys <= set(doc["flows"][0])
    assert doc["dns"] and dns_keys <= set(doc["dns"][0])
    assert isinstance(doc["parse_errors"], list)
    # fqdn is lower-case without a trailing dot; action follows the verdict.
    for row in doc["summary"]:
        assert row["fqdn"] is None or (row["fqdn"] == row["fqdn"].lower() and not row["fqdn"].endswith("."))
        assert row["action"] == ("Allow" if row["verdict"] == "ok" else "Deny")
        assert row["fqdn"] is not None or row["addresses"]
    assert not any(r["protocol"] == "DNS" for r in doc["summary"])


def test_garbage_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("this is not a capture\n" * 10)
    proc = _egress("analyze", str(junk))
    assert proc.returncode == 2
    err = proc.stderr.decode().strip().splitlines()
    assert len(err) == 1, err
    assert str(junk) in err[0] and "not a pcap" in err[0]
    assert b"Traceback" not in proc.stderr


@pytest.mark.parametrize("content", [b"", b"\xd4\xc3\xb2"])
def test_empty_or_tiny_file_exit_2(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "empty.pcap"
    f.write_bytes(content)
    proc = _egress("analyze", str(f))
    assert proc.returncode == 2
    assert len(proc.stderr.decode().strip().splitlines()) == 1


def test_missing_file_exit_2() -> None:
    proc = _egress("analyze", "/nonexistent/out.pcap")
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == "egress: error: /nonexistent/out.pcap: no such file"


def test_truncated_capture_keeps_every_whole_record(tmp_path: Path) -> None:
    data = FIXTURE.read_bytes()
    whole = json.loads(_egress("analyze", str(FIXTURE), "--format", "json").stdout)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 7])  # tcpdump killed in the middle of the last record
    proc = _egress("analyze", str(cut), "--format", "json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["capture"]["truncated"] is True
    assert doc["capture"]["packets"] == whole["capture"]["packets"] - 1
    assert b"warning" in proc.stderr and b"cut.pcap" in proc.stderr


def test_stdin_and_gzip_give_the_same_answer(tmp_path: Path) -> None:
    plain = json.loads(_egress("analyze", str(FIXTURE), "--format", "json").stdout)
    gz = tmp_path / "out.pcap.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    zipped = json.loads(_egress("analyze", str(gz), "--format", "json").stdout)
    piped = json.loads(_egress("analyze", "-", "--format", "json", stdin=FIXTURE.read_bytes()).stdout)
    assert zipped["capture"]["compressed"] is True
    assert zipped["summary"] == plain["summary"] == piped["summary"]
    assert zipped["dns"] == plain["dns"] == piped["dns"]


def test_every_command_has_help_with_an_example() -> None:
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for command in ("analyze",):
        assert command in top.output
        sub = runner.invoke(app, [command, "--help"])
        assert sub.exit_code == 0
        assert "Example" in sub.output, command


def test_table_output_mentions_blocked_names(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    proc = _egress("analyze", str(FIXTURE), "-o", str(out))
    assert proc.returncode == 0
    text = out.read_text()
    doc = json.loads(_egress("analyze", str(FIXTURE), "--format", "json").stdout)
    for row in doc["summary"]:
        if row["action"] == "Deny" and row["fqdn"]:
            assert row["fqdn"] in text


SHARED_REQUESTS = SHARED / "requests"


@pytest.mark.skipif(not SHARED_REQUESTS.is_dir(), reason="../shared/requests absent")
def test_lint_command_on_the_real_request() -> None:
    proc = _egress("lint", str(SHARED_REQUESTS / "microstack-acl-request.md"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["entries"] == 38 and doc["dialect"] == "azure"
    problems = {(f["entry"], f["problem"]) for f in doc["lint"]}
    assert ("*canonical.com", "over-broad") in problems
    assert ("*amazonaws.com", "multi-tenant") in problems


@pytest.mark.skipif(not SHARED_REQUESTS.is_dir(), reason="../shared/requests absent")
def test_a_document_without_an_allowlist_is_one_line_and_exit_2() -> None:
    proc = _egress("lint", str(SHARED_REQUESTS / "artesca-calico-host-firewall.md"))
    assert proc.returncode == 2
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "artesca-calico-host-firewall.md" in lines[0] and "no allowlist entries" in lines[0]


def test_bad_allowlist_line_is_named(tmp_path: Path) -> None:
    # A bad line is skipped and named as an invalid lint finding, not fatal (issue 10, item 12).
    bad = tmp_path / "list.txt"
    bad.write_text("api.snapcraft.io:443\nregistry.k8s.io:99999\n")
    proc = _egress("analyze", str(FIXTURE), "--allowlist", str(bad), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (finding,) = [f for f in doc["lint"] if f["problem"] == "invalid"]
    assert (finding["file"], finding["line"]) == (str(bad), 2) and "port" in finding["detail"]
    assert doc["allowlist"]["entries"] == 1
    assert any(f"{bad}: skipped 1 invalid entry (line 2)" in note for note in doc["allowlist"]["notes"])


def test_unknown_dialect_is_a_usage_error() -> None:
    proc = _egress("analyze", str(FIXTURE), "--dialect", "paloalto")
    assert proc.returncode == 2 and b"unknown dialect" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "{bad}"],
        ["lint", "{bad}"],
        ["analyze", str(SUNBEAM), "--allowlist", "{bad}"],
        ["nightly", "{bad}", "--history", "{tmp}/h"],
    ],
)
def test_a_file_name_with_terminal_escapes_is_inert_in_every_error_line(tmp_path: Path, args: list[str]) -> None:
    # The one-line error names the user's file: its control characters are shown, never sent to the terminal.
    bad = tmp_path / "\x1b]0;pwned\x07\x1b[2Jout.pcap"
    bad.write_bytes(b"not a capture, not an allowlist")
    argv = [a.format(bad=bad, tmp=tmp_path) for a in args]
    proc = subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", *argv], capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("egress: error: ")
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert "\\x1b]0;pwned\\x07\\x1b[2Jout.pcap" in proc.stderr


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    """`python -m frontends.cli`, for a machine where the egress script is not on PATH: every
    subcommand is there, and a run gives the same exit code as the script."""
    root = Path(__file__).resolve().parents[2]
    help_text = subprocess.run(
        [sys.executable, "-m", "frontends.cli", "--help"], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert help_text.returncode == 0, help_text.stderr
    for command in ("analyze", "serve", "nightly", "drift", "capture"):
        assert command in help_text.stdout
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all")
    command = [sys.executable, "-m", "frontends.cli", "analyze", str(junk)]
    run = subprocess.run(command, capture_output=True, text=True, cwd=root, timeout=120)
    assert run.returncode == 2 and "junk.pcap" in run.stderr
