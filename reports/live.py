"""The live view of ``egress capture``: destinations so far (blocked first), packets/s and drops.

A renderable rebuilt every second from a :class:`analyzer.sources.live.LiveStatus`; names come from
packets and go through :func:`reports.safe.terminal` as ``Text``, never as markup.
"""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from analyzer.sources.live import LiveStatus
from reports.safe import terminal
from reports.table import VERDICT_STYLE

MAX_ROWS = 40  # a terminal screen; the final report has every row


def render_status(status: LiveStatus, command: str | None = None) -> Group:
    head = Text(
        f"capturing on {terminal(status.interface)}: {status.seconds:.0f} s, {status.packets} packets, "
        f"{status.rate:.0f} packets/s, ",
        style="bold",
    )
    head.append(f"{status.drops} dropped", style="bold red" if status.drops else "bold green")
    if command is not None:
        head.append(Text(f"  running: {terminal(command)}", style="dim"))
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column, justify in (("Name", "left"), ("Protocol", "left"), ("Port", "right"), ("Action", "left"),
                            ("Verdict", "left"), ("Connections", "right")):  # fmt: skip
        t.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in status.rows[:MAX_ROWS]:
        style = VERDICT_STYLE.get(r.verdict, "")
        t.add_row(
            Text(terminal(r.name)),
            Text(terminal(r.protocol)),
            Text(str(r.port)),
            Text(r.action, style=style),
            Text(terminal(r.verdict), style=style),
            Text(str(r.connections)),
        )
    more = len(status.rows) - MAX_ROWS
    parts: list[Text | Table] = [head, t]
    if more > 0:
        parts.append(Text(f"… and {more} more (all in the final report)", style="dim"))
    return Group(*parts)
