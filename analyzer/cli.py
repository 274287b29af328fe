"""The ``egress`` command line: thin, with errors turned into one line and an exit code here."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from analyzer.progress import ProgressFn
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
    capture: Annotated[str, typer.Argument(help="pcap or pcapng file (gzip'd is fine); '-' reads stdin.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")] = None,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr (default: when stderr is a terminal).")] = (
        False
    ),
) -> None:
    """Report every name, protocol and port contacted in CAPTURE, and whether it got through.

    Example: sudo tcpdump -i any -w out.pcap; egress analyze out.pcap --format json -o out.json
    """
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
    for w in result.warnings:
        from reports.safe import terminal

        typer.echo(f"egress: warning: {terminal(w)}", err=True)
    if fmt == Format.json:
        from reports import jsondoc

        _write(jsondoc.render(result), output)
    else:
        from rich.console import Console

        from reports import table

        if output is not None:
            with output.open("w", encoding="utf-8") as fh:
                table.render(result, Console(file=fh, width=200, force_terminal=False))
        else:
            table.render(result, Console())


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
