"""In-order byte stream of one TCP direction, rebuilt from segments in any order.

Only the first bytes of a connection matter to us (a ClientHello, an HTTP head, DNS
messages), so a stream keeps at most ``limit`` bytes beyond its read position, holds
out-of-order segments until the gap fills, and lets a consumer *skip* ahead (over an
HTTP body) without buffering what it skips.  Sequence numbers wrap modulo 2**32.
"""

from __future__ import annotations

_MOD = 1 << 32
_HALF = 1 << 31


class Stream:
    __slots__ = ("_pending", "_pending_bytes", "anchored", "base", "data", "limit", "overflow", "start")

    def __init__(self, base: int | None, limit: int = 65536) -> None:
        # base: sequence number of byte 0 (ISN + 1).  None until the first segment when the
        # handshake was not captured; then ``anchored`` is False and an earlier segment may rebase it.
        self.base = base
        self.anchored = base is not None
        self.limit = limit
        self.start = 0  # stream offset of data[0]
        self.data = bytearray()
        self._pending: dict[int, bytes] = {}
        self._pending_bytes = 0
        self.overflow = False  # a segment was dropped because the buffer was full

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def add(self, seq: int, payload: bytes) -> bool:
        """Add a segment; True when new in-order bytes became available."""
        if not payload:
            return False
        if self.base is None:
            self.base = seq
        # The offset nearest the current end: a stream whose reader skipped a multi-gigabyte body
        # is far past 2**31 bytes, where an offset taken from byte 0 modulo 2**32 would be wrong.
        end = self.end
        delta = (seq - self.base - end) % _MOD
        offset = end + (delta - _MOD if delta >= _HALF else delta)
        if offset < 0:  # before byte 0
            back = -offset
            if not self.anchored and self.start == 0 and back <= self.limit:
                self._rebase(back)
                offset = 0
            elif back >= len(payload):
                return False
            else:
                payload = payload[back:]
                offset = 0
        return self._place(offset, payload)

    def _rebase(self, back: int) -> None:
        """A segment earlier than the first one seen arrived: shift everything later by ``back``."""
        assert self.base is not None
        self.base = (self.base - back) % _MOD
        shifted = {off + back: seg for off, seg in self._pending.items()}
        if self.data:
            shifted[back] = bytes(self.data)
            self._pending_bytes += len(self.data)
            self.data = bytearray()
        self._pending = shifted

    def _place(self, offset: int, payload: bytes) -> bool:
        end = self.end
        if offset + len(payload) <= end:
            return False  # retransmission of bytes we already have (or skipped)
        if offset > end:
            if offset - self.start > self.limit or self._pending_bytes + len(payload) > self.limit:
                self.overflow = True
                return False
            old = self._pending.get(offset)
            if old is None or len(old) < len(payload):
                self._pending[offset] = payload
                self._pending_bytes += len(payload) - (len(old) if old else 0)
            return False
        room = self.limit - len(self.data)
        if room <= 0:
            self.overflow = True
            return False
        piece = payload[end - offset :]
        if len(piece) > room:
            piece = piece[:room]
            self.overflow = True
        self.data += piece
        self._drain()
        return True

    def _drain(self) -> None:
        while self._pending:
            end = self.end
            ready = [off for off in self._pending if off <= end]
            if not ready:
                return
            for off in sorted(ready):
                seg = self._pending.pop(off)
                self._pending_bytes -= len(seg)
                if off + len(seg) > self.end:
                    piece = seg[self.end - off :]
                    room = self.limit - len(self.data)
                    if len(piece) > room:
                        piece = piece[: max(room, 0)]
                        self.overflow = True
                    self.data += piece

    def consume(self, n: int) -> None:
        """Drop ``n`` bytes from the front; beyond what is buffered, skip them as they arrive."""
        if n <= len(self.data):
            del self.data[:n]
            self.start += n
            return
        self.start += n
        self.data = bytearray()
        # Pending segments that the skip covers are now partly or wholly old.
        pending, self._pending, self._pending_bytes = self._pending, {}, 0
        for off, seg in sorted(pending.items()):
            self._place(off, seg)

    def release(self) -> None:
        self.data = bytearray()
        self._pending = {}
        self._pending_bytes = 0
