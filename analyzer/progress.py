"""A progress line on stderr while a large capture is read (bytes read / total, packets/s)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

ProgressFn = Callable[[int, int | None, int], None]  # bytes read, total bytes (None if unknown), packets


class StderrProgress:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, done: int, total: int | None, packets: int) -> None:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        pct = f"{100 * done / total:5.1f}% " if total else ""
        sys.stderr.write(f"\r{pct}{done / 1e6:8.1f} MB read, {packets} packets, {packets / elapsed:,.0f} packets/s")
        if total is not None and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
