"""The fast path must not change a single answer: it is compared with the full decoder on every capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.pipeline import analyze
from reports.jsondoc import document
from tests.support.truth import CORPUS

ROOT = Path(__file__).resolve().parents[2]


def _captures() -> list[Path]:
    paths = sorted((ROOT / "fixtures" / "captures").iterdir())
    if CORPUS.is_dir():
        paths += sorted(p for p in CORPUS.rglob("*") if p.suffix in (".pcap", ".gz") and p.is_file())
    return [p for p in paths if p.is_file()]


@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_fast_and_full_decoders_agree(path: Path) -> None:
    fast = document(analyze(path, fast=True))
    full = document(analyze(path, fast=False))
    assert fast["capture"] == full["capture"]
    for table in ("summary", "flows", "http", "dns", "parse_errors"):
        assert fast[table] == full[table], table
    assert fast["warnings"] == full["warnings"]


def test_a_capture_cut_anywhere_gives_the_same_warning(tmp_path: Path) -> None:
    """tcpdump killed mid-record or mid-header: both readers must say the same thing."""
    data = (ROOT / "fixtures" / "captures" / "sll.pcap").read_bytes()
    cut_file = tmp_path / "cut.pcap"
    for cut in range(1, 200):
        cut_file.write_bytes(data[:-cut])
        fast, full = analyze(cut_file, fast=True), analyze(cut_file, fast=False)
        assert fast.warnings == full.warnings, cut
        assert fast.capture == full.capture, cut
