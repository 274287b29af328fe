"""Reading the history with DuckDB, over exactly the files the manifest lists.

Never a glob over the folder: a run killed mid-write, or one replaced but not yet deleted, has files
there that are not history.  The Hive partition columns (``profile``, ``night``, ``run``) come from
the paths; ``hive_types_autocast=false`` keeps ``night`` the text it is in the manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.history.manifest import Run

if TYPE_CHECKING:
    import duckdb


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    return duckdb.connect(config={"threads": 2})


def _files(root: Path, runs: Sequence[Run], table: str) -> list[str]:
    return [str(root / r.file(table)) for r in runs]


def _source(param: str) -> str:
    return f"read_parquet(${param}, hive_partitioning=true, hive_types_autocast=false)"


def stored_captures(root: Path, runs: Sequence[Run], settings: str) -> dict[str, dict[str, Any]]:
    """Captures the live runs already hold, readable, reviewed with ``settings``: sha256 -> its row
    (timestamps as integer ns) and the run folder its tables are in."""
    if not runs:
        return {}
    sql = f"""
        SELECT sha256, packets, epoch_ns(first_ts) AS first_ts, epoch_ns(last_ts) AS last_ts, truncated,
               warnings, profile, night, run
        FROM {_source("files")}
        WHERE error IS NULL AND settings = $settings
        ORDER BY night DESC, run DESC
    """
    con = _connect()
    cur = con.execute(sql, {"files": _files(root, runs, "captures"), "settings": settings})
    names = [d[0] for d in cur.description]
    found: dict[str, dict[str, Any]] = {}
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        row["folder"] = f"profile={row.pop('profile')}/night={row.pop('night')}/run={row.pop('run')}"
        found.setdefault(row["sha256"], row)  # the newest run holding it
    return found


@dataclass(frozen=True, slots=True)
class NameRow:
    """One (name, protocol, port, verdict, review) of a night's egress, with the captures that show it."""

    night: str
    name: str
    protocol: str
    port: int
    verdict: str
    action: str
    status: str | None
    entry: str | None
    entry_line: int | None
    count: int
    captures: tuple[str, ...]


def egress_by_night(root: Path, runs: Sequence[Run]) -> list[NameRow]:
    """Every night's egress (noise left out): the summary rows joined to the captures that hold them."""
    if not runs:
        return []
    sql = f"""
        WITH s AS (SELECT * FROM {_source("summary")} WHERE noise IS NULL),
             c AS (SELECT run, sha256, name FROM {_source("captures")} WHERE error IS NULL)
        SELECT s.night, coalesce(s.fqdn, s.addresses[1]) AS name, s.protocol, s.port, s.verdict, s.action,
               s.status, s.entry, s.entry_line, sum(s.count)::BIGINT AS count, list(DISTINCT c.name ORDER BY c.name)
        FROM s JOIN c ON s.run = c.run AND s.sha256 = c.sha256
        GROUP BY ALL
        ORDER BY ALL
    """
    con = _connect()
    rows = con.execute(sql, {"summary": _files(root, runs, "summary"), "captures": _files(root, runs, "captures")})
    out = []
    for night, name, protocol, port, verdict, action, status, entry, line, count, captures in rows.fetchall():
        out.append(NameRow(night, name, protocol, port, verdict, action, status, entry, line, count, tuple(captures)))
    return out


def unused_entries_by_night(root: Path, runs: Sequence[Run]) -> dict[str, set[tuple[str, int | None]]]:
    """Per night, the allowlist entries (text, line) that no readable capture of the night used."""
    if not runs:
        return {}
    sql = f"""
        WITH e AS (SELECT night, entry, line, count(DISTINCT sha256) AS n FROM {_source("excess")} GROUP BY ALL),
             c AS (SELECT night, count(DISTINCT sha256) AS n FROM {_source("captures")}
                   WHERE error IS NULL GROUP BY ALL)
        SELECT e.night, e.entry, e.line FROM e JOIN c ON e.night = c.night AND e.n = c.n ORDER BY ALL
    """
    con = _connect()
    out: dict[str, set[tuple[str, int | None]]] = {}
    for night, entry, line in con.execute(
        sql, {"excess": _files(root, runs, "excess"), "captures": _files(root, runs, "captures")}
    ).fetchall():
        out.setdefault(night, set()).add((entry, line))
    return out


def captures_of(root: Path, run: Run) -> list[dict[str, Any]]:
    """A run's captures table as rows (timestamps as integer ns), in the order written."""
    import pyarrow.parquet as pq

    arrow = pq.read_table(root / run.file("captures"))
    rows: list[dict[str, Any]] = arrow.to_pylist()
    for col in ("first_ts", "last_ts"):
        stamps = arrow[col].cast("int64").to_pylist()
        for row, ns in zip(rows, stamps, strict=True):
            row[col] = ns
    return rows
