"""The ``egress`` command line: thin, with errors turned into one line and an exit code here."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from analyzer.pipeline import Analysis
from analyzer.progress import ProgressFn
from analyzer.review import ReviewOptions
from parsers.errors import CaptureFormatError, ParseError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="egress",
    help="Which external names and ports a software install needed, and whether the firewall let them through.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    table = "table"
    json = "json"
    md = "md"
    html = "html"
    csv = "csv"
    parquet = "parquet"


class FailOn(StrEnum):
    missing = "missing"
    blocked = "blocked"
    excess = "excess"


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
) -> None:
    """egress-analyzer: read a tcpdump capture taken during an install and report its egress."""
    _state["debug"] = debug


_state = {"debug": False}


def _fail(message: str) -> typer.Exit:
    typer.echo(f"egress: error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@app.command()
def analyze(
    captures: Annotated[
        list[str],
        typer.Argument(
            metavar="CAPTURE...",
            help="pcap or pcapng file(s) (gzip'd is fine); '-' reads stdin. Several files are analysed in "
            "parallel and need -o DIR for file formats.",
        ),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")] = None,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr (default: when stderr is a terminal).")] = (
        False
    ),
    allowlist: Annotated[
        list[Path] | None,
        typer.Option(
            "--allowlist",
            "-a",
            help="Requested allowlist (Markdown request, text, Bicep, ARM, Cilium, "
            "squid, CSV); repeat to merge several.",
        ),
    ] = None,
    allowlist_format: Annotated[
        str | None, typer.Option(help="Force the allowlist format instead of detecting it.")
    ] = None,
    dialect: Annotated[
        str, typer.Option(help="Wildcard rules of the firewall: azure, squid, aws, cilium, calico or exact.")
    ] = "azure",
    internal_domain: Annotated[
        list[str] | None, typer.Option("--internal-domain", help="Site suffix to treat as internal (repeatable).")
    ] = None,
    include_noise: Annotated[
        list[str] | None,
        typer.Option(
            "--include-noise",
            help="Keep a kind of noise: search-list, cluster, mdns, reverse, private, resolver, internal, platform "
            "(repeatable).",
        ),
    ] = None,
    fail_on: Annotated[
        list[FailOn] | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when the capture shows missing entries, blocked connections or excess entries "
            "(repeatable); for CI gates.",
        ),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Worker processes for several captures (default: all cores).")
    ] = None,
) -> None:
    """Report every name, protocol and port contacted in CAPTURE, whether it got through, and how it
    compares with the allowlist you requested.

    Example: egress analyze out.pcap --allowlist microstack-acl-request.md --format json -o out.json
    """
    from analyzer.pipeline import tune_gc_for_batch_run
    from analyzer.review import review

    tune_gc_for_batch_run()
    options = _review_options(allowlist, allowlist_format, dialect, internal_domain, include_noise)
    if len(captures) > 1:
        _analyze_many(captures, options, fmt, output, fail_on or [], allowlist is not None, jobs)
        return
    capture = captures[0]
    if fmt == Format.parquet and output is None:
        raise _fail("--format parquet writes one file per table: give a directory with -o")
    result = _load(capture, progress)
    review(result, options)
    _render(result, fmt, output)
    findings = _gate(result, fail_on or [], allowlist is not None)
    if findings:
        typer.echo(f"egress: failing: {findings}", err=True)
        raise typer.Exit(EXIT_FINDINGS)


_EXTENSIONS = {Format.json: "json", Format.md: "md", Format.html: "html", Format.csv: "csv", Format.table: "txt"}


def _analyze_many(
    captures: list[str],
    options: ReviewOptions,
    fmt: Format,
    output: Path | None,
    fail_on: list[FailOn],
    have_allowlist: bool,
    jobs: int | None,
) -> None:
    """Several captures in parallel: one report per capture in -o DIR (or the terminal for tables)."""
    from analyzer.batch import analyze_many
    from reports.safe import terminal

    if "-" in captures:
        raise _fail("'-' (stdin) can only be the only capture")
    if output is None and fmt != Format.table:
        raise _fail(f"several captures with --format {fmt.value}: give a directory with -o")
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
    bad = failing = 0
    for item in analyze_many(captures, options, jobs):
        if item.analysis is None:
            bad += 1
            typer.echo(f"egress: error: {terminal(item.error)}", err=True)
            continue
        for w in item.analysis.warnings:
            typer.echo(f"egress: warning: {terminal(w)}", err=True)
        stem = Path(item.path).name
        target = None
        if output is not None:
            target = output / stem if fmt == Format.parquet else output / f"{stem}.{_EXTENSIONS[fmt]}"
        _render(item.analysis, fmt, target)
        findings = _gate(item.analysis, fail_on, have_allowlist)
        if findings:
            failing += 1
            typer.echo(f"egress: failing: {terminal(item.path)}: {findings}", err=True)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)
    if failing:
        raise typer.Exit(EXIT_FINDINGS)


def _load(capture: str, progress: bool) -> Analysis:
    """Run the pipeline; bad input becomes one line and exit code 2 here, at the boundary."""
    from analyzer.pipeline import analyze as run

    try:
        result = run(capture, progress=_progress_fn() if progress or sys.stderr.isatty() else None)
    except FileNotFoundError:
        raise _fail(f"{capture}: no such file") from None
    except IsADirectoryError:
        raise _fail(f"{capture}: is a directory, not a capture") from None
    except PermissionError:
        raise _fail(f"{capture}: permission denied") from None
    except (CaptureFormatError, ParseError) as exc:
        if _state["debug"]:
            raise
        raise _fail(exc.reason if exc.reason.startswith(capture) else f"{capture}: {exc.reason}") from None
    from reports.safe import terminal

    for w in result.warnings:
        typer.echo(f"egress: warning: {terminal(w)}", err=True)
    return result


def _render(result: Analysis, fmt: Format, output: Path | None) -> None:
    if fmt == Format.json:
        from reports import jsondoc

        if output is None:
            jsondoc.write(result, sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as fh:
                jsondoc.write(result, fh)
    elif fmt == Format.md:
        from reports import markdown

        _write(markdown.render(result), output)
    elif fmt == Format.html:
        from reports import html

        _write(html.render(result), output)
    elif fmt == Format.csv:
        from reports import csvout

        _write(csvout.render(result), output)
    elif fmt == Format.parquet:
        from reports import parquet

        assert output is not None
        for path in parquet.write(result, output):
            typer.echo(f"wrote {path}", err=True)
    else:
        from rich.console import Console

        from reports import table

        if output is not None:
            with output.open("w", encoding="utf-8") as fh:
                table.render(result, Console(file=fh, width=200, force_terminal=False))
        else:
            console = Console()
            if not console.is_terminal and "COLUMNS" not in os.environ:
                console = Console(width=200)  # a pipe or a CI log: no terminal to fit, keep every column
            table.render(result, console)


def _gate(result: Analysis, fail_on: list[FailOn], have_allowlist: bool) -> str:
    """What --fail-on found, as one line; empty when the gate passes."""
    found = []
    if FailOn.blocked in fail_on:
        blocked = sum(
            1 for i, a in enumerate(result.summary.column("action")) if a == "Deny" and i not in result.noise_rows
        )
        if blocked:
            found.append(f"{blocked} blocked destination(s)")
    for kind in (FailOn.missing, FailOn.excess):
        if kind in fail_on:
            if not have_allowlist:
                raise _fail(f"--fail-on {kind.value} needs --allowlist")
            assert result.diff is not None
            n = len(result.diff[kind.value])
            if n:
                found.append(f"{n} {kind.value} entr{'y' if n == 1 else 'ies'}")
    return ", ".join(found)


def _review_options(
    allowlist: list[Path] | None,
    allowlist_format: str | None,
    dialect: str,
    internal_domain: list[str] | None,
    include_noise: list[str] | None,
) -> ReviewOptions:
    from analyzer.allowlist.dialects import DIALECTS
    from analyzer.allowlist.model import AllowlistError
    from analyzer.noise import NOISE_KINDS
    from analyzer.review import ReviewOptions

    if dialect not in DIALECTS:
        raise _fail(f"unknown dialect {dialect!r}: choose one of {', '.join(DIALECTS)}")
    for kind in include_noise or []:
        if kind not in NOISE_KINDS:
            raise _fail(f"unknown noise kind {kind!r}: choose from {', '.join(NOISE_KINDS)}")
    options = ReviewOptions(
        dialect=dialect,
        include_noise=frozenset(include_noise or []),
        internal_domains=tuple(d.lower().strip(".") for d in internal_domain or []),
    )
    if allowlist:
        from analyzer.allowlist.readers import read_allowlists

        try:
            options.allowlist = read_allowlists([str(p) for p in allowlist], allowlist_format)
        except AllowlistError as exc:
            raise _fail(str(exc)) from None
        except FileNotFoundError as exc:
            raise _fail(f"{exc.filename}: no such file") from None
        options.allowlist_files = [str(p) for p in allowlist]
    return options


@app.command("export")
def export_command(
    capture: Annotated[str, typer.Argument(help="pcap or pcapng file (gzip'd is fine); '-' reads stdin.")],
    to: Annotated[
        str,
        typer.Option("--to", help="request-md, azure-bicep, azure-arm, cilium, squid, aws-domain-list or text."),
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")] = None,
    internal_domain: Annotated[
        list[str] | None, typer.Option("--internal-domain", help="Site suffix to treat as internal (repeatable).")
    ] = None,
) -> None:
    """Write the allowlist CAPTURE justifies (noise excluded) in a firewall's own syntax, ports included.

    Example: egress export out.pcap --to azure-bicep -o egress-rules.bicep
    """
    from analyzer.review import review
    from reports import exports

    if to not in exports.TARGETS:
        raise _fail(f"unknown export target {to!r}: choose one of {', '.join(exports.TARGETS)}")
    options = _review_options(None, None, "azure", internal_domain, None)
    result = _load(capture, False)
    review(result, options)
    _write(exports.render(result, to), output)


@app.command("lint")
def lint_command(
    allowlist: Annotated[list[Path], typer.Argument(help="Allowlist file(s) to check.")],
    dialect: Annotated[
        str, typer.Option(help="Wildcard rules of the firewall: azure, squid, aws, cilium, calico or exact.")
    ] = "azure",
    allowlist_format: Annotated[str | None, typer.Option(help="Force the format instead of detecting it.")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Check an allowlist on its own: over-broad, multi-tenant, public-suffix, redundant, duplicate and
    invalid entries, under the firewall's real wildcard rules.

    Example: egress lint microstack-acl-request.md --dialect azure
    """
    import json

    from analyzer.review import lint_document

    options = _review_options(allowlist, allowlist_format, dialect, None, None)
    assert options.allowlist is not None
    doc = lint_document(options.allowlist, dialect)
    doc["notes"] = options.allowlist.notes
    if fmt == Format.json:
        _write(json.dumps(doc, indent=2) + "\n", None)
        return
    from rich.console import Console

    from reports import table

    table.render_lint(doc, Console())


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def _progress_fn() -> ProgressFn:
    from analyzer.progress import StderrProgress

    return StderrProgress()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
