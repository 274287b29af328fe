"""The command-line options that several ``egress`` commands share, declared once.

Each alias carries the flags and help text of its option; a command takes it as the type of its
parameter and gives the default there (``dialect: Dialect = "azure"``), which is how typer reads
``Annotated`` options.  An option whose help differs between commands (``analyze`` explains
more than ``capture``) stays with its command: the help a user reads is part of the interface.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


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


DEFAULT_DIALECT = "azure"

FormatOpt = Annotated[
    Format | None,
    typer.Option("--format", "-f", help="Output format (default: from the -o file's extension, else table)."),
]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")]
Allowlists = Annotated[
    list[Path] | None,
    typer.Option("--allowlist", "-a", help="Requested allowlist (any supported format); repeat to merge."),
]
AllowlistFormat = Annotated[str | None, typer.Option(help="Force the allowlist format instead of detecting it.")]
Dialect = Annotated[
    str, typer.Option(help="Wildcard rules of the firewall: azure, squid, aws, cilium, calico or exact.")
]
InternalDomains = Annotated[
    list[str] | None, typer.Option("--internal-domain", help="Site suffix to treat as internal (repeatable).")
]
