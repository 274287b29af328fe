"""Capture-file reader: pcap (both byte orders, µs and ns), pcapng, optionally gzip'd.

This is the one module in ``parsers`` that touches files.  It streams: records are
sliced out of large read chunks (:class:`parsers.framing.ChunkWalk`, the walk the
analyzer's fast path continues), so memory is bounded by the chunk size plus the
largest record, never by the capture size.

What is a capture and what is a cut one: a file whose very first header (the pcap file
header, the first pcapng section header block) is incomplete or is not a capture header
raises :class:`CaptureFormatError`.  Anything wrong after that (a record or block cut short,
an invalid block length, a corrupt later section header, an interface block too short to
be one) ends the reading with a warning and sets ``info.truncated``: every whole record
before it is kept.  Records that carry no bytes are skipped and counted in one warning.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from parsers.errors import CaptureFormatError
from parsers.framing import (
    MAX_RECORD,
    PCAP_FILE_HEADER,
    PCAP_RECORD_HEADER,
    PCAPNG_BLOCK_HEADER,
    ChunkWalk,
    identical_run,
    pcap_record_struct,
)

# How much is read at a time.  64 KiB windows keep each read, and the window built from it, below
# glibc's 128 KiB threshold for big blocks: with 1 MiB the allocator handed every freed window back
# to the kernel and faulted the next one in again, 0.28 s of system time on a 538 MB capture (0.05 s
# at 64 KiB); the whole run went from 0.77 to 0.56 s on the 20 % tagged bulk pcapng and from 0.68 to
# 0.67 s on the handshake capture (min of 4, interleaved).
CHUNK = 1 << 16
# What a timestamp may be: nanoseconds in a signed 64-bit integer (1677 to 2262), as Arrow and
# Parquet store them.  pcap cannot leave that range; a pcapng if_tsresol or if_tsoffset can.
TS_MIN, TS_MAX = -(1 << 63), (1 << 63) - 1

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D
GZIP_MAGIC = b"\x1f\x8b"

_PCAP_HDR = {"<": struct.Struct("<IHHiIII"), ">": struct.Struct(">IHHiIII")}
_BLOCK_HDR = {"<": struct.Struct("<II"), ">": struct.Struct(">II")}
_EPB = {"<": struct.Struct("<IIIII"), ">": struct.Struct(">IIIII")}
_SPB = {"<": struct.Struct("<I"), ">": struct.Struct(">I")}
_IDB = {"<": struct.Struct("<HHI"), ">": struct.Struct(">HHI")}
_OPT = {"<": struct.Struct("<HH"), ">": struct.Struct(">HH")}
_OPB = {"<": struct.Struct("<HHIIII"), ">": struct.Struct(">HHIIII")}
_I64 = {"<": struct.Struct("<q"), ">": struct.Struct(">q")}
_U32LE = struct.Struct("<I")
_IDB_MIN = PCAPNG_BLOCK_HEADER + 8  # link type, reserved, snap length
_PACKET_BLOCKS = (6, 2, 3)  # enhanced, obsolete and simple packet blocks


# One per packet: slotted but not frozen (a frozen dataclass's __init__ sets each field through
# object.__setattr__, several times the cost). Treated as read-only all the same.
@dataclass(slots=True)
class Frame:
    """One captured record. ``ts_ns`` is nanoseconds since the epoch."""

    index: int  # 1-based, like Wireshark's frame.number
    ts_ns: int
    linktype: int
    caplen: int
    wirelen: int
    data: bytes
    interface: int = 0


@dataclass
class CaptureInfo:
    format: str = "unknown"
    compressed: bool = False
    nanosecond: bool = False
    byte_order: str = "<"
    link_types: set[int] = field(default_factory=set)
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Interface:
    linktype: int
    # pcapng timestamps are in units of 1/ts_div seconds; we convert to ns.
    ts_mul: int = 1000
    ts_div: int = 1
    ts_offset_ns: int = 0  # if_tsoffset: seconds added to every timestamp of this interface


@dataclass
class PcapngSection:
    byte_order: str = "<"
    interfaces: list[_Interface] = field(default_factory=list)
    packets: int = 0  # packet blocks read so far, in every section


class CaptureReader:
    """Iterate frames of an open binary stream.

    >>> with open("out.pcap", "rb") as fh:
    ...     reader = CaptureReader(fh, name="out.pcap")
    ...     for frame in reader: ...
    """

    def __init__(self, stream: BinaryIO, name: str = "<stream>", chunk_size: int = CHUNK) -> None:
        self.name = name
        self.info = CaptureInfo()
        self.bytes_read = 0
        # Copies of an empty record right behind it, skipped (see empty_run).
        self.empty_records = 0
        self._open_run: tuple[bytes, int] | None = None  # an empty record run that reached a window's end
        self._chunk_size = chunk_size
        head = _read_exact(stream, 4)
        if head[:2] == GZIP_MAGIC:
            gunzip = _Gunzip(stream, head, name)
            self.info.compressed = True
            head = gunzip.read(4)
            if gunzip.error is not None and len(head) < 4:
                raise CaptureFormatError(f"{name}: gzip stream is corrupt ({gunzip.error})")
            self._stream: BinaryIO | _Gunzip = gunzip
        else:
            self._stream = stream
        self._buf = bytearray(head)
        self._pos = 0
        self._eof = False
        if len(head) < 4:
            raise CaptureFormatError(f"{name}: empty or too short to be a capture ({len(head)} bytes)")
        magic_le = struct.unpack("<I", head)[0]
        magic_be = struct.unpack(">I", head)[0]
        if magic_le == PCAPNG_SHB:
            self.info.format = "pcapng"
        elif magic_le in (PCAP_MAGIC_US, PCAP_MAGIC_NS) or magic_be in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
            self.info.format = "pcap"
            self.info.byte_order = "<" if magic_le in (PCAP_MAGIC_US, PCAP_MAGIC_NS) else ">"
            self.info.nanosecond = PCAP_MAGIC_NS in (magic_le, magic_be)
        else:
            raise CaptureFormatError(
                f"{name}: not a pcap or pcapng capture (starts with {bytes(head).hex()}; "
                "expected a1b2c3d4, a1b23c4d or 0a0d0d0a)"
            )
        self._pcap_linktype: int | None = None
        self._ng = PcapngSection()
        self._clamped = False
        self._in_file_header = True  # a fault now means "not a capture", afterwards "a cut capture"
        if self.info.format == "pcapng":
            self._pcapng_file_header()
            self._frames: Iterator[Frame] = self._pcapng()
        else:
            self._pcap_file_header()
            self._frames = self._pcap()
        self._in_file_header = False
        self.walk = ChunkWalk(self._chunks())
        # Read up to the first record now, so that what is wrong there is known at open time.
        self._first: Frame | None = None
        self._first_done = False
        self._exhausted = False  # the constructor's read reached the end (and said what was wrong there)
        try:
            self._first = next(self._frames)
        except StopIteration:
            self._first_done = True
            self._exhausted = True

    # -- buffering -------------------------------------------------------------------------

    def _fill(self, need: int) -> bool:
        """Ensure ``need`` bytes are available at ``_pos`` (the file header); False at end of file."""
        while len(self._buf) - self._pos < need:
            if self._eof:
                return False
            chunk = self._stream.read(max(self._chunk_size, need))
            if not chunk:
                self._stream_ended()
                return len(self._buf) - self._pos >= need
            self.bytes_read += len(chunk)
            self._buf += chunk
        return True

    def _chunks(self) -> Iterator[bytes]:
        """What follows the file header: the bytes read with it, then the rest in large chunks."""
        if self._pos < len(self._buf):
            yield bytes(self._buf[self._pos :])
        self._buf = bytearray()
        self._pos = 0
        while not self._eof:
            chunk = self._stream.read(self._chunk_size)
            if not chunk:
                self._stream_ended()
                return
            self.bytes_read += len(chunk)
            yield bytes(chunk)

    def _stream_ended(self) -> None:
        self._eof = True
        stream = self._stream
        if isinstance(stream, _Gunzip) and (stream.cut or stream.error):
            # Everything decompressed before the cut or the corruption has been read already.
            self.info.truncated = True
            self.info.warnings.append(
                f"{self.name}: compressed stream "
                + (f"is corrupt ({stream.error})" if stream.error else "ends early")
                + "; every whole record before that point was read"
            )

    def _not_a_capture(self, why: str) -> CaptureFormatError:
        stream = self._stream
        if isinstance(stream, _Gunzip) and stream.error:
            why += f" (the gzip stream is corrupt: {stream.error})"
        return CaptureFormatError(f"{self.name}: {why}")

    def _warn_cut(self, left: int, what: str) -> None:
        if left:
            self.info.truncated = True
            self.info.warnings.append(
                f"{self.name}: capture ends in the middle of {what} ({left} trailing bytes ignored); "
                "every whole record before it was read"
            )

    def _warn_corrupt(self, index: int, caplen: int) -> None:
        self.info.truncated = True
        self.info.warnings.append(
            f"{self.name}: record {index + 1} claims {caplen} bytes; the rest of the file is corrupt and was skipped"
        )

    def _warn_empty(self) -> None:
        if self.empty_records:
            self.info.warnings.append(
                f"{self.name}: {self.empty_records} empty records skipped (identical copies of a record "
                "that carries no captured bytes, each right behind the other)"
            )

    def empty_run(self, buf: bytes, pos: int, end: int, size: int) -> tuple[bool, int]:
        """A record of ``size`` bytes carrying no packet bytes at ``pos``: whether it is to be read
        as a packet, and how many records, it included, the run of its identical copies holds
        from ``pos`` to ``end``.

        The first of such a run is an ordinary (empty) packet, as every reader shows it; the
        copies right behind it are skipped and counted for one warning.  A decompression bomb is
        nothing but such copies, and each would otherwise cost a turn of the packet loop.  A run
        that reaches the end of a window may go on at the start of the next one: that part is
        skipped too, so the result does not depend on where the chunks were cut.
        """
        run = identical_run(buf, pos, end, size)
        record = buf[pos : pos + size]
        turns = self.walk.turns
        continued = pos == 0 and self._open_run == (record, turns - 1)
        self._open_run = (record, turns) if end - pos - run * size < size else None
        self.empty_records += run if continued else run - 1
        return not continued, run

    # -- pcap ------------------------------------------------------------------------------

    def _pcap_file_header(self) -> None:
        if not self._fill(PCAP_FILE_HEADER):
            raise self._not_a_capture("pcap file header is cut short")
        bo = self.info.byte_order
        _magic, major, _minor, _tz, _sigfigs, _snaplen, network = _PCAP_HDR[bo].unpack_from(self._buf, self._pos)
        self._pos += PCAP_FILE_HEADER
        if major != 2:
            raise CaptureFormatError(f"{self.name}: unsupported pcap version {major}")
        # The upper bits of the link-type field carry FCS length flags; the link type is the low 16 bits.
        linktype = network & 0xFFFF
        self.info.link_types.add(linktype)
        self._pcap_linktype = linktype

    def _pcap(self) -> Iterator[Frame]:
        linktype = self._pcap_linktype
        assert linktype is not None
        unpack = pcap_record_struct(self.info.byte_order).unpack_from
        mul = 1 if self.info.nanosecond else 1000
        index = 0
        walk = self.walk
        corrupt: int | None = None
        while True:  # the window as the walk stands, then each further one
            buf = walk.buf
            pos = walk.pos
            n = len(buf)
            while pos + PCAP_RECORD_HEADER <= n:
                sec, frac, caplen, wirelen = unpack(buf, pos)
                if caplen > MAX_RECORD:
                    corrupt = caplen
                    break
                start = pos + PCAP_RECORD_HEADER
                end = start + caplen
                if end > n:
                    break
                index += 1
                if caplen:
                    frame = Frame(index, sec * 1_000_000_000 + frac * mul, linktype, caplen, wirelen, buf[start:end])
                else:  # no packet bytes: it, and any identical copies behind it (empty_run)
                    as_packet, run = self.empty_run(buf, pos, n, PCAP_RECORD_HEADER)
                    end = pos + run * PCAP_RECORD_HEADER
                    frame = Frame(index, sec * 1_000_000_000 + frac * mul, linktype, 0, wirelen, b"")
                    index += run - 1
                    if not as_packet:
                        pos = end
                        continue
                pos = walk.pos = end  # the fast path continues from here after the first record
                yield frame
            walk.pos = pos
            if corrupt is not None or not walk.more():
                break
        self.record_tail(0 if corrupt is not None else walk.leftover, index, corrupt)
        walk.close()

    # -- pcapng ----------------------------------------------------------------------------

    def _pcapng_file_header(self) -> None:
        """The first section header block, which must be whole: without it there is no capture."""
        if not self._fill(PCAPNG_BLOCK_HEADER):
            raise self._not_a_capture("pcapng section header is cut short")
        head = self.pcapng_block_header(self._buf, self._pos)
        assert head is not None  # in the file header, every fault raises
        _shb, blen = head
        if not self._fill(blen):
            raise self._not_a_capture(f"pcapng section header is cut short ({blen} bytes announced)")
        self._pos += blen

    def _pcapng(self) -> Iterator[Frame]:
        walk = self.walk
        stopped = False
        while True:  # the window as the walk stands, then each further one
            buf = walk.buf
            pos = walk.pos
            n = len(buf)
            while pos + PCAPNG_BLOCK_HEADER <= n:
                head = self.pcapng_block_header(buf, pos)
                if head is None:
                    stopped = True
                    break
                btype, blen = head
                if pos + blen > n:
                    break
                frame, pos = self.pcapng_step(btype, blen, buf, pos, n)
                if frame is not None:
                    walk.pos = pos  # the fast path continues from here after the first packet
                    yield frame
            walk.pos = pos
            if stopped or not walk.more():
                break
        if stopped:
            self.pcapng_stopped()
        else:
            self.pcapng_tail(walk.leftover)
        walk.close()

    # The pcapng block steps, shared by the iterator above and the analyzer's raw walk, so that a
    # block means the same thing, and earns the same warning, whichever of the two reads it.

    @property
    def pcapng_section(self) -> PcapngSection:
        """Byte order, interfaces and packet count of the pcapng section being read."""
        return self._ng

    def pcapng_block_header(self, buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
        """Type and length of the block at ``pos`` (12 bytes must be there); a section header
        switches the byte order.  None when the block cannot be read (an invalid length, a section
        header with a bad byte-order mark, an interface block too short to be one): the rest is
        skipped, with a warning, like a cut capture; in the file's first header, an error."""
        ng = self._ng
        btype_le = _U32LE.unpack_from(buf, pos)[0]
        if btype_le == PCAPNG_SHB:
            # Each section header carries its own byte order mark.
            bom = bytes(buf[pos + 8 : pos + 12])
            if bom == b"\x4d\x3c\x2b\x1a":
                byte_order = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                byte_order = ">"
            else:
                return self._unreadable_block("pcapng section header", "has a bad byte-order magic")
            blen = _BLOCK_HDR[byte_order].unpack_from(buf, pos)[1]
            if blen < PCAPNG_BLOCK_HEADER or blen % 4 or blen > MAX_RECORD:
                return self._unreadable_block("pcapng section header", f"has an invalid length {blen}")
            ng.byte_order = byte_order
            ng.interfaces = []
            return btype_le, blen
        btype, blen = _BLOCK_HDR[ng.byte_order].unpack_from(buf, pos)
        if blen < PCAPNG_BLOCK_HEADER or blen % 4 or blen > MAX_RECORD:
            return self._unreadable_block("block", f"has an invalid length {blen}")
        if btype == 1 and blen < _IDB_MIN:
            return self._unreadable_block("interface description block", f"is too short to be one ({blen} bytes)")
        return btype, blen

    def _unreadable_block(self, subject: str, fault: str) -> tuple[int, int] | None:
        if self._in_file_header:
            raise self._not_a_capture(f"{subject} {fault}")
        self.info.truncated = True
        self.info.warnings.append(
            f"{self.name}: {subject} after record {self._ng.packets} {fault}; the rest was skipped"
        )
        return None

    def pcapng_step(self, btype: int, blen: int, buf: bytes, pos: int, end: int) -> tuple[Frame | None, int]:
        """Read the whole block at ``pos`` (:meth:`pcapng_block`) and return what it gave and where
        the next block starts; the identical copies right behind a packet block with no captured
        bytes are skipped (:meth:`empty_run`)."""
        frame = self.pcapng_block(btype, blen, buf, pos)
        if frame is not None and not frame.caplen:
            as_packet, run = self.empty_run(buf, pos, end, blen)
            self._ng.packets += run - 1  # the frame numbers of the packets behind them stay Wireshark's
            return (frame if as_packet else None), pos + run * blen
        return frame, pos + blen

    def pcapng_block(self, btype: int, blen: int, buf: bytes | bytearray, pos: int) -> Frame | None:
        """Read one whole block at ``pos``: an interface is recorded, a packet becomes a Frame."""
        ng = self._ng
        body = memoryview(buf)[pos + 8 : pos + blen - 4]
        frame: Frame | None = None
        try:
            if btype == 1:  # Interface Description Block, at least _IDB_MIN bytes (pcapng_block_header)
                linktype, _res, _snap = _IDB[ng.byte_order].unpack_from(body, 0)
                iface = _Interface(linktype)
                if not _apply_options(iface, body[8:], ng.byte_order):
                    self.info.warnings.append(
                        f"{self.name}: interface {len(ng.interfaces)} has an option cut short; defaults assumed"
                    )
                ng.interfaces.append(iface)
                self.info.link_types.add(linktype)
            elif btype in _PACKET_BLOCKS:
                frame = self._pcapng_packet(btype, body, ng.interfaces, ng.byte_order, ng.packets + 1)
        finally:
            body.release()
        if frame is not None:
            ng.packets += 1
        return frame

    def clamp_timestamp(self, ts_ns: int, index: int) -> int:
        """A pcapng timestamp beyond 1677..2262 (a corrupt if_tsresol or if_tsoffset, or garbage
        ticks), brought to the nearest end of that range; the first one is reported."""
        if not self._clamped:
            self._clamped = True
            self.info.warnings.append(
                f"{self.name}: packet {index} has a timestamp outside the years 1677 to 2262 "
                "(a 64-bit nanosecond clock); it and any others like it were clamped to that range"
            )
        return min(max(ts_ns, TS_MIN), TS_MAX)

    def pcapng_tail(self, leftover: int) -> None:
        """Report what a walk left at the end of the data, and the empty records skipped."""
        if self._exhausted:
            return
        self._warn_cut(leftover, "a block header" if leftover < PCAPNG_BLOCK_HEADER else "a block")
        self._warn_empty()

    def pcapng_stopped(self) -> None:
        """A walk stopped at a block :meth:`pcapng_block_header` refused (and reported)."""
        if not self._exhausted:
            self._warn_empty()

    def _pcapng_packet(
        self, btype: int, body: memoryview, interfaces: list[_Interface], bo: str, index: int
    ) -> Frame | None:
        if len(body) < (4 if btype == 3 else 20):
            self.info.warnings.append(f"{self.name}: packet block {index} is shorter than its header; skipped")
            return None
        if btype == 6:  # Enhanced Packet Block
            if_id, ts_hi, ts_lo, caplen, wirelen = _EPB[bo].unpack_from(body, 0)
            off = 20
        elif btype == 2:  # obsolete Packet Block
            if_id, _drops, ts_hi, ts_lo, caplen, wirelen = _OPB[bo].unpack_from(body, 0)
            off = 20
        else:  # Simple Packet Block: no timestamp, interface 0
            (wirelen,) = _SPB[bo].unpack_from(body, 0)
            if_id, ts_hi, ts_lo, off = 0, 0, 0, 4
            caplen = min(wirelen, len(body) - 4)
        if if_id >= len(interfaces):
            self.info.warnings.append(f"{self.name}: packet {index} names undefined interface {if_id}; skipped")
            return None
        if off + caplen > len(body):
            self.info.warnings.append(f"{self.name}: packet {index} is longer than its block; skipped")
            return None
        iface = interfaces[if_id]
        ticks = (ts_hi << 32) | ts_lo
        ts_ns = ticks * iface.ts_mul // iface.ts_div + iface.ts_offset_ns
        if not TS_MIN <= ts_ns <= TS_MAX:
            ts_ns = self.clamp_timestamp(ts_ns, index)
        return Frame(index, ts_ns, iface.linktype, caplen, wirelen, bytes(body[off : off + caplen]), if_id)

    @property
    def file_bytes_read(self) -> int:
        """Bytes taken from the file so far, what progress against the file size is measured in:
        compressed bytes for a gzip'd capture (``bytes_read`` counts decompressed ones)."""
        if isinstance(self._stream, _Gunzip):
            return self._stream.raw_read
        return self.bytes_read + 4  # the magic number, read before any chunk

    # -- for the analyzer's fast path, which continues the walk after the first record -----------

    @property
    def pcap_linktype(self) -> int | None:
        """The single link type of a pcap file (None for pcapng, which can mix them)."""
        return self._pcap_linktype

    def take_first(self) -> Frame | None:
        """The first record, which the constructor read to validate the file; call before
        walking on from ``walk.pos``."""
        self._first_done = True
        first, self._first = self._first, None
        return first

    def record_tail(self, leftover: int, index: int, corrupt_caplen: int | None = None) -> None:
        """Report what a pcap walk left at the end (a cut record, or a corrupt length) and the
        empty records it skipped."""
        if self._exhausted:
            return  # a file with no whole record: the constructor's read already said all of it
        if corrupt_caplen is not None:
            self._warn_corrupt(index, corrupt_caplen)
        else:
            self._warn_cut(leftover, "a record header" if leftover < PCAP_RECORD_HEADER else "a record")
        self._warn_empty()

    # -- iteration -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Frame]:
        if not self._first_done:
            self._first_done = True
            if self._first is not None:
                yield self._first
                self._first = None
        yield from self._frames


