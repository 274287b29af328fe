"""`egress serve` refuses settings that cannot work with one line and exit 2, before it listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontends.cli import app
from frontends.web.config import parse_size

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
