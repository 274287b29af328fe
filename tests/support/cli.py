"""Running the real `egress` entry point in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import ROOT


def egress(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
