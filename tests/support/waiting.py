"""Waiting for another process's state with a deadline, instead of a fixed sleep.

A test that reads what a server, a capture or a worker does next must wait for it to be so: a sleep
that is long enough on an idle machine is too short on a loaded 2-core CI runner.  The deadline is
generous (it costs nothing when things are fast) and the failure names what never happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE_S = 60.0


def until(condition: Callable[[], T], what: str, timeout: float = DEADLINE_S, every: float = 0.05) -> T:
    """``condition()``'s first truthy value, asked every ``every`` seconds for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not so after {timeout:g} s")
        time.sleep(every)
