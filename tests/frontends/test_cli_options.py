"""Every command's options, exactly: flags, help text, default, type, repetition.

The options several commands share are declared once in frontends/options.py; this pins what the user
sees so that sharing a declaration never changes a flag, a help line or a default.  The expected file
was written from main before the options were shared.  After a deliberate change to an option, write it
again with ``python -m tests.frontends.test_cli_options > tests/frontends/cli_options.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer.main

from frontends.cli import app

EXPECTED = Path(__file__).with_name("cli_options.json")


def options_of_every_command() -> dict[str, list[dict[str, Any]]]:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]  # a group: its subcommands
    found: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(commands):
        found[name] = [
            {
                "name": p.name,
                "flags": list(p.opts),
                "negations": list(p.secondary_opts),
                "help": getattr(p, "help", None),
                "default": p.default if p.default is None else repr(p.default),
                "type": _type(p.type),
                "repeatable": p.multiple,
                "required": p.required,
                "kind": type(p).__name__,
            }
            for p in commands[name].params
        ]
    return found


def _type(kind: Any) -> dict[str, Any]:
    """A parameter's type as plain data: its name, choices and range where it has them."""
    return {
        "name": kind.name,
        "choices": [str(c) for c in getattr(kind, "choices", ())],
        "min": getattr(kind, "min", None),
        "max": getattr(kind, "max", None),
    }


def test_every_command_keeps_its_flags_help_and_defaults() -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    actual = options_of_every_command()
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert actual[name] == expected[name], name


def test_shared_options_are_declared_once() -> None:
    """The report options common to analyze, capture and nightly are one declaration each, not copies."""
    root = Path(__file__).parents[2] / "frontends"
    for module in ("cli.py", "capture.py", "nightly.py"):
        text = (root / module).read_text(encoding="utf-8")
        assert "Wildcard rules of the firewall" not in text, module
        assert "Site suffix to treat as internal" not in text, module
        assert '"Write to this file, not stdout."' not in text, module


if __name__ == "__main__":
    json.dump(options_of_every_command(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
