"""Replay: every report for each bundled install capture, compared with reviewed golden files.

`make replay` runs this; `make golden` (EGRESS_REGEN_GOLDEN=1) rewrites tests/golden/ — review
the diff before committing it.  Paths are relative to the repository so the output is the same
on every machine.
"""

from __future__ import annotations

import os

import pytest

from tests.support.cli import egress
from tests.support.paths import GOLDEN

REGEN = os.environ.get("EGRESS_REGEN_GOLDEN") == "1"

# (name, capture, allowlist, dialect): the table in fixtures/replay/README.md.
REPLAYS = [
    ("sunbeam", "fixtures/captures/sunbeam-install.pcap", "fixtures/replay/sunbeam.allowlist.md", "azure"),
    ("microk8s", "fixtures/captures/microk8s-install.pcap", "fixtures/replay/microk8s.cilium.yaml", "cilium"),
    ("aks", "fixtures/captures/aks-bootstrap.pcap", "fixtures/replay/aks.bicep", "azure"),
]
FORMATS = {"table": "txt", "md": "md", "json": "json", "csv": "csv", "html": "html"}
EXPORTS = ["request-md", "azure-bicep", "cilium", "squid", "text"]


def _egress(*args: str) -> str:
    proc = egress(*args, env={"TERM": "dumb"})
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def _cases() -> list[tuple[str, list[str], str]]:
    cases = []
    for name, capture, allowlist, dialect in REPLAYS:
        base = ["analyze", capture, "--allowlist", allowlist, "--dialect", dialect]
        for fmt, ext in FORMATS.items():
            cases.append((f"{name}/report.{ext}", [*base, "--format", fmt, "-o", "/dev/stdout"], name))
        for target in EXPORTS:
            cases.append((f"{name}/export-{target}.txt", ["export", capture, "--to", target], name))
    return cases


@pytest.mark.parametrize(("golden", "args", "replay"), _cases(), ids=[c[0] for c in _cases()])
def test_replay_matches_golden(golden: str, args: list[str], replay: str) -> None:
    out = _egress(*args)
    path = GOLDEN / golden
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out)
        return
    assert path.exists(), f"no golden file {path}: run `make golden` and review it"
    assert out == path.read_text(), f"{golden} differs from the golden file: review with `make golden` + git diff"
