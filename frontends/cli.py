"""The ``egress`` command line: thin, with errors turned into one line and an exit code here."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # `python -m frontends.cli` (where the `egress` script is not on PATH): run this module under its
    # own name.  Run as __main__ it would be a second copy, and the subcommand modules that import
    # frontends.cli would meet a half-initialised module.
    import importlib

    sys.exit(importlib.import_module("frontends.cli").main())
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from analyzer.api import Allowlist, InputError, Options, ProgressFn, Report

if TYPE_CHECKING:
    from rich.console import Console
from frontends.options import (
    DEFAULT_DIALECT,
    AllowlistFormat,
    Dialect,
    FailOn,
    Format,
    FormatOpt,
    InternalDomains,
    Output,
)

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


class PortExport(StrEnum):
    calico = "calico"
    md = "md"


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
) -> None:
    """egress-analyzer: read a tcpdump capture taken during an install and report its egress."""
    _state["debug"] = debug


_state = {"debug": False}


def _fail(message: str) -> typer.Exit:
    from reports.safe import terminal

    # Messages name the user's files and quote what they hold: no control character reaches the terminal.
    typer.echo(f"egress: error: {terminal(message)}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def _input_errors() -> Iterator[None]:
    """Bad input becomes one line and exit 2 here, at the boundary (with --debug, its traceback)."""
    try:
        yield
    except InputError as exc:
        if _state["debug"]:
            raise
        raise _fail(str(exc)) from None


@app.command()
def analyze(
    captures: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="pcap or pcapng capture(s), or firewall/proxy logs (Azure Firewall, squid, AWS Network "
            "Firewall, Route 53 Resolver), gzip'd is fine; '-' reads stdin. Several captures are analysed in "
            "parallel and need -o DIR for file formats; a capture with the logs of the same install (or "
            "several logs) make one report, each connection confirmed or contradicted by the log.",
        ),
    ],
    fmt: FormatOpt = None,
    output: Output = None,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress on stderr (default: shown when stderr is a terminal)."),
    ] = None,
    allowlist: Annotated[
        list[Path] | None,
        typer.Option(
            "--allowlist",
            "-a",
            help="Requested allowlist (Markdown request, text, Bicep, ARM, Cilium, "
            "squid, CSV); repeat to merge several.",
        ),
    ] = None,
    allowlist_format: AllowlistFormat = None,
    dialect: Dialect = DEFAULT_DIALECT,
    internal_domain: InternalDomains = None,
    include_noise: Annotated[
        list[str] | None,
        typer.Option(
            "--include-noise",
            help="Keep a kind of noise: search-list, cluster, mdns, reverse, broadcast, private, resolver, internal, "
            "platform (repeatable).",
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
    lint_rows: Annotated[
        bool,
        typer.Option("--lint", "--verbose", "-v", help="Terminal table: every lint finding, not a count per kind."),
    ] = False,
    port_policy: Annotated[
        list[Path] | None,
        typer.Option(
            "--port-policy",
            help="In-cluster port policy (ARTESCA page, Stackato port table, Calico or Kubernetes NetworkPolicy "
            "YAML, CSV): check node-to-node flows of the captures against it instead (needs --roles).",
        ),
    ] = None,
    roles: Annotated[
        Path | None, typer.Option("--roles", help="YAML: address or network -> roles (with --port-policy).")
    ] = None,
    failsafe: Annotated[
        str,
        typer.Option(help="Failsafe ports: auto (a FelixConfiguration in the policy, else Calico's), calico or none."),
    ] = "auto",
    port_export: Annotated[
        PortExport | None,
        typer.Option("--port-export", help="With --port-policy: write the policy the observed flows justify instead."),
    ] = None,
    source_format: Annotated[
        str | None,
        typer.Option(
            "--source-format",
            help="Force the format of the logs instead of detecting it: azure-firewall-json, azure-firewall-csv, "
            "azure-firewall-msg, squid, aws-network-firewall, route53-resolver (or capture).",
        ),
    ] = None,
) -> None:
    """Report every name, protocol and port contacted in CAPTURE, whether it got through, and how it
    compares with the allowlist you requested.

    Example: egress analyze out.pcap --allowlist microstack-acl-request.md --format json -o out.json
    """
    from analyzer.pipeline import tune_gc_for_batch_run

    tune_gc_for_batch_run()
    if port_policy or roles is not None or port_export is not None:
        _port_check(captures, port_policy, roles, failsafe, port_export, fmt, output, options=_options(
            dialect, internal_domain, include_noise, jobs))  # fmt: skip
        return
    fmt = _output_format(fmt, output, several=len(captures) > 1)
    _check_output(fmt, output, several=len(captures) > 1)
    options = _options(dialect, internal_domain, include_noise, jobs)
    rules = _read_allowlist(allowlist, allowlist_format)
    together = len(captures) > 1 and _with_logs(captures, source_format)
    if len(captures) > 1 and not together:
        _analyze_many(captures, rules, options, fmt, output, fail_on or [], lint_rows)
        return
    _gate_needs(fail_on or [], rules)
    capture = captures[0]
    if fmt == Format.parquet and output is None:
        raise _fail("--format parquet writes one file per table: give a directory with -o")
    # The terminal table on stdout shows the warnings itself: say them once.
    warn = not (fmt == Format.table and output is None)
    if together:
        report = _analyze_together(captures, rules, options, source_format, warn)
    else:
        report = _analyze(capture, rules, options, progress, warn, source_format)
    _render(report, fmt, output, lint_rows)
    findings = _gate(report, fail_on or [])
    if findings:
        typer.echo(f"egress: failing: {findings}", err=True)
        raise typer.Exit(EXIT_FINDINGS)


def _port_check(
    captures: list[str],
    policy_files: list[Path] | None,
    roles_file: Path | None,
    failsafe: str,
    export: PortExport | None,
    fmt: Format | None,
    output: Path | None,
    options: Options,
) -> None:
    """--port-policy: every capture read (merged by time), node-to-node flows checked against the policy."""
    from analyzer.api import analyze_many, check_ports, read_port_policy, read_roles

    if not policy_files or roles_file is None:
        raise _fail("the port check needs both --port-policy and --roles")
    if "-" in captures and len(captures) > 1:
        raise _fail("'-' (stdin) can only be the only capture")
    fmt = _output_format(fmt, output, several=False)
    if fmt == Format.parquet:
        raise _fail("the port check writes table, json, md, html or csv")
    with _input_errors():
        policy = read_port_policy(policy_files)
        roles = read_roles(roles_file)
        reports = []
        for item in analyze_many(captures, options=options):
            if item.report is None:
                raise InputError(item.error or item.path)
            reports.append(item.report)
        result = check_ports(reports, policy, roles, failsafe=failsafe)
    with _writing(output):
        _render_ports(result, fmt, output, export)


def _render_ports(result: object, fmt: Format, output: Path | None, export: PortExport | None) -> None:
    from analyzer.portpolicy import export as exports
    from analyzer.portpolicy.report import PortPolicyReport
    from reports import portpolicy

    assert isinstance(result, PortPolicyReport)
    if export == PortExport.calico:
        _write(exports.calico_yaml(result.flows), output)
    elif export == PortExport.md:
        _write(exports.markdown_table(result.flows), output)
    elif fmt == Format.json:
        _stream(lambda fh: portpolicy.write_json(result, fh), output)
    elif fmt == Format.md:
        _write(portpolicy.markdown(result), output)
    elif fmt == Format.html:
        _write(portpolicy.html(result), output)
    elif fmt == Format.csv:
        _write(portpolicy.csv(result), output)
    else:
        _console_table(lambda console: portpolicy.terminal_table(result, console), output, width=240)


_EXTENSIONS = {Format.json: "json", Format.md: "md", Format.html: "html", Format.csv: "csv", Format.table: "txt"}


def _analyze_many(
    captures: list[str],
    allowlist: Allowlist | None,
    options: Options,
    fmt: Format,
    output: Path | None,
    fail_on: list[FailOn],
    lint_rows: bool = False,
) -> None:
    """Several captures in parallel: one report per capture in -o DIR (or the terminal for tables)."""
    from analyzer.api import analyze_many
    from reports.safe import terminal

    if "-" in captures:
        raise _fail("'-' (stdin) can only be the only capture")
    if output is None and fmt != Format.table:
        raise _fail(f"several captures with --format {fmt.value}: give a directory with -o")
    _gate_needs(fail_on, allowlist)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
    names = _distinct_names(captures)
    bad = failing = 0
    for item in analyze_many(captures, allowlist=allowlist, options=options):
        if item.report is None:
            bad += 1
            typer.echo(f"egress: error: {terminal(item.error)}", err=True)
            continue
        _warn(item.report)
        stem = names[item.path]
        target = None
        if output is not None:
            target = output / stem if fmt == Format.parquet else output / f"{stem}.{_EXTENSIONS[fmt]}"
            target.parent.mkdir(parents=True, exist_ok=True)
        _render(item.report, fmt, target, lint_rows)
        findings = _gate(item.report, fail_on)
        if findings:
            failing += 1
            typer.echo(f"egress: failing: {terminal(item.path)}: {findings}", err=True)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)
    if failing:
        raise typer.Exit(EXIT_FINDINGS)


def _with_logs(files: list[str], source_format: str | None) -> bool:
    """Whether several files are a capture with its logs (one report) rather than several captures."""
    from analyzer.api import source_kind

    if source_format not in (None, "capture"):
        return True
    with _input_errors():
        return any(f != "-" and source_kind(f) not in ("capture", None) for f in files)


def _analyze_together(
    files: list[str], allowlist: Allowlist | None, options: Options, source_format: str | None, warn: bool
) -> Report:
    from analyzer.api import analyze_together

    with _input_errors():
        report = analyze_together(files, allowlist=allowlist, options=options, source_format=source_format)
    if warn:
        _warn(report)
    return report


def _analyze(
    capture: str,
    allowlist: Allowlist | None,
    options: Options,
    progress: bool | None,
    warn: bool = True,
    source_format: str | None = None,
) -> Report:
    """Run the library; bad input becomes one line and exit code 2 here, at the boundary."""
    from analyzer.api import analyze

    with _input_errors():
        report = analyze(
            capture,
            allowlist=allowlist,
            options=options,
            progress=_progress_fn() if (sys.stderr.isatty() if progress is None else progress) else None,
            source_format=source_format,
        )
    if warn:
        _warn(report)
    return report


def _warn(report: Report) -> None:
    from reports.safe import terminal

    for w in report.warnings:
        typer.echo(f"egress: warning: {terminal(w)}", err=True)


def _distinct_names(captures: list[str]) -> dict[str, str]:
    """Each capture's report name: its file name, or where two captures share one (``a/out.pcap`` and
    ``b/out.pcap``: one folder per host, the usual night) its path relative to the captures' common folder,
    so that no report overwrites another."""
    base = [os.path.basename(c) for c in captures]
    if len(set(base)) == len(base):
        return dict(zip(captures, base, strict=True))
    parents = [os.path.dirname(os.path.abspath(c)) for c in captures]
    common = os.path.commonpath(parents)
    return {c: os.path.relpath(os.path.abspath(c), common) for c in captures}


_SUFFIXES = {".json": Format.json, ".md": Format.md, ".html": Format.html, ".htm": Format.html, ".csv": Format.csv}


def _output_format(fmt: Format | None, output: Path | None, several: bool) -> Format:
    """--format, else what the -o file's extension says, else the terminal table; refuse a contradiction."""
    implied = None if output is None or several else _SUFFIXES.get(output.suffix.lower())
    if fmt is None:
        return implied or Format.table
    if implied is not None and implied != fmt:
        raise _fail(f"--format {fmt.value} but -o {output} looks like {implied.value}: give one or make them agree")
    return fmt


