"""Writing one run of a night into its own folder, committing it, and clearing what no manifest lists.

Layout (Hive partitions, so DuckDB, Spark and Trino read the folder as it is)::

    DIR/manifest.json                                    the live runs (analyzer.history.manifest)
    DIR/profile=<p>/night=<YYYY-MM-DD>/run=<id>/captures.parquet     provenance, one row per capture
                                               .../summary.parquet  observations, dns, excess, lint

Every stored table carries the capture's ``sha256`` first (schema ``history_<table>``).  A run's
folder is invisible until the manifest lists it; re-running a night commits a new run and drops
the night's old one from the manifest; the folders no manifest lists are deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.history import lock
from analyzer.history.manifest import Manifest, Run, commit, sync_folder

if TYPE_CHECKING:
    import pyarrow as pa

# Fault injection for the kill-during-write test: after the run's first Parquet file is written, the
# writer creates the file this variable names and sleeps, so the test can SIGKILL it mid-run.
PAUSE_HOOK = "EGRESS_HISTORY_TEST_PAUSE_AFTER_FIRST_FILE"


def new_run_id() -> str:
    """Sortable by time, unique across hosts writing at the same second."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)


class RunWriter:
    """Writes a run's Parquet files; none of them is live until :meth:`commit`."""

    __slots__ = ("files", "folder", "night", "profile", "root", "run")

    def __init__(self, root: Path, profile: str, night: str, run: str) -> None:
        self.root, self.profile, self.night, self.run = root, profile, night, run
        self.folder = root / f"profile={profile}" / f"night={night}" / f"run={run}"
        self.folder.mkdir(parents=True)
        self.files: list[str] = []

    def write(self, table: str, arrow: pa.Table, metadata: dict[str, str]) -> None:
        import pyarrow.parquet as pq

        meta = {**(arrow.schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}}
        path = self.folder / f"{table}.parquet"
        with path.open("wb") as fh:
            pq.write_table(arrow.replace_schema_metadata(meta), fh)
            fh.flush()
            os.fsync(fh.fileno())
        self.files.append(path.relative_to(self.root).as_posix())
        if len(self.files) == 1 and os.environ.get(PAUSE_HOOK):
            Path(os.environ[PAUSE_HOOK]).write_text(str(os.getpid()))
            time.sleep(3600)

    def commit(self, live: Manifest, captures: int, created: str, tool_version: str) -> Manifest:
        """Make the run live in place of the night's previous one, atomically."""
        sync_folder(self.folder)
        run = Run(self.profile, self.night, self.run, created, tool_version, captures, tuple(self.files))
        kept = tuple(r for r in live.runs if (r.profile, r.night) != (self.profile, self.night))
        new = Manifest(live.generation + 1, (*kept, run))
        commit(self.root, new, self.run)
        return new


def collect_garbage(root: Path, live: Manifest) -> list[Path]:
    """Delete run folders the manifest does not list (replaced runs, runs killed before their commit),
    and stale temporary manifests; only while no reader holds the history.  The caller holds the writer lock."""
    removed: list[Path] = []
    with lock.cleaning(root) as free:
        if not free:
            return removed
        listed = {r.folder for r in live.runs}
        for run in sorted(root.glob("profile=*/night=*/run=*")):
            if run.relative_to(root).as_posix() not in listed:
                shutil.rmtree(run, ignore_errors=True)
                removed.append(run)
        for tmp in root.glob("manifest.json.*.tmp"):
            tmp.unlink(missing_ok=True)
        for empty in sorted(root.glob("profile=*/night=*"), reverse=True):
            _rmdir_if_empty(empty)
        for empty in root.glob("profile=*"):
            _rmdir_if_empty(empty)
    return removed


def _rmdir_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: a live run is in it
        path.rmdir()


def copy_rows(arrow: pa.Table, sha: str) -> pa.Table:
    """The rows of one capture in a stored table."""
    import pyarrow.compute as pc

    return arrow.filter(pc.equal(arrow["sha256"], sha))


def parquet_metadata(profile: str, night: str, run: str, table: str, extra: dict[str, Any]) -> dict[str, str]:
    from analyzer.schema import SCHEMA_VERSION

    return {
        "egress.schema": SCHEMA_VERSION,
        "egress.table": f"history_{table}",
        "egress.profile": profile,
        "egress.night": night,
        "egress.run": run,
        **{k: str(v) for k, v in extra.items()},
    }
