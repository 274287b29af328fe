"""The live table of `egress capture`: blocked first, counts and drops shown, hostile names inert."""

from __future__ import annotations

import io
import re

from rich.console import Console

from analyzer.sources.live import LiveRow, LiveStatus
from reports.live import MAX_ROWS, render_status

HOSTILE = "<script>\x1b[2J\x1b]0;pwned\x07[bold]x[/bold]=cmd|"


def _text(status: LiveStatus) -> str:
    buf = io.StringIO()
    Console(file=buf, width=160, force_terminal=True, color_system="standard").print(render_status(status, "-n"))
    # rich's own colours (SGR) are the only escapes allowed; everything else must be visible text
    return re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())


def test_live_view_shows_rates_drops_and_inert_names() -> None:
    rows = (
        LiveRow(HOSTILE, "HTTP", 80, "reset", "Deny", 2),
        LiveRow("api.charmhub.io", "TLS", 443, "ok", "Allow", 7),
    )
    out = _text(LiveStatus("any", 3.2, 1234, 410.0, 5, rows))
    assert "1234 packets, 410 packets/s, 5 dropped" in out
    assert "running: -n" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "<script>\\x1b[2J\\x1b]0;pwned\\x07[bold]x[/bold]=cmd|" in out  # escaped, markup left literal
    assert out.index("<script>") < out.index("api.charmhub.io")  # rows keep the order given: blocked first


def test_live_view_caps_rows_and_says_how_many_more() -> None:
    rows = tuple(LiveRow(f"host{i}.test", "TLS", 443, "ok", "Allow", 1) for i in range(MAX_ROWS + 3))
    out = _text(LiveStatus("lo", 1.0, 10, 10.0, 0, rows))
    assert f"host{MAX_ROWS - 1}.test" in out and f"host{MAX_ROWS}.test" not in out
    assert "and 3 more" in out