def _check_output(fmt: Format, output: Path | None, several: bool) -> None:
    """Refuse an output that cannot be written before any analysis runs: one line, exit 2."""
    if output is None:
        return
    if str(output).startswith("/dev/") and not several and fmt != Format.parquet:
        return  # /dev/stdout, /dev/null: written as given
    if several or fmt == Format.parquet:  # a directory, made with its parents when missing
        if output.exists() and not output.is_dir():
            raise _fail(f"-o {output}: exists and is not a directory (this output is one file per table or capture)")
        probe = output
        while not probe.exists():
            probe = probe.parent
    else:
        if output.is_dir():
            raise _fail(f"-o {output}: is a directory; give a file name")
        probe = output.parent
        if not probe.exists():
            raise _fail(f"-o {output}: no such directory {probe}")
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise _fail(f"-o {output}: cannot write in {probe}")


@contextmanager
def _writing(output: Path | None) -> Iterator[None]:
    """A write that fails (a full disk, a closed pipe) is one line and exit 2, like every bad input."""
    try:
        yield
    except OSError as exc:
        raise _fail(f"cannot write {output or 'stdout'}: {exc.strerror or exc}") from None


def _render(result: Report, fmt: Format, output: Path | None, lint_rows: bool = False) -> None:
    with _writing(output):
        _render_to(result, fmt, output, lint_rows)


