"""The framing of capture records, shared by the reader and the analyzer's fast path.

Both walk the same :class:`ChunkWalk`, read record headers with the structs built here, and
step over empty records with :func:`identical_run`, so a record boundary, a cut record and an
empty record mean the same thing whichever of the two reads them (the reader's
``empty_run`` holds the state of a run across windows).  The fast path extends the
header structs with the packet fields it tests (one ``unpack_from`` per packet: byte reads one
at a time cost more than the rest of its per-packet work), so the header layout is written once.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

# A record bigger than this is corruption, not a packet (tcpdump's own MAXIMUM_SNAPLEN is 262144).
MAX_RECORD = 1 << 24
PCAP_FILE_HEADER = 24
PCAP_RECORD_HEADER = 16  # seconds, fraction, captured length, wire length
PCAPNG_BLOCK_HEADER = 12  # type and length in front, length again behind: the smallest block
# An Enhanced Packet Block up to its packet data: type, length, interface, timestamp high and low,
# captured length, wire length.
EPB_HEADER = 28
EPB_MIN = EPB_HEADER + 4
# A run of identical empty records is compared in blocks that double up to this size: a few
# C-level comparisons per chunk instead of one loop turn per record.
_RUN_BLOCK_MAX = 1 << 16


def pcap_record_struct(byte_order: str, packet_fields: str = "") -> struct.Struct:
    """The pcap record header (sec, frac, caplen, wirelen), then ``packet_fields`` if given:
    a format continuing from the first byte of the packet."""
    return struct.Struct(byte_order + "IIII" + packet_fields)


def epb_struct(byte_order: str, packet_fields: str = "") -> struct.Struct:
    """An Enhanced Packet Block's header (type, length, interface, ts high, ts low, caplen,
    wirelen), then ``packet_fields`` if given, from the first byte of the packet."""
    return struct.Struct(byte_order + "IIIIIII" + packet_fields)


def identical_run(buf: bytes, pos: int, end: int, size: int) -> int:
    """How many copies of the ``size`` bytes at ``pos`` follow one another from ``pos`` (at least
    1), counting only whole copies before ``end``.

    A decompression bomb is millions of identical empty records; each costs one loop turn in a
    record walk, so an hour for a 10 MB gzip.  Here the comparison block doubles while it keeps
    matching and halves when it stops, which finds the run's end in a handful of ``startswith``
    calls per chunk.
    """
    block = buf[pos : pos + size]
    step = size
    p = pos + size
    while True:
        if p + step <= end and buf.startswith(block, p):
            p += step
            if step < _RUN_BLOCK_MAX:
                block += block
                step += step
        elif step > size:
            step //= 2
            block = block[:step]
        else:
            return (p - pos) // size


class ChunkWalk:
    """The records of a capture as windows of one buffer.

    Each :meth:`more` keeps the unread tail of the window (a record cut by the chunk boundary)
    and appends the next chunk, so a record is whole in ``buf`` once its bytes have arrived and is
    sliced out of it without further copying.  A loop reads from ``buf[pos:]`` and stores ``pos``
    back when it stops; the reader's iterators store it before every record they hand out, so the
    fast path picks up exactly where the reader's first record left the walk.
    """

    __slots__ = ("_chunks", "buf", "pos", "turns")

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.buf = b""
        self.pos = 0
        self.turns = 0  # windows so far: tells whether a run of records went on into this one

    def more(self) -> bool:
        """The next window; False at the end of the data (``buf[pos:]`` is then what was left)."""
        for chunk in self._chunks:
            self.buf = self.buf[self.pos :] + chunk if self.pos < len(self.buf) else chunk
            self.pos = 0
            self.turns += 1
            return True
        return False

    def close(self) -> None:
        """The end, said and done: nothing more to read (whoever walks on finds an empty window)."""
        self._chunks = iter(())
        self.buf = b""
        self.pos = 0

    @property
    def leftover(self) -> int:
        """Bytes of the window not read yet: at the end of the data, a cut record."""
        return len(self.buf) - self.pos
