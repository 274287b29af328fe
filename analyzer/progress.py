"""A progress line on stderr while a large capture is read.

The pipeline calls a :data:`ProgressFn` after each read chunk with the bytes taken from the file
(compressed bytes for a gzip'd capture, so the share matches the file size), the file size when
known (not for stdin) and the packets read so far.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

ProgressFn = Callable[[int, int | None, int], None]  # bytes read from the file, file size or None, packets


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class StderrProgress:
    """``42.0%  220.5 of 525.0 MB, 214,310 packets, 512,004 packets/s, about 1 s left``, redrawn in place."""

    def __init__(self, out: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out if out is not None else sys.stderr
        self.clock = clock
        self.start = clock()
        self.finished = False

    def line(self, done: int, total: int | None, packets: int) -> str:
        elapsed = max(self.clock() - self.start, 1e-6)
        text = f"{packets:,} packets, {packets / elapsed:,.0f} packets/s"
        if not total:
            return f"{done / 1e6:.1f} MB read, {text}"
        share = min(done / total, 1.0)
        text = f"{100 * share:5.1f}%  {done / 1e6:.1f} of {total / 1e6:.1f} MB, {text}"
        if 0 < share < 1:
            text += f", about {_duration(elapsed * (1 - share) / share)} left"
        return text

    def __call__(self, done: int, total: int | None, packets: int) -> None:
        if self.finished:
            return
        # Pad to wipe a longer previous line; \r redraws in place on a terminal.
        self.out.write("\r" + self.line(done, total, packets).ljust(79))
        if total is not None and done >= total:
            self.out.write("\n")
            self.finished = True
        self.out.flush()