def _apply_options(iface: _Interface, opts: memoryview, bo: str) -> bool:
    """Read if_tsresol (option 9, default microseconds) and if_tsoffset (option 14, seconds).

    Returns False when an option runs past the block (the defaults are kept).
    """
    pos = 0
    opt = _OPT[bo]
    while pos + 4 <= len(opts):
        code, length = opt.unpack_from(opts, pos)
        if code == 0:
            break
        if pos + 4 + length > len(opts):
            return False
        if code == 14 and length == 8:
            iface.ts_offset_ns = _I64[bo].unpack_from(opts, pos + 4)[0] * 1_000_000_000
        if code == 9 and length >= 1:
            v = opts[pos + 4]
            if v & 0x80:  # power of two
                iface.ts_mul, iface.ts_div = 1_000_000_000, 1 << (v & 0x7F)
            else:
                exp = v & 0x7F
                if exp <= 9:
                    iface.ts_mul, iface.ts_div = 10 ** (9 - exp), 1
                else:
                    iface.ts_mul, iface.ts_div = 1, 10 ** (exp - 9)
        pos += 4 + ((length + 3) & ~3)
    return True


class _Gunzip:
    """Streaming gzip decompression that keeps every byte decoded before a cut or a corrupt block.

    ``gzip.GzipFile.read(n)`` raises on a truncated stream and drops what it had decompressed
    for that call; here the caller gets all of it, then ``cut`` or ``error`` says why it ended.
    Concatenated gzip members (``cat a.gz b.gz``) are read one after the other.
    """

    RAW_CHUNK = 1 << 16
    SLICE = 1 << 12

    def __init__(self, raw: BinaryIO, prefix: bytes, name: str) -> None:
        self._raw = raw
        self._pending = prefix
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._started = False  # any compressed byte fed to the current member
        self._out = bytearray()
        self._done = False
        self.cut = False
        self.error: str | None = None
        self.raw_read = len(prefix)  # compressed bytes taken from the file

    def _pump(self) -> None:
        if self._pending:
            chunk, self._pending = self._pending, b""
        else:
            chunk = self._raw.read(self.RAW_CHUNK)
            self.raw_read += len(chunk)
        if not chunk:
            self._done = True
            self.cut = self._started and not self._inflate.eof
            return
        # Small slices, so that a corrupt block loses at most the slice it sits in; that slice is
        # then replayed byte by byte from a copy of the decompressor to keep every good byte.
        for start in range(0, len(chunk), self.SLICE):
            piece = chunk[start : start + self.SLICE]
            saved = self._inflate.copy()
            try:
                self._out += self._inflate.decompress(piece)
                self._started = True
            except zlib.error as exc:
                self._salvage(saved, piece)
                self._done = True
                self.error = str(exc)
                return
            if self._inflate.eof:
                self._pending = self._inflate.unused_data + chunk[start + self.SLICE :]
                break
        if self._inflate.eof:
            rest, self._pending = self._pending, b""
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self._started = False
            if rest.strip(b"\0"):
                self._pending = rest

    def _salvage(self, inflate: zlib._Decompress, piece: bytes) -> None:
        for i in range(len(piece)):
            try:
                self._out += inflate.decompress(piece[i : i + 1])
            except zlib.error:
                return

    def read(self, n: int) -> bytes:
        while len(self._out) < n and not self._done:
            self._pump()
        out = bytes(self._out[:n])
        del self._out[:n]
        return out


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out
