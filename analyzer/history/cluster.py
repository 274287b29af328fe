"""The Dask executor: the captures of a night mapped over a ``distributed`` cluster.

Workers read the captures from shared storage (the paths must mean the same file on every
worker) and send back only :class:`~analyzer.history.collect.CaptureResult`: provenance and the
small tables the history keeps.  The client alone writes the history, under its lock, so a
cluster run and a local run of the same captures store the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analyzer.errors import InputError
from analyzer.history.collect import CaptureResult, capture_result
from analyzer.history.runner import _hash_or_none

if TYPE_CHECKING:
    from analyzer.allowlist.model import Allowlist
    from analyzer.options import Options

CONNECT_TIMEOUT = "20s"


@dataclass(frozen=True, slots=True)
class DaskRun:
    client: Any  # distributed.Client (typed loosely: the extra may be absent)
    allowlist: Allowlist | None
    options: Options

    def hashes(self, paths: list[str]) -> list[str | None]:
        """SHA-256 of each capture, computed where the data is."""
        if not paths:
            return []
        return list(self.client.gather(self.client.map(_hash_or_none, paths, pure=False)))

    def analyse(self, paths: list[str]) -> list[CaptureResult]:
        if not paths:
            return []
        futures = self.client.map(capture_result, paths, allowlist=self.allowlist, options=self.options, pure=False)
        return list(self.client.gather(futures))


@contextmanager
def connect(scheduler: str, allowlist: Allowlist | None, options: Options) -> Iterator[DaskRun]:
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--executor dask needs Dask distributed: pip install 'egress-analyzer[dask]'") from None
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        _stop_failed_client(exc, Client)
        raise InputError(f"--scheduler {scheduler}: cannot connect ({str(exc).splitlines()[0]})") from None
    try:
        yield DaskRun(client, allowlist, options)
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _stop_failed_client(exc: BaseException, client_type: type) -> None:
    """Stop the IO-loop thread of a ``Client`` whose constructor failed to connect.

    distributed (2026.8) starts that thread before it connects and, when the connection fails,
    leaves it running: the half-made client is marked closed, so its ``close()`` returns at once,
    and the running loop keeps the client alive.  Each failed attempt would leave a thread and an
    event loop for the life of the process (a web worker or a test session, which then saw that
    loop's garbage in its own measurements).  The caller never gets the client; the constructor's
    frame in the traceback still holds it as ``self``.
    """
    tb = exc.__traceback__
    while tb is not None:
        client = tb.tb_frame.f_locals.get("self")
        if isinstance(client, client_type):
            runner = getattr(client, "_loop_runner", None)
            if runner is not None:
                runner.stop()
            return
        tb = tb.tb_next
