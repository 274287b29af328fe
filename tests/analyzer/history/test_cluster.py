"""The Dask executor on a real ``distributed.LocalCluster`` gives the same history as the local run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from analyzer.api import InputError, nightly
from analyzer.schema import HISTORY_STORED
from tests.support import nights

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    # Two in-process workers (threads): real scheduler, real workers, real (de)serialisation of results.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def _tables(history: Path) -> dict[tuple[str, str], list[dict[str, object]]]:
    """Every live table of the history, by night and table, as rows (what a reader of the history sees)."""
    out = {}
    for run in json.loads((history / "manifest.json").read_text())["runs"]:
        for table in ("captures", *HISTORY_STORED):
            path = history / f"profile={run['profile']}/night={run['night']}/run={run['run']}/{table}.parquet"
            out[(run["night"], table)] = pq.read_table(path).to_pylist()
    return out


def test_dask_gives_the_same_history_as_the_local_run(tmp_path: Path, scheduler: str) -> None:
    from analyzer.api import read_allowlist

    rules = read_allowlist(nights.allowlist_file(tmp_path))
    reports = {}
    for executor in ("local", "dask"):
        history = tmp_path / f"history-{executor}"
        for night in (nights.NIGHT1, nights.NIGHT2):
            folder = nights.night_folder(night, tmp_path / "captures")
            reports[executor] = nightly(
                [folder],
                history=history,
                night=night,
                allowlist=rules,
                executor=executor,
                scheduler=scheduler if executor == "dask" else None,
            )
    local, dask = _tables(tmp_path / "history-local"), _tables(tmp_path / "history-dask")
    assert local.keys() == dask.keys() and len(local) == 12
    for key in local:
        assert local[key] == dask[key], key
    assert sum(len(local[(n, "summary")]) for n in (nights.NIGHT1, nights.NIGHT2)) > 20  # not two empty histories
    assert reports["dask"].drift.rows == reports["local"].drift.rows
    assert [(r["class"], r["name"]) for r in reports["dask"].drift] == nights.EXPECTED_WITH_ALLOWLIST
    assert (reports["dask"].analysed, reports["dask"].reused) == (1, 1)


def test_dask_reports_a_bad_capture_like_the_local_run(tmp_path: Path, scheduler: str) -> None:
    folder = nights.night_folder(nights.NIGHT1, tmp_path / "captures")
    (folder / "host-c").mkdir()
    (folder / "host-c" / "out.pcap").write_bytes(b"not a capture")
    errors = {}
    for executor in ("local", "dask"):
        report = nightly(
            [folder],
            history=tmp_path / executor,
            night=nights.NIGHT1,
            executor=executor,
            scheduler=scheduler if executor == "dask" else None,
        )
        errors[executor] = [(e["name"], e["error"]) for e in report.errors()]
    assert errors["dask"] == errors["local"] and len(errors["dask"]) == 1


def test_the_cli_runs_on_the_cluster(tmp_path: Path, scheduler: str) -> None:
    from typer.testing import CliRunner

    from frontends.cli import app

    folder = nights.night_folder(nights.NIGHT1, tmp_path / "captures")
    args = ["nightly", str(folder), "--history", str(tmp_path / "h"), "--night", nights.NIGHT1, "-f", "json"]
    result = CliRunner().invoke(app, [*args, "--executor", "dask", "--scheduler", scheduler])
    assert result.exit_code == 0, result.output
    assert sorted(c["name"] for c in json.loads(result.output)["captures"]) == ["host-a/out.pcap", "host-b/out.pcap"]


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.history import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")  # the refusal is immediate; do not retry for 20 s
    loops_before = _io_loops()
    with pytest.raises(InputError, match=r"--scheduler tcp://127.0.0.1:9: cannot connect"):
        nightly([nights.host_b(nights.NIGHT1, tmp_path / "c" / "out.pcap")], history=tmp_path / "h",
                night=nights.NIGHT1, executor="dask", scheduler="tcp://127.0.0.1:9")  # fmt: skip
    # The failed client's IO-loop thread is stopped, not left running for the rest of the process.
    assert _io_loops() <= loops_before


def _io_loops() -> set[threading.Thread]:
    """distributed's event-loop threads alive now (each started by a client or a cluster)."""
    return {t for t in threading.enumerate() if t.name == "IO loop" and t.is_alive()}