def _render_to(result: Report, fmt: Format, output: Path | None, lint_rows: bool) -> None:
    if fmt == Format.json:
        from reports import jsondoc

        _stream(lambda fh: jsondoc.write(result, fh), output)
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
        from reports import table

        _console_table(lambda console: table.render(result, console, lint_rows), output, width=200)


def _stream(write: Callable[[TextIO], None], output: Path | None) -> None:
    """A renderer that writes to a stream (JSON, written as it is made): stdout, or the -o file."""
    if output is None:
        write(sys.stdout)
    else:
        with output.open("w", encoding="utf-8") as fh:
            write(fh)


def _console_table(draw: Callable[[Console], None], output: Path | None, width: int) -> None:
    """A rich table: into the -o file at ``width`` columns, else on the terminal at its own width."""
    from rich.console import Console

    if output is not None:
        with output.open("w", encoding="utf-8") as fh:
            draw(Console(file=fh, width=width, force_terminal=False))
        return
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=width)  # a pipe or a CI log: no terminal to fit, keep every column
    draw(console)


def _gate_needs(fail_on: list[FailOn], allowlist: Allowlist | None) -> None:
    for kind in (FailOn.missing, FailOn.excess):
        if kind in fail_on and allowlist is None:
            raise _fail(f"--fail-on {kind.value} needs --allowlist")


