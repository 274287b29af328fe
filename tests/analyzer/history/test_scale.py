"""200 captures in one night (one small capture per CI job), all cores: every one lands, counted by DuckDB."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from analyzer.api import nightly
from fixtures.builders import packets
from tests.support import nights

CAPTURES = 200


def test_two_hundred_captures_in_one_night(tmp_path: Path) -> None:
    lab = tmp_path / "fleet"
    frames = nights.answered(nights.MIRROR, 41001)
    for i in range(CAPTURES):
        # Each job's capture differs (its start time), so each has its own SHA-256 and is analysed.
        (lab / f"job-{i:03d}").mkdir(parents=True)
        packets.write_frames(lab / f"job-{i:03d}" / "out.pcap", frames, t0_ns=packets.T0_NS + i * 10**9)
    started = time.perf_counter()
    report = nightly([lab], history=tmp_path / "history", night=nights.NIGHT1)
    elapsed = time.perf_counter() - started
    assert (len(report.captures), report.analysed, report.errors()) == (CAPTURES, CAPTURES, [])
    assert report.profile == "fleet"
    con = duckdb.connect()
    glob = f"{tmp_path}/history/profile=*/night=*/run=*/"
    assert con.execute(f"SELECT count(DISTINCT sha256) FROM '{glob}captures.parquet'").fetchone() == (CAPTURES,)
    assert con.execute(
        f"SELECT count(*), sum(count) FROM '{glob}summary.parquet' WHERE fqdn = '{nights.MIRROR}'"
    ).fetchone() == (CAPTURES, CAPTURES)
    again = nightly([lab], history=tmp_path / "history", night=nights.NIGHT1)
    assert (again.analysed, again.reused) == (0, CAPTURES)
    print(f"\n200 captures: first run {elapsed:.2f} s")  # the figure the README and the commit quote
    assert elapsed < 120
