"""The README documents every CLI command, and every command has help with an example."""

from __future__ import annotations

from typer.main import get_command
from typer.testing import CliRunner

from frontends.cli import app
from tests.support.paths import ROOT

README = (ROOT / "README.md").read_text()


def test_every_command_is_in_the_readme_with_help_and_an_example() -> None:
    commands = sorted(get_command(app).commands)  # type: ignore[attr-defined]
    assert {"analyze", "lint", "export"} <= set(commands)
    runner = CliRunner()
    for name in commands:
        assert f"egress {name}" in README, f"`egress {name}` is not in the README"
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example: egress " + name in " ".join(result.output.split()), name
        assert "<bool>" not in result.output, name  # a flag takes no value: its help must not say it does


def test_readme_shows_the_two_commands() -> None:
    assert "make demo" in README and "make test" in README
