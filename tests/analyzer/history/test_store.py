"""The Parquet history: layout, manifest, provenance, idempotent re-runs, reuse by SHA-256, bad input.

DuckDB reads the history on its own (a glob over the folder, as a user would) as the independent
oracle for what the tool stored."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from analyzer.api import InputError, analyze, nightly
from analyzer.history import manifest
from tests.support import nights
from tests.support.paths import CAPTURES, SUNBEAM


def _runs(history: Path) -> list[dict[str, object]]:
    runs: list[dict[str, object]] = json.loads((history / "manifest.json").read_text())["runs"]
    return runs


def test_layout_is_hive_partitioned_and_the_manifest_lists_every_file(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path)
    runs = _runs(history)
    assert [(r["profile"], r["night"]) for r in runs] == [("sunbeam", nights.NIGHT1), ("sunbeam", nights.NIGHT2)]
    for r in runs:
        folder = f"profile=sunbeam/night={r['night']}/run={r['run']}"
        assert r["files"] == [
            f"{folder}/{t}.parquet" for t in ("captures", "observations", "summary", "dns", "excess", "lint")
        ]
        for f in r["files"]:  # type: ignore[attr-defined]
            assert (history / f).is_file()
    on_disk = sorted(p.relative_to(history).as_posix() for p in history.rglob("*.parquet"))
    assert on_disk == sorted(f for r in runs for f in r["files"])  # type: ignore[attr-defined]


def test_duckdb_reads_the_history_and_counts_agree_with_the_analysis(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path)
    con = duckdb.connect()
    glob = f"{history}/profile=*/night=*/run=*/"
    per_night = con.execute(
        f"SELECT night, count(*) FROM read_parquet('{glob}captures.parquet', hive_partitioning=true) "
        "GROUP BY night ORDER BY night"
    ).fetchall()
    assert [(str(n), c) for n, c in per_night] == [(nights.NIGHT1, 2), (nights.NIGHT2, 2)]
    # The summary rows of the sunbeam capture, on each night, are exactly what analyze() gives for it.
    sha = hashlib.sha256(SUNBEAM.read_bytes()).hexdigest()
    expected = analyze(SUNBEAM).summary
    for night in (nights.NIGHT1, nights.NIGHT2):
        rows = con.execute(
            f"SELECT fqdn, port, verdict, count FROM read_parquet('{glob}summary.parquet', hive_partitioning=true) "
            "WHERE sha256 = ? AND CAST(night AS VARCHAR) = ? ORDER BY ALL",
            [sha, night],
        ).fetchall()
        mine = [(r["fqdn"], r["port"], r["verdict"], r["count"]) for r in expected]
        assert sorted(rows, key=str) == sorted(mine, key=str), night
    provenance = con.execute(
        f"SELECT name, size, packets, truncated, tool_version FROM read_parquet('{glob}captures.parquet', "
        "hive_partitioning=true) WHERE sha256 = ? ORDER BY night",
        [sha],
    ).fetchall()
    assert {p[:4] for p in provenance} == {("host-a/out.pcap", SUNBEAM.stat().st_size, 394, False)}
    assert all(p[4].startswith("egress-analyzer ") for p in provenance)


def test_same_named_captures_are_stored_apart(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path)
    report = nightly([tmp_path / "captures" / nights.NIGHT2 / "sunbeam"], history=history, night=nights.NIGHT2)
    names = sorted(r["name"] for r in report.captures)
    assert names == ["host-a/out.pcap", "host-b/out.pcap"]
    assert len({r["sha256"] for r in report.captures}) == 2


def test_rerunning_a_night_replaces_its_run_and_reuses_stored_captures(tmp_path: Path) -> None:
    history = nights.two_nights(tmp_path)
    before = _runs(history)
    again = nightly([tmp_path / "captures" / nights.NIGHT2 / "sunbeam"], history=history, night=nights.NIGHT2)
    after = _runs(history)
    assert [r["night"] for r in after] == [nights.NIGHT1, nights.NIGHT2]
    assert after[0] == before[0] and after[1]["run"] != before[1]["run"]
    assert (again.analysed, again.reused) == (0, 2)  # both captures are stored already
    # The replaced run's folder is gone; only live runs remain on disk.
    assert sorted(p.name for p in history.glob("profile=sunbeam/night=*/run=*")) == sorted(
        f"run={r['run']}" for r in after
    )
    assert [(r["class"], r["name"]) for r in again.drift] == nights.EXPECTED
    forced = nightly(
        [tmp_path / "captures" / nights.NIGHT2 / "sunbeam"], history=history, night=nights.NIGHT2, reanalyse=True
    )
    assert (forced.analysed, forced.reused) == (2, 0)
    assert [(r["class"], r["name"]) for r in forced.drift] == nights.EXPECTED


def test_another_allowlist_means_analysing_again(tmp_path: Path) -> None:
    from analyzer.api import read_allowlist

    history = nights.two_nights(tmp_path)
    rules = read_allowlist(nights.allowlist_file(tmp_path))
    report = nightly(
        [tmp_path / "captures" / nights.NIGHT2 / "sunbeam"], history=history, night=nights.NIGHT2, allowlist=rules
    )
    assert (report.analysed, report.reused) == (2, 0)


def test_a_corrupt_capture_among_good_ones_is_reported_and_the_others_land(tmp_path: Path) -> None:
    folder = nights.night_folder(nights.NIGHT1, tmp_path / "captures")
    (folder / "host-c").mkdir()
    (folder / "host-c" / "out.pcap").write_bytes(b"this is not a capture at all, just text\n" * 4)
    report = nightly([folder], history=tmp_path / "history", night=nights.NIGHT1)
    errors = report.errors()
    assert [e["name"] for e in errors] == ["host-c/out.pcap"]
    assert "host-c/out.pcap" in errors[0]["error"] and "\n" not in errors[0]["error"]
    assert sorted(r["name"] for r in report.captures if r["error"] is None) == ["host-a/out.pcap", "host-b/out.pcap"]
    con = duckdb.connect()
    shas = con.execute(
        f"SELECT DISTINCT sha256 FROM read_parquet('{tmp_path}/history/profile=*/night=*/run=*/summary.parquet')"
    ).fetchall()
    assert len(shas) == 2


def test_an_empty_folder_is_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: no captures found"):
        nightly([tmp_path / "empty"], history=tmp_path / "history", night=nights.NIGHT1)
    assert not (tmp_path / "history").exists()


def test_a_folder_that_is_not_a_history_is_refused_and_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(InputError, match=r"photos: not an egress history \(no manifest.json, and it holds 'cat.jpg'\)"):
        nightly([SUNBEAM], history=other, night=nights.NIGHT1, profile="sunbeam")
    assert sorted(p.name for p in other.iterdir()) == ["cat.jpg"]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match=r"manifest.json: not an egress history manifest"):
        nightly([SUNBEAM], history=bad, night=nights.NIGHT1, profile="sunbeam")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError, match=r"file: not a folder"):
        nightly([SUNBEAM], history=a_file, night=nights.NIGHT1, profile="sunbeam")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"night": "2026-13-01"}, "not a date"),
        ({"night": "20261201"}, "write it YYYY-MM-DD"),
        ({"profile": "../etc"}, "use 1 to 64 letters"),
        ({"profile": "-n"}, "use 1 to 64 letters"),
        ({"executor": "spark"}, "unknown executor"),
        ({"executor": "dask"}, "needs --scheduler"),
        ({"baseline_nights": 0}, "at least 1"),
        ({"jobs": 0}, "jobs must be a whole number"),
    ],
)
def test_bad_options_are_one_line(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"night": nights.NIGHT1, "profile": "sunbeam", **kwargs}
    with pytest.raises(InputError, match=message):
        nightly([SUNBEAM], history=tmp_path / "history", **args)  # type: ignore[arg-type]


def test_the_profile_comes_from_the_folder_name(tmp_path: Path) -> None:
    folder = tmp_path / "microk8s-ha"
    folder.mkdir()
    shutil.copy(CAPTURES / "microk8s-install.pcap", folder / "out.pcap")
    report = nightly([folder / "out.pcap"], history=tmp_path / "history", night=nights.NIGHT1)
    assert report.profile == "microk8s-ha"
    assert manifest.read(tmp_path / "history").profiles() == ["microk8s-ha"]
