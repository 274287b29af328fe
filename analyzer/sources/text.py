"""Reading a log file as text: streamed line by line, gzip or plain, any line ending, flat memory.

A log is never read whole: a night of firewall logs is gigabytes.  :class:`LogText` hands out
``(line number, line)`` pairs from an :class:`io.TextIOWrapper` in universal-newline mode (``\\n``,
``\\r\\n`` and a lone ``\\r`` all end a line, mixed in one file too), decoding UTF-8 with
replacement characters so that one bad byte costs one odd name, not the file.  It remembers
whether the last line ended without a newline (a log cut while it was being copied) and whether
a gzip stream ended early, so that the reader can say so instead of guessing.
"""

from __future__ import annotations

import io
import os
import sys
import zlib
from collections.abc import Iterator
from typing import IO, BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 << 10  # what detection looks at: a few hundred log lines, or a capture's header


class Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read (to detect the format), handed back first:
    stdin and uploads cannot seek back."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_binary(path: str | os.PathLike[str]) -> tuple[BinaryIO, int | None]:
    """The file (``-``: stdin) and its size when known."""
    if str(path) == "-":
        return sys.stdin.buffer, None
    fh = open(path, "rb")  # noqa: SIM115 - the caller closes it
    try:
        return fh, os.fstat(fh.fileno()).st_size
    except OSError:
        return fh, None


def inflate_head(raw: bytes) -> bytes:
    """The first decompressed bytes of a gzip stream (what detection reads), empty when corrupt."""
    try:
        return zlib.decompressobj(wbits=31).decompress(raw, HEAD_BYTES)
    except zlib.error:
        return b""


def peek(stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    """The first bytes of ``stream`` and a stream that still starts at its beginning."""
    try:
        start = stream.tell()
    except (OSError, AttributeError, ValueError):
        start = None
    head = stream.read(HEAD_BYTES)
    try:
        if start is None:
            raise OSError("not seekable")
        stream.seek(start)
        return head, stream
    except (OSError, AttributeError, ValueError):
        return head, io.BufferedReader(Prefixed(head, stream))


class _Gunzip(io.RawIOBase):
    """A gzip stream (of one or more members) decompressed as it is read.  An early end is the end of
    the data, remembered in ``cut``: everything decompressed before it is still read (GzipFile raises
    on the call that meets the end, and its data is lost with it)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._z = zlib.decompressobj(wbits=31)
        self._pending = b""
        self.cut = False
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            self._more()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _more(self) -> None:
        data = self._z.unconsumed_tail or self._stream.read(_GZIP_CHUNK)
        if not data:
            self._done = True
            self.cut = not self._z.eof
            return
        try:
            self._pending = self._z.decompress(data, _GZIP_CHUNK * 4)
        except zlib.error:
            self._done = self.cut = True
            return
        if self._z.eof:
            rest = self._z.unused_data
            self._z = zlib.decompressobj(wbits=31)
            if rest.strip(b"\x00"):
                self._pending += self._z.decompress(rest, _GZIP_CHUNK * 4) if rest[:2] == GZIP_MAGIC else b""
            elif not self._stream_has_more():
                self._done = True

    def _stream_has_more(self) -> bool:
        nxt = self._stream.read(_GZIP_CHUNK)
        if not nxt:
            return False
        self._pending += self._z.decompress(nxt, _GZIP_CHUNK * 4) if nxt[:2] == GZIP_MAGIC else b""
        return nxt[:2] == GZIP_MAGIC


_GZIP_CHUNK = 64 << 10


class LogText:
    """Numbered lines of a (maybe gzip'd) text stream; ``truncated``/``gzip_cut`` once read to the end."""

    def __init__(self, stream: BinaryIO, compressed: bool) -> None:
        self.compressed = compressed
        self._gunzip = _Gunzip(stream) if compressed else None
        raw: IO[bytes] = io.BufferedReader(self._gunzip) if self._gunzip is not None else stream
        # newline=None: universal newlines, so \r\n, \n and \r all end a line and come out as \n.
        self.text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=None)
        self.truncated = False  # the last line had no newline
        self.line_no = 0

    @property
    def gzip_cut(self) -> bool:
        """The gzip stream ended before its end marker: the log was cut."""
        return self._gunzip is not None and self._gunzip.cut

    def lines(self) -> Iterator[tuple[int, str]]:
        """``(number, line without its newline)``; blank lines are skipped but counted."""
        for line in self.text:
            self.line_no += 1
            if line.endswith("\n"):
                line = line[:-1]
            else:
                self.truncated = True
            if line.strip():
                yield self.line_no, line

    def read(self, n: int) -> str:
        """Up to ``n`` characters (for readers of whole JSON documents); '' at the end."""
        return self.text.read(n)
