"""``egress serve``: the options, checked before anything starts, then uvicorn on the ASGI app."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from frontends.web.config import Config


def serve(
    data: Annotated[Path, typer.Option("--data", help="Folder for captures, reports and the job database.")],
    token_file: Annotated[
        Path, typer.Option("--token-file", help="Bearer tokens, one per line (at least 16 characters each).")
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0: a free one, printed when the server starts.")
    ] = 8080,
    max_upload: Annotated[str, typer.Option("--max-upload", help="Largest capture accepted: 8G, 512M, ...")] = "8G",
    workers: Annotated[
        int | None, typer.Option("--workers", help="Analyses running at once, one process each (default: all cores).")
    ] = None,
    allowlist: Annotated[
        list[str] | None,
        typer.Option("--allowlist", help="NAME=FILE: an allowlist the page and API offer by NAME (repeatable)."),
    ] = None,
    retention_days: Annotated[
        float, typer.Option("--retention-days", help="Analyses older than this are removed, with their captures.")
    ] = 30.0,
    disk_reserve: Annotated[
        str, typer.Option("--disk-reserve", help="Free disk an upload must leave: 64M, 1G, ... (507 beyond it).")
    ] = "64M",
    history: Annotated[
        Path | None,
        typer.Option(
            "--history", help="A nightly history (egress nightly): uploads with profile=NAME show drift against it."
        ),
    ] = None,
) -> None:
    """Serve the upload page and the HTTP API: upload out.pcap (raw or resumable), read its report.

    Example: egress serve --data /srv/egress --token-file tokens.txt --allowlist microstack=request.md
    """
    from frontends.cli import _input_errors
    from frontends.web.server import listen, run

    with _input_errors():
        config = _config(data, token_file, max_upload, workers, allowlist, retention_days, history, disk_reserve)
        sock = listen(host, port)  # a port that cannot be had: one line and exit 2, before anything starts
    run(config, sock)


def _config(
    data: Path,
    token_file: Path,
    max_upload: str,
    workers: int | None,
    allowlist: list[str] | None,
    retention_days: float,
    history: Path | None = None,
    disk_reserve: str = "64M",
) -> Config:
    from frontends.web.config import ALLOWLIST_NAME, Config, ConfigError, Tokens, parse_size

    named: dict[str, Path] = {}
    for item in allowlist or []:
        name, sep, file = item.partition("=")
        if not sep or not ALLOWLIST_NAME.match(name) or not file:
            raise ConfigError(f"--allowlist {item!r}: give NAME=FILE (NAME: letters, digits, . _ -)")
        from analyzer.api import read_allowlist

        read_allowlist(file)  # unreadable: one line naming it, now rather than at the first upload
        named[name] = Path(file)
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: at least 1")
    if retention_days <= 0:
        raise ConfigError(f"--retention-days {retention_days}: more than 0")
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--data {data}: cannot make it ({exc.strerror or exc})") from None
    if not os.access(data, os.W_OK | os.X_OK):
        raise ConfigError(f"--data {data}: cannot write in it")
    if history is not None and not history.is_dir():
        raise ConfigError(f"--history {history}: no such folder (egress nightly --history makes it)")
    return Config(
        data=data.resolve(),
        tokens=Tokens.read(token_file),
        max_upload=parse_size(max_upload),
        disk_reserve=parse_size(disk_reserve, "--disk-reserve"),
        workers=workers or os.cpu_count() or 1,
        allowlists=named,
        retention_days=retention_days,
        history=None if history is None else history.resolve(),
    )
