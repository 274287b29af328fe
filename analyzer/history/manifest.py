"""``manifest.json``: the list of live runs, the history's only commit point.

A run writes every file into its own folder first; nothing reads a folder the manifest does not
list.  The run commits by writing the next manifest to a temporary file, syncing it, and
``os.replace``-ing it over the old one (atomic on POSIX), then syncing the folder.  A process
killed at any moment therefore leaves either the old manifest or the new one, each complete.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.history.errors import HistoryError

MANIFEST = "manifest.json"
FORMAT = "egress-history/1"
# What a history folder may hold besides the manifest: a run killed before its first commit
# leaves only these behind, and such a folder is still a (new) history.
_OURS = re.compile(r"^(\.lock|\.readers\.lock|profile=.*|manifest\.json\..*\.tmp)$")


@dataclass(frozen=True, slots=True)
class Run:
    profile: str
    night: str  # YYYY-MM-DD
    run: str
    created: str  # ISO-8601 UTC
    tool_version: str
    captures: int
    files: tuple[str, ...]  # the run's Parquet files, relative to the history folder

    @property
    def folder(self) -> str:
        return f"profile={self.profile}/night={self.night}/run={self.run}"

    def file(self, table: str) -> str:
        return f"{self.folder}/{table}.parquet"


@dataclass(frozen=True, slots=True)
class Manifest:
    generation: int  # counts commits: tells a reader which manifest it answered from
    runs: tuple[Run, ...]

    def profiles(self) -> list[str]:
        return sorted({r.profile for r in self.runs})

    def nights(self, profile: str) -> list[Run]:
        """The profile's live runs, one per night, oldest first."""
        return sorted((r for r in self.runs if r.profile == profile), key=lambda r: r.night)


EMPTY = Manifest(0, ())


def read(root: Path) -> Manifest:
    """The live manifest; EMPTY for a new history (missing or empty folder); HistoryError for anything else."""
    if root.exists() and not root.is_dir():
        raise HistoryError(f"{root}: not a folder (--history takes a history folder)")
    path = root / MANIFEST
    if not path.exists():
        if root.is_dir():
            strangers = sorted(p.name for p in root.iterdir() if not _OURS.match(p.name))
            if strangers:
                raise HistoryError(
                    f"{root}: not an egress history (no {MANIFEST}, and it holds {strangers[0]!r}); "
                    "give a new or empty folder"
                )
        return EMPTY
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {FORMAT!r}")
        runs = tuple(_run(r) for r in doc["runs"])
        return Manifest(int(doc["generation"]), runs)
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HistoryError(f"{path}: not an egress history manifest ({exc})") from None


def _run(r: dict[str, Any]) -> Run:
    return Run(
        profile=str(r["profile"]),
        night=str(r["night"]),
        run=str(r["run"]),
        created=str(r["created"]),
        tool_version=str(r["tool_version"]),
        captures=int(r["captures"]),
        files=tuple(str(f) for f in r["files"]),
    )


def commit(root: Path, manifest: Manifest, tag: str) -> None:
    """Replace the live manifest with ``manifest`` atomically (the caller holds the writer lock)."""
    doc = {
        "format": FORMAT,
        "generation": manifest.generation,
        "runs": [
            {
                "profile": r.profile,
                "night": r.night,
                "run": r.run,
                "created": r.created,
                "tool_version": r.tool_version,
                "captures": r.captures,
                "files": list(r.files),
            }
            for r in sorted(manifest.runs, key=lambda r: (r.profile, r.night))
        ],
    }
    tmp = root / f"{MANIFEST}.{tag}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / MANIFEST)
    sync_folder(root)


def sync_folder(folder: Path) -> None:
    """fsync a directory, so a rename or a new file in it survives a power cut, not only a killed process."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
