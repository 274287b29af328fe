"""What one `egress analyze` loads: the fixed cost of a run is mostly imports, and the upload
service and the nightly job run many small captures, where it dominates.  These modules stay out
of a run that does not use them, so a stray top-level import cannot bring the cost back unseen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parsers.capture_writer import CaptureWriter
from tests.support.paths import REPLAY, ROOT, SUNBEAM

# Never on a run that writes JSON: network libraries (tldextract pulled them in for a file it
# ships), pydantic (older typer coerced arguments with it), the table libraries (Parquet and
# to_pandas only), yaml (Cilium policies only), rich (the terminal table only).
NEVER = ("requests", "urllib3", "filelock", "tldextract", "pydantic", "pandas", "pyarrow", "yaml", "rich")
VENDORS = ("azure", "squid", "aws", "cilium", "calico")

RUN = """
import json, sys
from frontends.cli import main
sys.argv = ["egress", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def loaded(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.fixture
def empty_capture(tmp_path: Path) -> Path:
    path = tmp_path / "empty.pcap"
    CaptureWriter(path).close()
    return path


def test_an_empty_capture_without_allowlist_loads_no_reader_vendor_or_heavy_library(
    empty_capture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    modules = loaded("analyze", str(empty_capture), "--format", "json", "-o", str(out))
    assert json.loads(out.read_text())["capture"]  # the run did its job
    assert top_level(modules) & {*NEVER, "idna"} == set()
    assert {"analyzer.allowlist.readers", "analyzer.allowlist.lint", "analyzer.allowlist.diff"} & modules == set()
    assert {f"analyzer.firewalls.{v}" for v in VENDORS} & modules == set()
    # A capture is told from a log by its magic: the log readers stay unloaded.
    assert {f"analyzer.sources.{v}" for v in (*VENDORS, "azure_msg", "jsonstream")} & modules == set()


def test_a_log_loads_its_own_reader_only(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    line = "1718000000.123     42 10.0.0.5 TCP_TUNNEL/200 5000 CONNECT api.snapcraft.io:443 - HIER_DIRECT/1.2.3.4 -"
    log.write_text(line + "\n")
    out = tmp_path / "out.json"
    modules = loaded("analyze", str(log), "--format", "json", "-o", str(out))
    assert json.loads(out.read_text())["summary"][0]["fqdn"] == "api.snapcraft.io"
    assert "analyzer.sources.squid" in modules
    assert {f"analyzer.sources.{v}" for v in ("azure", "aws")} & modules == set()


def test_an_allowlist_loads_its_own_reader_and_dialect_only(empty_capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    allowlist = REPLAY / "sunbeam.allowlist.md"
    modules = loaded("analyze", str(empty_capture), "--allowlist", str(allowlist), "--format", "json", "-o", str(out))
    assert json.loads(out.read_text())["allowlist"]
    assert top_level(modules) & set(NEVER) == set()
    # A request document read and matched in the default (azure) dialect.
    assert "analyzer.firewalls.azure" in modules
    assert {f"analyzer.firewalls.{v}" for v in VENDORS if v != "azure"} & modules == set()


def test_a_real_capture_looks_up_suffixes_without_tldextract(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    allowlist = REPLAY / "sunbeam.allowlist.md"
    modules = loaded("analyze", str(SUNBEAM), "--allowlist", str(allowlist), "--format", "json", "-o", str(out))
    assert json.loads(out.read_text())["summary"]
    assert "analyzer.allowlist.psl" in modules  # suggestions group names by registrable domain
    assert top_level(modules) & set(NEVER) == set()
