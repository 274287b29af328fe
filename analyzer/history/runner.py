"""A night's run (analyse, store, commit) and the drift report over the history, behind analyzer.api."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.frames import Table
from analyzer.history import drift as drift_mod
from analyzer.history import lock, manifest, query, store
from analyzer.history.collect import (
    CaptureResult,
    find_captures,
    history_names,
    settings_fingerprint,
    sha256_of,
    tool_version,
)
from analyzer.history.errors import HistoryError
from analyzer.history.model import NightReport
from analyzer.history.suppressions import Suppression
from analyzer.schema import HISTORY_STORED, arrow_schema

if TYPE_CHECKING:
    import pyarrow as pa

    from analyzer.allowlist.model import Allowlist
    from analyzer.options import Options
    from analyzer.report import Report

_PROFILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# analyse(paths) -> one CaptureResult per path, in order
Analyse = Callable[[list[str]], list[CaptureResult]]
Hash = Callable[[list[str]], list[str | None]]


def check_night(night: str | None) -> str:
    if night is None:
        return dt.date.today().isoformat()
    try:
        day = dt.date.fromisoformat(night)
    except (ValueError, TypeError):
        raise HistoryError(f"night {night!r}: not a date (YYYY-MM-DD)") from None
    if day.isoformat() != night:
        raise HistoryError(f"night {night!r}: write it YYYY-MM-DD")
    return night


def check_profile(profile: str, where: str = "--profile") -> str:
    if not _PROFILE.match(profile):
        raise HistoryError(
            f"profile {profile!r} ({where}): use 1 to 64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return profile


def default_profile(sources: Sequence[str | os.PathLike[str]]) -> str:
    """The install the captures belong to: the folder given, or the folder of the first file given."""
    first = Path(os.path.abspath(sources[0]))
    folder = first if first.is_dir() else first.parent
    return check_profile(folder.name, f"from the folder name {str(folder)!r}; give --profile")


def run_night(
    sources: Sequence[str | os.PathLike[str]],
    history: str | os.PathLike[str],
    *,
    allowlist: Allowlist | None,
    options: Options,
    night: str | None,
    profile: str | None,
    reanalyse: bool,
    analyse: Analyse,
    hashes: Hash,
    lock_timeout: float,
    baseline_nights: int,
    suppressions: Sequence[Suppression],
) -> NightReport:
    night = check_night(night)
    profile = check_profile(profile) if profile is not None else default_profile(sources)
    paths = find_captures(sources)
    root = Path(history)
    manifest.read(root)  # not a history: say so before any analysis
    root.mkdir(parents=True, exist_ok=True)
    with lock.writer(root, lock_timeout):
        live = manifest.read(root)
        settings = settings_fingerprint(allowlist, options)
        shas = hashes(paths)
        stored = {} if reanalyse else query.stored_captures(root, live.runs, settings)
        first_path: dict[str, str] = {}
        unreadable = []  # could not even be hashed: the analysis gives the one-line reason
        for path, sha in zip(paths, shas, strict=True):
            if sha is None:
                unreadable.append(path)
            elif sha not in stored:
                first_path.setdefault(sha, path)
        todo = [*first_path.values(), *unreadable]
        results = dict(zip(todo, analyse(todo), strict=True))
        if paths and not stored.keys() & set(shas) and all(results[p].error is not None for p in todo):
            # A night with no readable capture is not a night in which every name went away: stored,
            # it would enter later baselines and turn every name into 'gone' and then 'flapping'.
            first = results[todo[0]].error
            raise HistoryError(f"{root}: no capture of night {night} could be read; history unchanged ({first})")
        run = store.new_run_id()
        writer = store.RunWriter(root, profile, night, run)
        captures = _captures_rows(paths, shas, results, first_path, stored, settings)
        meta = {"egress.tool_version": tool_version(), "egress.settings": settings}
        writer.write(
            "captures",
            Table("history_captures", captures).to_arrow(),
            store.parquet_metadata(profile, night, run, "captures", meta),
        )
        order = list(dict.fromkeys(r["sha256"] for r in captures if r["error"] is None))
        sources_by_sha = {sha: results[first_path[sha]] for sha in order if sha in first_path}
        for table in HISTORY_STORED:
            arrow = _stored_table(root, table, order, sources_by_sha, stored)
            writer.write(table, arrow, store.parquet_metadata(profile, night, run, table, meta))
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        live = writer.commit(live, len(captures), created, tool_version())
        store.collect_garbage(root, live)
    return night_report(root, live, profile, night, None, baseline_nights, suppressions)


def local_hashes(paths: list[str]) -> list[str | None]:
    return [_hash_or_none(p) for p in paths]


def _hash_or_none(path: str) -> str | None:
    try:
        return sha256_of(path)
    except OSError:
        return None  # unreadable: the analysis says why, in its one line


def _captures_rows(
    paths: list[str],
    shas: list[str | None],
    results: dict[str, CaptureResult],
    first_path: dict[str, str],
    stored: dict[str, dict[str, Any]],
    settings: str,
) -> list[dict[str, Any]]:
    names = history_names(paths)
    rows = []
    for path, sha in zip(paths, shas, strict=True):
        row: dict[str, Any] = {
            "sha256": sha,
            "path": path,
            "name": names[path],
            "size": _size(path),
            "packets": None,
            "first_ts": None,
            "last_ts": None,
            "truncated": None,
            "tool_version": tool_version(),
            "settings": settings,
            "reused": False,
            "error": None,
            "warnings": [],
        }
        if sha is None:
            row["error"] = results[path].error or f"{path}: cannot read"
        elif sha in stored:
            s = stored[sha]
            row.update(
                packets=s["packets"], first_ts=s["first_ts"], last_ts=s["last_ts"], truncated=s["truncated"],
                warnings=list(s["warnings"]), reused=True,
            )  # fmt: skip
        else:
            r = results[first_path[sha]]
            row.update(
                packets=r.packets if r.error is None else None, first_ts=r.first_ts, last_ts=r.last_ts,
                truncated=r.truncated if r.error is None else None, warnings=list(r.warnings), error=r.error,
            )  # fmt: skip
        rows.append(row)
    return rows


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _stored_table(
    root: Path, table: str, order: list[str], new: dict[str, CaptureResult], stored: dict[str, dict[str, Any]]
) -> pa.Table:
    """The run's rows of one table: each capture's own, in capture order, new ones and reused ones alike."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = f"history_{table}"
    schema = arrow_schema(name)
    cache: dict[str, pa.Table] = {}
    pieces = []
    for sha in order:
        if sha in new:
            rows = [{"sha256": sha, **row} for row in new[sha].tables[table]]
            pieces.append(Table(name, rows).to_arrow())
        else:
            folder = stored[sha]["folder"]
            if folder not in cache:
                cache[folder] = pq.read_table(root / folder / f"{table}.parquet").replace_schema_metadata(None)
            pieces.append(store.copy_rows(cache[folder], sha).cast(schema))
    return pa.concat_tables(pieces) if pieces else schema.empty_table()