def _gate(report: Report, fail_on: list[FailOn]) -> str:
    """What --fail-on found, as one line; empty when the gate passes."""
    found = []
    if FailOn.blocked in fail_on:
        blocked = len(report.blocked())
        if blocked:
            found.append(f"{blocked} blocked destination(s)")
    counts = {FailOn.missing: len(report.missing()), FailOn.excess: len(report.excess)}
    for kind, n in counts.items():
        if kind in fail_on and n:
            found.append(f"{n} {kind.value} entr{'y' if n == 1 else 'ies'}")
    return ", ".join(found)


def _options(
    dialect: str, internal_domain: list[str] | None, include_noise: list[str] | None, jobs: int | None = None
) -> Options:
    with _input_errors():
        return Options(
            dialect=dialect,
            internal_domains=tuple(internal_domain or ()),
            include_noise=frozenset(include_noise or ()),
            jobs=jobs,
        )


def _read_allowlist(paths: list[Path] | None, allowlist_format: str | None) -> Allowlist | None:
    from analyzer.api import read_allowlist

    if not paths:
        return None
    with _input_errors():
        return read_allowlist(paths, allowlist_format)


@app.command("export")
def export_command(
    capture: Annotated[str, typer.Argument(help="pcap or pcapng file (gzip'd is fine); '-' reads stdin.")],
    to: Annotated[
        str,
        typer.Option("--to", help="request-md, azure-bicep, azure-arm, cilium, squid, aws-domain-list or text."),
    ],
    output: Output = None,
    internal_domain: InternalDomains = None,
) -> None:
    """Write the allowlist CAPTURE justifies (noise excluded) in a firewall's own syntax, ports included.

    Example: egress export out.pcap --to azure-bicep -o egress-rules.bicep
    """
    from reports import exports

    if to not in exports.TARGETS:
        raise _fail(f"unknown export target {to!r}: choose one of {', '.join(exports.TARGETS)}")
    _check_output(Format.md, output, several=False)  # one text file, checked before the analysis
    from reports.safe import terminal

    report = _analyze(capture, None, _options(DEFAULT_DIALECT, internal_domain, None), False)
    written = exports.build(report, to)
    for note in written.notes:
        typer.echo(f"egress: warning: {terminal(note)}", err=True)
    _write(written.text, output)


