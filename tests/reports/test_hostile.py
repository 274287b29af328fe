"""Names come from packets an attacker controls: they must be inert in every output.

fixtures/captures/hostile-names.pcap carries a <script> SNI, an attribute-breaking Host, a
spreadsheet formula SNI, terminal escape bytes in a DNS name, a Markdown pipe and a U+202E
(right-to-left override) SNI.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import egress
from tests.support.paths import CAPTURES, ROOT

HOSTILE = "fixtures/captures/hostile-names.pcap"


def _egress(*args: str) -> str:
    # FORCE_COLOR: rich emits its own escapes, so the test proves none come from the names.
    proc = egress(*args, env={"FORCE_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def test_terminal_output_carries_no_control_characters() -> None:
    # FORCE_COLOR makes rich emit its own colour escapes; none may come from the names.
    out = _egress("analyze", HOSTILE)
    stripped = re.sub(r"\x1b\[[0-9;]*m", "", out)  # rich's own SGR colour codes
    assert "\x1b" not in stripped and "\u202e" not in stripped
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", stripped)
    assert "\\027[31mred" in stripped  # the escape byte is shown, escaped, never sent
    assert "<script>alert(1)</script>.evil.example" in stripped  # literal text, not markup


def test_markdown_cells_cannot_break_the_table_or_inject_html() -> None:
    md = _egress("analyze", HOSTILE, "--format", "md")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "a\\|b.example" in md and "| a|b.example" not in md
    for line in md.splitlines():
        if line.startswith("| ") and "b.example" in line:
            assert len(re.findall(r"(?<!\\)\|", line)) == 8  # 7 columns: the pipe in the name is escaped


def test_csv_neutralises_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(_egress("analyze", HOSTILE, "--format", "csv"))))
    assert rows
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    assert any(r["fqdn"].startswith("'=cmd|") for r in rows)


def test_json_is_valid_and_ascii() -> None:
    text = _egress("analyze", HOSTILE, "--format", "json").split("\n}\n", 1)[0] + "\n}\n"
    doc = json.loads(text)
    assert text.isascii()
    names = {r["fqdn"] for r in doc["summary"]}
    assert "<script>alert(1)</script>.evil.example" in names  # kept as data: the JSON consumer escapes


@pytest.mark.parametrize("target", ["request-md", "azure-bicep", "azure-arm", "cilium", "squid", "text"])
def test_exports_never_write_an_invalid_name_into_a_firewall_config(target: str) -> None:
    out = _egress("export", HOSTILE, "--to", target)
    for bad in ("<script", "onmouseover", "=cmd", "\\027", "a|b", "\\226", "calc"):
        assert bad not in out, (target, bad)


def test_an_undecodable_capture_file_name_sends_no_raw_byte_to_the_terminal(tmp_path: Path) -> None:
    # Python reads an undecodable file name byte as a lone surrogate and, under surrogateescape (what a
    # C/POSIX locale gives stdout), writes it back as the raw byte: 0x9B is the 8-bit CSI.
    capture = tmp_path / os.fsdecode(b"x\x9b31m\x1b[2Jnano.pcap")
    shutil.copyfile(CAPTURES / "nano.pcap", capture)
    proc = subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", "analyze", str(capture)],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8:surrogateescape"},
    )
    assert proc.returncode == 0, proc.stderr
    assert b"\x9b" not in proc.stdout and b"\x1b" not in proc.stdout
    assert b"x\\udc9b31m\\x1b[2Jnano.pcap" in proc.stdout
