"""`egress serve` refuses settings that cannot work with one line and exit 2, before it listens."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontends.cli import app
from frontends.web.config import parse_size
from tests.frontends.web.conftest import Server

runner = CliRunner()


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Example: egress serve --data" in text and "--token-file" in text and "--max-upload" in text


@pytest.mark.parametrize(
    ("tokens", "extra", "message"),
    [
        (None, [], "cannot read it"),
        ("short\n", [], "line 1: a token is at least 16"),
        ("# only a comment\n\n", [], "no token in it"),
        ("a-good-token-0123456789\n", ["--max-upload", "lots"], "--max-upload 'lots'"),
        ("a-good-token-0123456789\n", ["--allowlist", "noequals"], "give NAME=FILE"),
        ("a-good-token-0123456789\n", ["--allowlist", "x=/nonexistent.md"], "/nonexistent.md"),
        ("a-good-token-0123456789\n", ["--workers", "0"], "--workers 0"),
    ],
)
def test_bad_settings(tmp_path: Path, tokens: str | None, extra: list[str], message: str) -> None:
    token_file = tmp_path / "tokens"
    if tokens is not None:
        token_file.write_text(tokens)
    result = runner.invoke(app, ["serve", "--data", str(tmp_path / "d"), "--token-file", str(token_file), *extra])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("egress: error: ") and message in lines[0], result.output


def test_sizes() -> None:
    assert parse_size("8G") == 8 << 30 and parse_size("512M") == 512 << 20 and parse_size("1000") == 1000
    assert parse_size("2GiB") == 2 << 30


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    """Another program already listening there: one line naming the address, exit 2, nothing started."""
    token_file = tmp_path / "tokens"
    token_file.write_text("a-good-token-0123456789\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["serve", "--data", str(tmp_path / "d"), "--token-file", str(token_file), "--port", str(port)]
        result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"--host 127.0.0.1 --port {port}: cannot listen there" in lines[0], result.output


def test_port_0_serves_on_the_port_it_prints(tmp_path: Path) -> None:
    """--port 0 takes a free port, and the start-up line names it: what answers there is this server."""
    server = Server(tmp_path)  # starts `egress serve --port 0` and reads the port from its first line
    try:
        assert server.port > 0
        first = server.log.read_text().splitlines()[0]
        assert first.startswith(f"egress serve: http://127.0.0.1:{server.port}/ (data {server.data},")
        with server.client() as client:
            assert client.get("/api/v1/captures").status_code == 200
    finally:
        server.stop()
