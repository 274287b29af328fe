"""Where the tests find the project's files, declared once."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
CAPTURES = FIXTURES / "captures"
EXPECTED = FIXTURES / "expected"
ALLOWLISTS = FIXTURES / "allowlists"
REPLAY = FIXTURES / "replay"
GOLDEN = ROOT / "tests" / "golden"
SUNBEAM = CAPTURES / "sunbeam-install.pcap"
HOSTILE = CAPTURES / "hostile-names.pcap"
# Shared with the other projects on this machine, beside the repository (absent on a fresh clone).
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
