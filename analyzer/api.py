"""The library entry every front end calls (the CLI, the nightly job, the upload service, live capture).

    from analyzer.api import analyze, read_allowlist, Options
    report = analyze("out.pcap", allowlist=read_allowlist("request.md"), options=Options(dialect="azure"))
    report.summary.to_pandas(); report.missing(); report.excess

``analyze`` takes a path, ``-`` (stdin) or an open binary stream (an upload) and returns a frozen,
typed :class:`Report` whose review (noise, allowlist status, lint, excess) is already in its
columns.  Bad input of any kind raises :class:`InputError` with one line naming the file and the
reason; a front end turns that into its own answer (exit 2, HTTP 400) and never needs to know
which layer found the problem.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, BinaryIO

from analyzer.allowlist.model import Allowlist, AllowlistError
from analyzer.diagnosis import diagnose
from analyzer.errors import CaptureError, InputError, OptionsError
from analyzer.frames import Table
from analyzer.history.model import NightReport
from analyzer.history.suppressions import Suppression
from analyzer.options import Options
from analyzer.progress import ProgressFn
from analyzer.report import AllowlistInfo, CaptureInfo, LintReport, NoiseItem, Report, Suggestion
from parsers.errors import ParseError

if TYPE_CHECKING:
    from analyzer.portpolicy.model import PortPolicy
    from analyzer.portpolicy.report import PortPolicyReport
    from analyzer.portpolicy.roles import Roles
    from analyzer.sources.live import LiveCapture

__all__ = [
    "Allowlist",
    "AllowlistError",
    "AllowlistInfo",
    "AllowlistText",
    "BatchItem",
    "CaptureError",
    "CaptureInfo",
    "InputError",
    "LintReport",
    "NightReport",
    "NoiseItem",
    "Options",
    "OptionsError",
    "ProgressFn",
    "Report",
    "Suggestion",
    "analyze",
    "analyze_many",
    "analyze_together",
    "capture",
    "check_ports",
    "detect_source",
    "diagnose",
    "drift",
    "finish_capture",
    "lint",
    "nightly",
    "read_allowlist",
    "read_port_policy",
    "read_roles",
    "report_drift",
    "reviewed",
    "source_kind",
]

Source = str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True, slots=True)
class AllowlistText:
    """An allowlist given as text (an upload, a form field) rather than a file; ``name`` labels its messages."""

    name: str
    text: str


AllowlistSource = str | os.PathLike[str] | AllowlistText


def read_allowlist(sources: AllowlistSource | Sequence[AllowlistSource], format: str | None = None) -> Allowlist:
    """Read one allowlist (a path, or :class:`AllowlistText`), or several merged in order.

    ``format`` forces the format, else each is detected.  A file that cannot be read, or holds no
    valid entry, raises :class:`InputError` naming it (and the line); invalid lines of an otherwise
    readable list are kept in ``Allowlist.invalid`` and reported by the lint.
    """
    from analyzer.allowlist.readers import FORMATS, parse_allowlist
    from analyzer.allowlist.readers import read_allowlist as read_file

    if format is not None and format not in FORMATS:
        raise OptionsError(f"unknown allowlist format {format!r}: choose one of {', '.join(FORMATS)}")
    items = [sources] if isinstance(sources, str | os.PathLike | AllowlistText) else list(sources)
    if not items:
        raise OptionsError("no allowlist given")
    merged = Allowlist()
    for item in items:
        if isinstance(item, AllowlistText):
            merged.extend(parse_allowlist(item.text, item.name, format))
        else:
            merged.extend(read_file(str(item), format))  # AllowlistError is an InputError: one line
    return merged


def analyze(
    source: Source,
    *,
    allowlist: Allowlist | None = None,
    options: Options | None = None,
    progress: ProgressFn | None = None,
    name: str | None = None,
    source_format: str | None = None,
) -> Report:
    """Read a capture or a firewall/proxy log and review it.  ``name`` labels a stream (defaults to its
    ``name`` attribute); ``source_format`` forces the format (``capture`` or one of
    ``analyzer.sources.FORMATS``) instead of detecting it from the content."""
    options = options or Options()
    label = name or _label(source)
    _check_source_format(source_format)
    return reviewed(_read_one(source, label, progress, options, source_format), allowlist, options)


def analyze_together(
    sources: Sequence[str | os.PathLike[str]],
    *,
    allowlist: Allowlist | None = None,
    options: Options | None = None,
    source_format: str | None = None,
) -> Report:
    """A capture and the logs of the same install (or several logs) as one report: each captured
    connection is confirmed or contradicted by the log's record of it (``observations.confirmed``,
    ``log_verdicts``); log records no captured connection matched are rows of their own.
    ``source_format`` forces the format of the logs (captures are always detected)."""
    from analyzer.sources import build, reconcile

    options = options or Options()
    _check_source_format(source_format)
    if not sources:
        raise OptionsError("no captures or logs given")
    captures: list[Report] = []
    fold = build.Fold()
    tallies = []
    for path in sources:
        label = str(path)
        kind = _kind_of(path, label, None if source_format == "capture" else source_format)
        if kind == "capture":
            captures.append(_read_one(path, label, None, options, "capture"))
            continue
        stream = _open(path, label)
        try:
            rows, tally, text = build.read_rows(stream, label, kind)
            for row in rows:
                fold.add(row)
            tallies.append(build._finish(tally, text, others=len(sources) > 1))
        except OSError as exc:
            raise _capture_error(label, exc) from None
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    if len(captures) > 1:
        raise OptionsError("several captures with logs: give one capture and the logs of the same install")
    if not captures and not any(t.records for t in tallies):  # every log held only records without a verdict
        raise CaptureError(build.no_verdict(tallies[0]))
    label = " + ".join(str(p) for p in sources)
    logs = [build.log_report(fold, tallies, label, None)] if tallies else []
    if not captures:
        return reviewed(logs[0], allowlist, options)
    report = reconcile.combine(captures[0], logs) if logs else captures[0]
    return reviewed(report, allowlist, options)


def source_kind(path: str | os.PathLike[str]) -> str | None:
    """``capture``, a log format's name, or None: what the file's content is (for front ends that
    route files: several captures are separate reports, a capture with its logs one)."""
    from analyzer.sources import detect
    from analyzer.sources.text import HEAD_BYTES

    try:
        with open(path, "rb") as fh:
            return detect(fh.read(HEAD_BYTES))
    except OSError as exc:
        raise _capture_error(str(path), exc) from None


def detect_source(head: bytes) -> str | None:
    """What the first bytes of a file are: ``capture``, a log format's name, or None (the upload
    service's sniffing asks this of a body's first bytes)."""
    from analyzer.sources import detect

    return detect(head)


def _check_source_format(source_format: str | None) -> None:
    if source_format is None:
        return
    from analyzer.sources import SOURCE_FORMATS

    if source_format not in SOURCE_FORMATS:
        raise OptionsError(f"unknown source format {source_format!r}: choose one of {', '.join(SOURCE_FORMATS)}")


def _open(source: str | os.PathLike[str], label: str) -> BinaryIO:
    from analyzer import pipeline

    try:
        return pipeline.open_capture(source)[0]
    except OSError as exc:
        raise _capture_error(label, exc) from None


def _kind_of(source: str | os.PathLike[str], label: str, forced: str | None) -> str | None:
    if forced is not None:
        return forced
    from analyzer.sources import detect
    from analyzer.sources.text import HEAD_BYTES

    if str(source) == "-":
        raise OptionsError("'-' (stdin) can only be the only capture or log")
    try:
        with open(source, "rb") as fh:
            return detect(fh.read(HEAD_BYTES))
    except OSError as exc:
        raise _capture_error(label, exc) from None


def _read_one(
    source: Source, label: str, progress: ProgressFn | None, options: Options, source_format: str | None
) -> Report:
    """A capture, or a log (detected from its first bytes unless ``source_format`` says), before review."""
    from analyzer import pipeline
    from analyzer.sources import describe, detect
    from analyzer.sources.text import peek

    stream: BinaryIO | None = None
    try:
        if isinstance(source, str | os.PathLike):
            stream, size = pipeline.open_capture(source)
        else:
            stream, size = source, _size(source)
        head, stream = peek(stream)
        kind = source_format or detect(head)
        if kind is not None and kind != "capture":
            from analyzer.sources.build import read_log

            return read_log(stream, label, kind, size)
        try:
            return pipeline.analyze_stream(stream, label, size, progress, options.fast)
        except ParseError as exc:
            if kind is None and head:
                # Neither: one line that names what it is not, the capture reader's reason first.
                raise CaptureError(f"{_capture_error(label, exc)}; nor a log egress reads ({describe()})") from None
            raise
    except (ParseError, OSError) as exc:
        raise _capture_error(label, exc) from None
    finally:
        if stream is not None and stream is not sys.stdin.buffer and isinstance(source, str | os.PathLike):
            stream.close()


def capture(
    interface: str = "any",
    *,
    bpf: str | None = None,
    write: str | os.PathLike[str] | None = None,
    rotate: int | None = None,
) -> LiveCapture:
    """Start capturing on ``interface`` (Linux, root or CAP_NET_RAW; ``any`` is every interface, SLL2).

    ``bpf`` is a capture filter run in the kernel, ``write`` a pcap written as packets arrive
    (``rotate``: segments of at most that many bytes).  Run it with ``live.run(stop, tick)``, then
    :func:`finish_capture`.  No permission, an unknown interface or a bad filter raise :class:`InputError`.
    """
    from analyzer.sources.live import LiveCapture

    return LiveCapture(interface, bpf=bpf, write=write, rotate=rotate)


def finish_capture(live: LiveCapture, *, allowlist: Allowlist | None = None, options: Options | None = None) -> Report:
    """Stop a live capture (its last pcap segment closed) and return its reviewed report."""
    return reviewed(live.report(), allowlist, options or Options())


def reviewed(report: Report, allowlist: Allowlist | None, options: Options) -> Report:
    """The report with its review: noise, and with an allowlist status, entry, excess and lint."""
    from analyzer.review import review

    link_broadcast = {o["address"] for o in report.observations if o.get("link_broadcast") and o["address"]}
    result = review(report.summary, report.dns, allowlist, options, link_broadcast)
    info = None if allowlist is None else _allowlist_info(allowlist, options.dialect)
    return dataclasses.replace(
        report, excess=result.excess, lint=result.lint, suggested=result.suggested, allowlist=info
    )


def lint(allowlist: Allowlist, options: Options | None = None) -> LintReport:
    """The allowlist on its own: over-broad, multi-tenant, public-suffix, redundant, duplicate, invalid entries."""
    from analyzer.allowlist.lint import lint as lint_rows

    dialect = (options or Options()).dialect
    return LintReport(_allowlist_info(allowlist, dialect), Table("lint", lint_rows(allowlist, dialect)))


def _allowlist_info(allowlist: Allowlist, dialect: str) -> AllowlistInfo:
    return AllowlistInfo(
        files=tuple(allowlist.files),
        formats=tuple(allowlist.formats),
        entries=len(allowlist.entries),
        notes=tuple(allowlist.notes),
        dialect=dialect,
    )


@dataclass(frozen=True, slots=True)
class BatchItem:
    path: str
    report: Report | None
    error: str | None  # one line naming the file and the reason, when the capture could not be read


def analyze_many(
    paths: Sequence[str], *, allowlist: Allowlist | None = None, options: Options | None = None
) -> list[BatchItem]:
    """Several captures, one worker process per core (``options.jobs``); results in the order of ``paths``.

    A capture that cannot be read gives an item with its one-line error; the others still run.
    """
    options = options or Options()
    workers = min(options.jobs or os.cpu_count() or 1, len(paths))
    if workers <= 1:
        return [_one(p, allowlist, options) for p in paths]
    from concurrent.futures import ProcessPoolExecutor  # here: multiprocessing is start-up cost for one capture

    from analyzer.pipeline import tune_gc_for_batch_run

    # The workers are batch processes of their own; the caller's process is left as it is (a
    # library caller may be a server: tune_gc_for_batch_run is for processes that exit after it).
    with ProcessPoolExecutor(max_workers=workers, initializer=tune_gc_for_batch_run) as pool:
        return list(pool.map(_one, paths, repeat(allowlist), repeat(options)))


def _one(path: str, allowlist: Allowlist | None, options: Options) -> BatchItem:
    try:
        return BatchItem(path, analyze(path, allowlist=allowlist, options=options), None)
    except InputError as exc:
        return BatchItem(path, None, str(exc))


EXECUTORS = ("local", "dask")


def nightly(
    captures: Sequence[str | os.PathLike[str]],
    *,
    history: str | os.PathLike[str],
    allowlist: Allowlist | None = None,
    options: Options | None = None,
    night: str | None = None,
    profile: str | None = None,
    reanalyse: bool = False,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    baseline_nights: int = 7,
    suppressions: str | os.PathLike[str] | None = None,
    lock_timeout: float = 600.0,
) -> NightReport:
    """Analyse a night's captures (files, or folders walked for captures) into the ``history`` folder
    and compare the night with its profile's baseline.

    ``night`` defaults to today (YYYY-MM-DD), ``profile`` to the captures' folder name.  The night's
    run replaces an earlier run of the same night; a capture stored before with the same SHA-256,
    allowlist and options is not analysed again unless ``reanalyse``.  ``executor="local"`` uses
    :func:`analyze_many` (``jobs`` processes, else ``options.jobs``, else every core); ``"dask"``
    maps the analysis over the ``distributed`` cluster at ``scheduler``.  A capture that cannot be
    read is a row with its one-line error (``NightReport.errors()``); the others still land.  Two
    runs of one history never mix: the second waits up to ``lock_timeout`` seconds, then raises
    :class:`InputError`.
    """
    from analyzer.history import runner
    from analyzer.history.collect import CaptureResult, from_item

    options = options or Options()
    if jobs is not None:
        options = dataclasses.replace(options, jobs=jobs)  # validated again by Options
    sup = _suppressions(suppressions)
    _check_window(baseline_nights)
    if executor not in EXECUTORS:
        raise OptionsError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if not captures:
        raise OptionsError("no captures given")
    common = {
        "allowlist": allowlist,
        "options": options,
        "night": night,
        "profile": profile,
        "reanalyse": reanalyse,
        "lock_timeout": lock_timeout,
        "baseline_nights": baseline_nights,
        "suppressions": sup,
    }
    if executor == "local":

        def local(paths: list[str]) -> list[CaptureResult]:

            return [from_item(item) for item in analyze_many(paths, allowlist=allowlist, options=options)]

        return runner.run_night(captures, history, analyse=local, hashes=runner.local_hashes, **common)  # type: ignore[arg-type]
    if not scheduler:
        raise OptionsError("--executor dask needs --scheduler (tcp://HOST:8786)")
    from analyzer.history.cluster import connect

    with connect(scheduler, allowlist, options) as cluster:
        return runner.run_night(captures, history, analyse=cluster.analyse, hashes=cluster.hashes, **common)  # type: ignore[arg-type]


def drift(
    history: str | os.PathLike[str],
    *,
    profile: str | None = None,
    night: str | None = None,
    from_night: str | None = None,
    baseline_nights: int = 7,
    suppressions: str | os.PathLike[str] | None = None,
) -> NightReport:
    """Compare a stored night (default: the profile's last) with the ``baseline_nights`` before it, or
    with ``from_night`` alone, without analysing anything.  ``profile`` may be left out when the
    history holds one."""
    from analyzer.history import runner

    sup = _suppressions(suppressions)
    _check_window(baseline_nights)
    return runner.drift_report(
        history, profile=profile, night=night, from_night=from_night, baseline_nights=baseline_nights,
        suppressions=sup,
    )  # fmt: skip


def report_drift(
    report: Report,
    *,
    history: str | os.PathLike[str],
    profile: str,
    label: str = "upload",
    baseline_nights: int = 7,
    suppressions: str | os.PathLike[str] | None = None,
) -> NightReport:
    """Compare one analysed capture with ``profile``'s baseline in ``history`` (its last ``baseline_nights``
    stored nights) as if it were a night called ``label``, without writing the history: what an upload
    changed against the lab's nights.  The items are :func:`drift`'s, by the same code."""
    from analyzer.history import runner

    sup = _suppressions(suppressions)
    _check_window(baseline_nights)
    return runner.report_drift(
        history, report, profile=profile, label=label, baseline_nights=baseline_nights, suppressions=sup
    )


def _check_window(baseline_nights: int) -> None:
    if isinstance(baseline_nights, bool) or not isinstance(baseline_nights, int) or baseline_nights < 1:
        raise OptionsError(f"baseline nights must be a whole number of at least 1, not {baseline_nights!r}")


def _suppressions(path: str | os.PathLike[str] | None) -> tuple[Suppression, ...]:
    if path is None:
        return ()
    from analyzer.history.suppressions import read

    return read(path)


def _label(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return str(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


def _size(stream: BinaryIO) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        return None


def _capture_error(label: str, exc: ParseError | OSError) -> CaptureError:
    """One line naming the file and the reason."""
    if isinstance(exc, ParseError):
        reason = exc.reason
        return CaptureError(reason if reason.startswith(label) else f"{label}: {reason}")
    reasons: dict[type[OSError], str] = {
        FileNotFoundError: "no such file",
        IsADirectoryError: "is a directory, not a capture",
        PermissionError: "permission denied",
    }
    for kind, text in reasons.items():
        if isinstance(exc, kind):
            return CaptureError(f"{label}: {text}")
    return CaptureError(f"{label}: {exc.strerror or exc}")


# ---------------------------------------------------------------------------------------------
# In-cluster port policy (issue 16)

FAILSAFE = ("auto", "calico", "none")


def read_port_policy(sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> PortPolicy:
    """Read one port-policy document (ARTESCA page, Stackato table, Calico or Kubernetes YAML, CSV), or
    several merged in order; the kind is detected from the content.  Bad input raises InputError."""
    from analyzer.portpolicy.model import PortPolicy
    from analyzer.portpolicy.readers import read

    items = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    if not items:
        raise OptionsError("no port policy given")
    merged = PortPolicy()
    for item in items:
        merged.extend(read(item))
    if not merged.rules:
        raise InputError(f"{items[0]}: no port rules found (a FelixConfiguration alone gives failsafe ports only)")
    return merged


def read_roles(path: str | os.PathLike[str]) -> Roles:
    """The roles file (YAML): address or network -> roles."""
    from analyzer.portpolicy.roles import read_roles as read

    return read(path)


def check_ports(
    reports: Sequence[Report], policy: PortPolicy, roles: Roles, *, failsafe: str = "auto"
) -> PortPolicyReport:
    """Every flow into a node with a role (several captures merged by time) against the port policy.

    ``failsafe``: ``auto`` uses a FelixConfiguration's failsafe ports when the policy files hold one,
    else Calico's defaults; ``calico`` the defaults; ``none`` no failsafe port at all.
    """
    from analyzer.portpolicy.check import check
    from analyzer.portpolicy.model import CALICO_FAILSAFE, NO_FAILSAFE
    from analyzer.portpolicy.report import PortPolicyReport

    if failsafe not in FAILSAFE:
        raise OptionsError(f"unknown failsafe {failsafe!r}: choose one of {', '.join(FAILSAFE)}")
    if failsafe == "none":
        ports, said = NO_FAILSAFE, "none"
    elif failsafe == "auto" and policy.failsafe is not None:
        ports, said = policy.failsafe, "from-policy"
    else:
        ports, said = CALICO_FAILSAFE, "calico-defaults"
    flows, rules = check(reports, policy, roles, ports)
    return PortPolicyReport(
        policy_files=tuple(policy.files), kinds=tuple(dict.fromkeys(policy.kinds)), roles_file=roles.file,
        captures=tuple(r.capture.path for r in reports), failsafe=said, flows=flows, rules=rules,
    )  # fmt: skip