def night_report(
    root: Path,
    live: manifest.Manifest,
    profile: str,
    night: str | None,
    from_night: str | None,
    baseline_nights: int,
    suppressions: Sequence[Suppression],
) -> NightReport:
    """The drift of ``night`` (default: the profile's last) against the ``baseline_nights`` before it, or
    against ``from_night`` alone."""
    runs = live.nights(profile)
    if not runs:
        known = ", ".join(live.profiles()) or "none yet"
        raise HistoryError(f"{root}: no night stored for profile {profile!r} (profiles: {known})")
    by_night = {r.night: r for r in runs}
    night = night or runs[-1].night
    if night not in by_night:
        raise HistoryError(f"{root}: no night {night} stored for profile {profile!r} (last: {runs[-1].night})")
    if from_night is not None:
        if from_night not in by_night:
            raise HistoryError(f"{root}: no night {from_night} stored for profile {profile!r}")
        if from_night >= night:
            raise HistoryError(f"--from {from_night} must come before the night compared ({night})")
        baseline = [from_night]
    else:
        baseline = [r.night for r in runs if r.night < night][-baseline_nights:]
    window = [*baseline, night]
    chosen = [by_night[n] for n in window]
    nights = drift_mod.by_night(query.egress_by_night(root, chosen))
    unused = query.unused_entries_by_night(root, chosen)
    return NightReport(
        history=str(root),
        profile=profile,
        night=night,
        run=by_night[night].run,
        baseline=tuple(baseline),
        baseline_nights=baseline_nights,
        baseline_state=drift_mod.baseline_state(baseline, baseline_nights, nights),
        captures=Table("history_captures", query.captures_of(root, by_night[night])),
        drift=drift_mod.compare(night, baseline, nights, unused, suppressions),
        timeline=drift_mod.timeline(window, nights),
    )


def drift_report(
    history: str | os.PathLike[str],
    *,
    profile: str | None,
    night: str | None,
    from_night: str | None,
    baseline_nights: int,
    suppressions: Sequence[Suppression],
) -> NightReport:
    root = Path(history)
    if not (root / manifest.MANIFEST).exists():
        manifest.read(root)  # a folder that is not a history says so
        raise HistoryError(f"{root}: no history here yet (no {manifest.MANIFEST}); run egress nightly first")
    with lock.reader(root):
        live = manifest.read(root)
        if profile is None:
            profiles = live.profiles()
            if len(profiles) != 1:
                raise HistoryError(f"{root}: holds profiles {', '.join(profiles) or '(none)'}; give --profile")
            profile = profiles[0]
        check_profile(profile)
        return night_report(
            root,
            live,
            profile,
            None if night is None else check_night(night),
            None if from_night is None else check_night(from_night),
            baseline_nights,
            suppressions,
        )


def report_drift(
    history: str | os.PathLike[str],
    report: Report,
    *,
    profile: str,
    label: str,
    baseline_nights: int,
    suppressions: Sequence[Suppression],
) -> NightReport:
    """One analysed capture, standing for a night called ``label``, against the profile's last
    ``baseline_nights`` stored nights; the history is only read."""
    root = Path(history)
    if not (root / manifest.MANIFEST).exists():
        manifest.read(root)
        raise HistoryError(f"{root}: no history here yet (no {manifest.MANIFEST}); run egress nightly first")
    check_profile(profile, "profile=")
    with lock.reader(root):
        live = manifest.read(root)
        runs = live.nights(profile)
        if not runs:
            known = ", ".join(live.profiles()) or "none yet"
            raise HistoryError(f"{root}: no night stored for profile {profile!r} (profiles: {known})")
        chosen = runs[-baseline_nights:]
        baseline = [r.night for r in chosen]
        tonight = drift_mod.report_rows(report, label, report.capture.path)
        nights = drift_mod.by_night([*query.egress_by_night(root, chosen), *tonight])
        unused = {**query.unused_entries_by_night(root, chosen), label: drift_mod.report_unused(report)}
    return NightReport(
        history=str(root),
        profile=profile,
        night=label,
        run=None,
        baseline=tuple(baseline),
        baseline_nights=baseline_nights,
        baseline_state=drift_mod.baseline_state(baseline, baseline_nights, nights),
        captures=Table("history_captures", []),
        drift=drift_mod.compare(label, baseline, nights, unused, suppressions),
        timeline=drift_mod.timeline([*baseline, label], nights),
    )
