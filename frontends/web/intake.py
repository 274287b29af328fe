"""Streaming an upload to disk: a running SHA-256, the first bytes sniffed, limits checked as it comes.

The body is never held in memory: it is gathered into 1 MiB blocks, each written and hashed in a
worker thread (``hashlib`` releases the GIL on large updates, so the event loop keeps serving
other requests).  A raw upload goes to a temporary file in ``tmp/`` and is moved into place with
``os.replace`` only when whole: a capture file that exists is complete.  A resumable (tus)
upload appends to its ``.part`` file in ``uploads/`` and is moved the same way when its last
byte arrives.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread

from frontends.web.sniff import Rejected, sniff

BLOCK = 1 << 20


def check_room(length: int, limit: int, data: Path, reserve: int, already: int = 0) -> None:
    """Refuse a declared length over the limit or over the free disk, before reading a byte of it."""
    if length > limit:
        raise Rejected(413, f"capture of {length:,} bytes is over this server's limit of {limit:,} (--max-upload)")
    free = shutil.disk_usage(data).free
    if length - already > free - reserve:
        raise Rejected(413, f"capture of {length:,} bytes does not fit: {max(free - reserve, 0):,} bytes of disk free")


def hash_file(path: Path, upto: int) -> hashlib._Hash:
    """The running hash of the first ``upto`` bytes of a partial upload (after a restart lost it)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        left = upto
        while left:
            block = fh.read(min(BLOCK, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h


class Sink:
    """Appends to an open file with a running hash; ``head`` sniffed before anything is written.

    ``room``: (folder, reserve): each block is written only while the folder's disk keeps ``reserve``
    bytes free after it, else 507.  For a body of unknown length (chunked) the caller then removes
    what was written; a resumable upload keeps it.  A declared length was checked whole before the
    first byte (:func:`check_room`); a resumable upload checks each block as well, since other
    uploads may take that room between its creation and its PATCHes.
    """

    def __init__(
        self,
        fh: BinaryIO,
        hasher: hashlib._Hash,
        limit: int,
        offset: int = 0,
        head: bytes = b"",
        room: tuple[Path, int] | None = None,
    ) -> None:
        self.fh = fh
        self.room = room
        self.hasher = hasher
        self.written = offset  # bytes in the file (and in the hash)
        self.limit = limit
        self.head = head  # the first bytes already in the file (a resumed upload), sniffed with the new ones
        self.kind: str | None = sniff(head, final=False) if head else None
        self._pending: list[bytes] = []
        self._pending_len = 0

    def _write(self, data: bytes) -> None:
        if self.room is not None:
            folder, reserve = self.room
            free = shutil.disk_usage(folder).free
            if free - len(data) < reserve:
                raise Rejected(
                    507,
                    f"the disk is full: {self.written:,} bytes received, {max(free - reserve, 0):,} more fit "
                    f"(the server keeps {reserve:,} free)",
                )
        self.fh.write(data)
        self.hasher.update(data)

    async def feed(self, chunk: bytes) -> None:
        if self.written + self._pending_len + len(chunk) > self.limit:
            raise Rejected(413, f"body goes past {self.limit:,} bytes (the declared length or --max-upload)")
        self._pending.append(chunk)
        self._pending_len += len(chunk)
        if self.kind is None:
            self.kind = sniff(self.head + b"".join(self._pending), final=False)
            if self.kind is None:
                return
        if self._pending_len >= BLOCK:
            await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending, self._pending_len = [], 0
        await anyio.to_thread.run_sync(self._write, data)
        self.written += len(data)

    async def close_body(self, final: bool = True) -> None:
        """The body ended: sniff what a short body held, then write the rest.  ``final``: no more bytes
        will come (a raw upload, or the last part of a resumable one); else a later part sniffs again."""
        final = final or self.written + self._pending_len >= self.limit  # nothing more may come
        if self.kind is None:
            self.kind = sniff(self.head + b"".join(self._pending), final=final)
        await self.flush()


async def pump(body: AsyncIterator[bytes], sink: Sink, final: bool = True) -> None:
    async for chunk in body:
        if chunk:
            await sink.feed(chunk)
    await sink.close_body(final)


def place(source: Path, target: Path) -> bool:
    """Move a whole upload into place; False (and the source removed) when that file exists already."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        source.unlink(missing_ok=True)
        return False
    os.replace(source, target)
    return True


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