@app.command("lint")
def lint_command(
    allowlist: Annotated[list[Path], typer.Argument(help="Allowlist file(s) to check.")],
    dialect: Dialect = DEFAULT_DIALECT,
    allowlist_format: Annotated[str | None, typer.Option(help="Force the format instead of detecting it.")] = None,
    fmt: Annotated[
        Format | None,
        typer.Option("--format", "-f", help="Output format (default: from the -o extension, else table)."),
    ] = None,
    output: Output = None,
) -> None:
    """Check an allowlist on its own: over-broad, multi-tenant, public-suffix, redundant, duplicate and
    invalid entries, under the firewall's real wildcard rules.

    Example: egress lint microstack-acl-request.md --dialect azure
    """
    import json

    from analyzer.api import lint

    fmt = _output_format(fmt, output, several=False)
    if fmt == Format.parquet and output is None:
        raise _fail("--format parquet writes lint.parquet: give a directory with -o")
    _check_output(fmt, output, several=False)
    options = _options(dialect, None, None)
    rules = _read_allowlist(allowlist, allowlist_format)
    assert rules is not None
    findings = lint(rules, options)
    if fmt == Format.json:
        from reports.jsondoc import lint_document

        _write(json.dumps(lint_document(findings), indent=2) + "\n", output)
    elif fmt == Format.md:
        from reports import markdown

        _write(markdown.render_lint(findings), output)
    elif fmt == Format.csv:
        from reports import csvout

        _write(csvout.render_table(findings.lint), output)
    elif fmt == Format.html:
        from reports import html

        _write(html.render_lint(findings), output)
    elif fmt == Format.parquet:
        from reports import parquet

        assert output is not None
        typer.echo(f"wrote {parquet.write_table(findings.lint, output)}", err=True)
    else:
        from rich.console import Console

        from reports import table

        with _writing(output):
            if output is None:
                table.render_lint(findings, Console())
            else:
                with output.open("w", encoding="utf-8") as fh:
                    table.render_lint(findings, Console(file=fh, width=200, force_terminal=False))


def _write(text: str, output: Path | None) -> None:
    with _writing(output):
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            output.write_text(text, encoding="utf-8")


def _progress_fn() -> ProgressFn:
    from analyzer.progress import StderrProgress

    return StderrProgress()


# The upload service: its options and code live in frontends/web (imported only when it runs).
from frontends.web.cli import serve  # noqa: E402

app.command("serve")(serve)

from frontends.nightly import drift_command, nightly_command  # noqa: E402  (they use the helpers above)

app.command("nightly")(nightly_command)
app.command("drift")(drift_command)

from frontends.capture import capture_command  # noqa: E402

app.command("capture")(capture_command)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
