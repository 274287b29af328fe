"""``egress capture``: capture while an install runs, watch its names appear, keep the pcap, print the report.

Capturing starts before COMMAND and stops a moment after it exits (or on Ctrl-C, or after
``--duration``).  The exit status is COMMAND's, unless a ``--fail-on`` gate fires (1) or the input is
bad (2: no permission to capture, an unknown interface, a bad filter or option).  The analysis
itself is :func:`analyzer.api.capture` / :func:`analyzer.api.finish_capture`; the report options and
their helpers are those of ``egress analyze``.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from analyzer.sources.live import LiveCapture

from frontends import cli, options

# After COMMAND exits, the last packets (its FINs, the server's answers) are still on their way.
LINGER_S = 0.5
# A COMMAND still running when the capture is interrupted gets SIGINT, then this long to finish.
CHILD_GRACE_S = 5.0
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}


def parse_size(text: str) -> int:
    """``100M``, ``1G``, ``4096``: bytes, in powers of ten like ``tcpdump -C``."""
    t = text.strip().upper().removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    number = t[: len(t) - len(unit)]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise cli._fail(f"--rotate {text!r}: not a size (like 100M or 1G)") from None
    if not value >= 1024:
        raise cli._fail(f"--rotate {text!r}: a segment must hold at least 1024 bytes")
    return int(value)


def capture_command(
    command: Annotated[
        list[str] | None,
        typer.Argument(metavar="[-- COMMAND...]", help="The install to run while capturing (after --)."),
    ] = None,
    interface: Annotated[
        str, typer.Option("--interface", "-i", help="Interface to capture on; 'any' is all of them (SLL2).")
    ] = "any",
    write: Annotated[
        Path | None, typer.Option("--write", "-w", help="Keep the capture in this pcap file, written as it runs.")
    ] = None,
    bpf: Annotated[
        str | None,
        typer.Option("--filter", help="Capture filter (tcpdump syntax), applied in the kernel. Default: everything."),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option("--duration", min=0.0, help="Stop after this many seconds (a COMMAND still running gets SIGINT)."),
    ] = None,
    rotate: Annotated[
        str | None,
        typer.Option(
            "--rotate", help="Write -w as segments of this size (100M, 1G), each renamed into place when closed."
        ),
    ] = None,
    live: Annotated[
        bool | None,
        typer.Option("--live/--no-live", help="Live table while capturing (default: when stdout is a terminal)."),
    ] = None,
    fmt: options.FormatOpt = None,
    output: options.Output = None,
    allowlist: options.Allowlists = None,
    allowlist_format: options.AllowlistFormat = None,
    dialect: options.Dialect = options.DEFAULT_DIALECT,
    internal_domain: options.InternalDomains = None,
    include_noise: Annotated[
        list[str] | None,
        typer.Option("--include-noise", help="Keep a kind of noise (as for analyze; repeatable)."),
    ] = None,
    fail_on: Annotated[
        list[options.FailOn] | None,
        typer.Option("--fail-on", help="Exit 1 on missing or excess entries or blocked connections (repeatable)."),
    ] = None,
    lint_rows: Annotated[
        bool, typer.Option("--lint", "--verbose", "-v", help="Terminal table: every lint finding.")
    ] = False,
) -> None:
    """Capture while COMMAND runs (or until Ctrl-C / --duration) and report its egress like analyze.

    Needs root or CAP_NET_RAW. Exit status: COMMAND's, 1 when a --fail-on gate fires, 2 on bad input.

    Example: egress capture -w install.pcap --allowlist request.md -- sunbeam cluster bootstrap --accept-defaults
    """
    from analyzer.api import capture, finish_capture

    fmt = cli._output_format(fmt, output, several=False)
    if fmt == options.Format.parquet and output is None:
        raise cli._fail("--format parquet writes one file per table: give a directory with -o")
    cli._check_output(fmt, output, several=False)
    analysis = cli._options(dialect, internal_domain, include_noise)
    rules = cli._read_allowlist(allowlist, allowlist_format)
    cli._gate_needs(fail_on or [], rules)
    segment = None if rotate is None else parse_size(rotate)
    argv = list(command or [])
    if argv and shutil.which(argv[0]) is None:
        raise cli._fail(f"command not found: {argv[0]}")
    with cli._input_errors():
        session = capture(interface, bpf=bpf, write=write, rotate=segment)

    interrupted = []

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        interrupted.append(signum)  # the loop stops at its next check, never in the middle of a packet

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        try:
            child = subprocess.Popen(argv) if argv else None
        except OSError as exc:
            raise cli._fail(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        status = _run(session, child, duration, interrupted, _want_live(live), " ".join(map(shlex.quote, argv)))
    finally:
        signal.signal(signal.SIGINT, previous)
        session.close()
    report = finish_capture(session, allowlist=rules, options=analysis)
    for path in session.segments:
        typer.echo(f"wrote {path}", err=True)
    if not (fmt == options.Format.table and output is None):
        cli._warn(report)
    cli._render(report, fmt, output, lint_rows)
    findings = cli._gate(report, fail_on or [])
    if findings:
        typer.echo(f"egress: failing: {findings}", err=True)
        raise typer.Exit(cli.EXIT_FINDINGS)
    raise typer.Exit(status)


def _want_live(live: bool | None) -> bool:
    return sys.stdout.isatty() if live is None else live


def _run(
    session: LiveCapture,
    child: subprocess.Popen[bytes] | None,
    duration: float | None,
    interrupted: list[int],
    live: bool,
    command: str,
) -> int:
    """Capture until the child has exited (plus a linger), a signal, or the duration; COMMAND's status."""
    start = time.monotonic()
    exited: list[float] = []

    def stop() -> bool:
        now = time.monotonic()
        if interrupted or (duration is not None and now - start >= duration):
            return True
        if child is not None and not exited and child.poll() is not None:
            exited.append(now)
        return bool(exited) and now - exited[0] >= LINGER_S

    if live:
        from rich.console import Console
        from rich.live import Live

        from reports.live import render_status

        shown = command or None
        with Live(render_status(session.status(), shown), console=Console(), refresh_per_second=4) as view:
            session.run(stop, lambda s: view.update(render_status(s, shown)))
    else:
        session.run(stop)
    if child is None:
        return 0
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(CHILD_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
    code = child.wait()
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's 128 + N
