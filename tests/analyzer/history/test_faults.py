"""Faults of a real run: two runs of one history at once, and a run SIGKILLed while writing Parquet.

Real processes (the ``egress`` entry point), a real kill -9; the history must stay what the last
committed manifest says, and the next run must clean up after the killed one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from analyzer.history.store import PAUSE_HOOK
from tests.support import nights
from tests.support.cli import egress
from tests.support.paths import ROOT


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from frontends.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached its first Parquet file"
        time.sleep(0.05)


def _drift_json(history: Path) -> dict[str, object]:
    proc = egress("drift", "--history", str(history), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


def test_a_run_killed_during_the_parquet_write_leaves_the_history_as_it_was(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path)
    manifest_before = (history / "manifest.json").read_bytes()
    drift_before = _drift_json(history)
    night3 = nights.night_folder(nights.NIGHT3, tmp_path / "captures")
    paused = tmp_path / "paused"
    proc = _start(
        "nightly", str(night3), "--history", str(history), "--night", nights.NIGHT3, env={PAUSE_HOOK: str(paused)}
    )
    try:
        _wait_for(paused, proc)
        written = list(history.glob(f"profile=sunbeam/night={nights.NIGHT3}/run=*/captures.parquet"))
        assert len(written) == 1  # the killed run did get a file on disk
        # While it holds the lock, a second run with a short timeout fails clearly, exit 2.
        busy = egress(
            "nightly", str(night3), "--history", str(history), "--night", nights.NIGHT3, "--lock-timeout", "0.5"
        )
        assert busy.returncode == 2
        assert busy.stderr.strip() == (
            f"egress: error: {history}: another run is writing this history (pid {proc.pid}); waited 0.5 s "
            "(--lock-timeout)"
        )
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert (history / "manifest.json").read_bytes() == manifest_before
    after = _drift_json(history)
    assert after == drift_before
    assert after["night"] == nights.NIGHT2
    # The next run takes the lock the kernel released, commits, and deletes the killed run's folder.
    rerun = egress("nightly", str(night3), "--history", str(history), "--night", nights.NIGHT3, "--format", "json")
    assert rerun.returncode == 0, rerun.stderr
    live = json.loads((history / "manifest.json").read_text())["runs"]
    assert [r["night"] for r in live] == [nights.NIGHT1, nights.NIGHT2, nights.NIGHT3]
    assert sorted(p.relative_to(history).as_posix() for p in history.glob("profile=*/night=*/run=*")) == sorted(
        f"profile=sunbeam/night={r['night']}/run={r['run']}" for r in live
    )
    assert written[0].parent.name not in {f"run={r['run']}" for r in live}


def test_two_runs_of_the_same_night_at_once_never_mix(tmp_path: Path) -> None:
    folder = nights.night_folder(nights.NIGHT1, tmp_path / "captures")
    history = tmp_path / "history"
    args = ("nightly", str(folder), "--history", str(history), "--night", nights.NIGHT1, "--format", "json")
    first, second = _start(*args, "--reanalyse"), _start(*args, "--reanalyse")
    outs = [first.communicate(timeout=120), second.communicate(timeout=120)]
    assert (first.returncode, second.returncode) == (0, 0), outs
    doc = json.loads((history / "manifest.json").read_text())
    assert doc["generation"] == 2  # both committed, one after the other
    (run,) = doc["runs"]  # the night's later run replaced the earlier one
    runs = [json.loads(out)["run"] for out, _ in outs]
    assert run["run"] in runs and len(set(runs)) == 2
    assert [p.name for p in history.glob("profile=*/night=*/run=*")] == [f"run={run['run']}"]
    for f in run["files"]:
        assert (history / f).is_file()
