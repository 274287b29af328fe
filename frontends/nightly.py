"""``egress nightly`` and ``egress drift``: the CI lab's night of captures into a history, and the morning report.

Thin like the rest of the CLI: options are parsed here, :func:`analyzer.api.nightly` and
:func:`analyzer.api.drift` do the work, a renderer of ``reports.night`` writes the report.  Exit
codes: 0 nothing gated, 1 a ``--fail-on`` class found, 2 bad input (a capture that cannot be read
among good ones is 2 too, after the others are stored and the report written).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from frontends.options import DEFAULT_DIALECT, AllowlistFormat, Allowlists, Dialect, Format, InternalDomains, Output

if TYPE_CHECKING:
    from analyzer.api import NightReport


class NightFormat(StrEnum):
    table = "table"
    md = "md"
    html = "html"
    json = "json"
    junit = "junit"


class DriftGate(StrEnum):
    new = "new"
    blocked = "blocked"
    regression = "regression"
    gone = "gone"
    missing = "missing"


class Executor(StrEnum):
    local = "local"
    dask = "dask"


_SUFFIXES = {".json": NightFormat.json, ".md": NightFormat.md, ".html": NightFormat.html, ".xml": NightFormat.junit}

History = Annotated[Path, typer.Option("--history", help="The history folder (made on the first night).")]
FormatOpt = Annotated[
    NightFormat | None,
    typer.Option("--format", "-f", help="table, md, html, json or junit (default: from the -o extension, else table)."),
]
FailOnOpt = Annotated[
    list[DriftGate] | None,
    typer.Option(
        "--fail-on",
        help="Exit 1 when the drift has new names, newly blocked names (regressions too), regressions (blocked "
        "although allowed), gone names, or names missing from the allowlist (repeatable).",
    ),
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="The install or variant the baseline belongs to.")]
WindowOpt = Annotated[
    int, typer.Option("--baseline-nights", min=1, help="Nights before the compared one that form the baseline.")
]
SuppressOpt = Annotated[
    Path | None,
    typer.Option("--suppressions", help="YAML file of accepted drift (name/pattern, class, reason, expires)."),
]


def nightly_command(
    captures: Annotated[
        list[str],
        typer.Argument(
            metavar="CAPTURES...",
            help="Capture files and/or folders (walked recursively for .pcap, .pcapng, .cap and .gz).",
        ),
    ],
    history: History,
    allowlist: Allowlists = None,
    allowlist_format: AllowlistFormat = None,
    dialect: Dialect = DEFAULT_DIALECT,
    internal_domain: InternalDomains = None,
    night: Annotated[str | None, typer.Option("--night", help="The night, YYYY-MM-DD (default: today).")] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="The install or variant the baseline belongs to (default: the folder name)."),
    ] = None,
    fmt: FormatOpt = None,
    output: Output = None,
    fail_on: FailOnOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")] = None,
    executor: Annotated[
        Executor, typer.Option("--executor", help="local (all cores) or dask (a distributed cluster).")
    ] = Executor.local,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, tcp://HOST:8786 (--executor dask).")
    ] = None,
    reanalyse: Annotated[
        bool, typer.Option("--reanalyse", help="Analyse captures again even when the history holds them.")
    ] = False,
    baseline_nights: WindowOpt = 7,
    suppressions: SuppressOpt = None,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", min=0, help="Seconds to wait for another run of this history.")
    ] = 600.0,
) -> None:
    """Analyse a night's captures into the history and report what drifted from the profile's baseline:
    new, gone, newly blocked, unblocked and flapping names, port changes, regressions, unused entries.

    Example: egress nightly lab/sunbeam/ --history /srv/egress-history -a request.md -o drift.xml --fail-on regression
    """
    from analyzer.api import nightly
    from frontends import cli

    fmt = _format(fmt, output)
    cli._check_output(Format.md, output, several=False)  # one file, checked before the analysis
    gates = tuple(g.value for g in fail_on or [])
    for gate in ("missing", "regression"):
        if gate in gates and not allowlist:
            raise cli._fail(f"--fail-on {gate} needs --allowlist")
    options = cli._options(dialect, internal_domain, None, jobs)
    rules = cli._read_allowlist(allowlist, allowlist_format)
    from analyzer.pipeline import tune_gc_for_batch_run

    tune_gc_for_batch_run()  # a batch process: it exits when the night is stored
    with cli._input_errors():
        report = nightly(
            captures,
            history=history,
            allowlist=rules,
            options=options,
            night=night,
            profile=profile,
            reanalyse=reanalyse,
            executor=executor.value,
            scheduler=scheduler,
            baseline_nights=baseline_nights,
            suppressions=suppressions,
            lock_timeout=lock_timeout,
        )
    _finish(report, fmt, output, gates)


def drift_command(
    history: History,
    from_night: Annotated[
        str | None, typer.Option("--from", help="Compare with this stored night alone (default: the baseline).")
    ] = None,
    to_night: Annotated[
        str | None, typer.Option("--to", help="The stored night to report on (default: the last).")
    ] = None,
    profile: ProfileOpt = None,
    fmt: FormatOpt = None,
    output: Output = None,
    fail_on: FailOnOpt = None,
    baseline_nights: WindowOpt = 7,
    suppressions: SuppressOpt = None,
) -> None:
    """Report the drift between stored nights of the history, without analysing anything again.

    Example: egress drift --history /srv/egress-history --profile sunbeam --from 2026-11-30 --to 2026-12-01 --format md
    """
    from analyzer.api import drift
    from frontends import cli

    fmt = _format(fmt, output)
    cli._check_output(Format.md, output, several=False)
    with cli._input_errors():
        report = drift(
            history,
            profile=profile,
            night=to_night,
            from_night=from_night,
            baseline_nights=baseline_nights,
            suppressions=suppressions,
        )
    _finish(report, fmt, output, tuple(g.value for g in fail_on or []))


def _format(fmt: NightFormat | None, output: Path | None) -> NightFormat:
    from frontends import cli

    implied = None if output is None else _SUFFIXES.get(output.suffix.lower())
    if fmt is None:
        return implied or NightFormat.table
    if implied is not None and implied != fmt:
        raise cli._fail(f"--format {fmt.value} but -o {output} looks like {implied.value}: give one or make them agree")
    return fmt


def _finish(report: NightReport, fmt: NightFormat, output: Path | None, gates: tuple[str, ...]) -> None:
    from frontends import cli
    from reports.safe import terminal

    _render(report, fmt, output, gates)
    for row in report.errors():
        typer.echo(f"egress: error: {terminal(row['error'])}", err=True)
    if report.errors():
        raise typer.Exit(cli.EXIT_BAD_INPUT)
    failing = report.gated(gates)
    if failing:
        typer.echo(f"egress: failing: {len(failing)} drift item(s) of --fail-on {'/'.join(gates)}", err=True)
        raise typer.Exit(cli.EXIT_FINDINGS)


def _render(report: NightReport, fmt: NightFormat, output: Path | None, gates: tuple[str, ...]) -> None:
    from frontends import cli

    if fmt == NightFormat.table:
        from reports.night import table

        with cli._writing(output):
            cli._console_table(lambda console: table.render(report, console, gates), output, width=200)
        return
    if fmt == NightFormat.json:
        from reports.night.jsondoc import render
    elif fmt == NightFormat.md:
        from reports.night.markdown import render
    elif fmt == NightFormat.html:
        from reports.night.html import render
    else:
        from reports.night.junit import render
    cli._write(render(report, gates), output)
    if output is not None and sys.stderr.isatty():
        typer.echo(f"wrote {output}", err=True)
