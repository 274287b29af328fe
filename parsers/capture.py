"""Capture-file reader: pcap (both byte orders, µs and ns), pcapng, optionally gzip'd.

This is the one module in ``parsers`` that touches files.  It streams: records are
sliced out of large read chunks, so memory is bounded by the chunk size plus the
largest record, never by the capture size.  A file cut mid-record (tcpdump killed)
yields every whole record and then sets :attr:`CaptureReader.truncated`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from parsers.errors import CaptureFormatError

CHUNK = 1 << 20
# What a timestamp may be: nanoseconds in a signed 64-bit integer (1677 to 2262), as Arrow and
# Parquet store them.  pcap cannot leave that range; a pcapng if_tsresol or if_tsoffset can.
TS_MIN, TS_MAX = -(1 << 63), (1 << 63) - 1
# A record bigger than this is corruption, not a packet (tcpdump's own MAXIMUM_SNAPLEN is 262144).
MAX_RECORD = 1 << 24

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D
GZIP_MAGIC = b"\x1f\x8b"

_PCAP_HDR = {"<": struct.Struct("<IHHiIII"), ">": struct.Struct(">IHHiIII")}
_PCAP_REC = {"<": struct.Struct("<IIII"), ">": struct.Struct(">IIII")}
_BLOCK_HDR = {"<": struct.Struct("<II"), ">": struct.Struct(">II")}
_EPB = {"<": struct.Struct("<IIIII"), ">": struct.Struct(">IIIII")}
_SPB = {"<": struct.Struct("<I"), ">": struct.Struct(">I")}
_IDB = {"<": struct.Struct("<HHI"), ">": struct.Struct(">HHI")}
_OPT = {"<": struct.Struct("<HH"), ">": struct.Struct(">HH")}
_OPB = {"<": struct.Struct("<HHIIII"), ">": struct.Struct(">HHIIII")}
_I64 = {"<": struct.Struct("<q"), ">": struct.Struct(">q")}
_U32LE = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
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
        self._frames: Iterator[Frame] = self._pcapng() if self.info.format == "pcapng" else self._pcap()
        # Read the file header now so a corrupt header is an error at open time, not mid-iteration.
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
        """Ensure ``need`` bytes are available at ``_pos``; False at end of file."""
        while len(self._buf) - self._pos < need:
            if self._eof:
                return False
            if self._pos:
                del self._buf[: self._pos]
                self._pos = 0
            chunk = self._stream.read(max(self._chunk_size, need))
            if not chunk:
                self._stream_ended()
                return len(self._buf) - self._pos >= need
            self.bytes_read += len(chunk)
            self._buf += chunk
        return True

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

    def _take(self, n: int) -> bytes:
        out = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return out

    def _cut(self, what: str) -> None:
        self._warn_cut(len(self._buf) - self._pos, what)

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

    # -- pcap ------------------------------------------------------------------------------

    def _pcap(self) -> Iterator[Frame]:
        if not self._fill(24):
            raise CaptureFormatError(f"{self.name}: pcap file header is cut short")
        bo = self.info.byte_order
        _magic, major, _minor, _tz, _sigfigs, _snaplen, network = _PCAP_HDR[bo].unpack_from(self._buf, self._pos)
        self._pos += 24
        if major != 2:
            raise CaptureFormatError(f"{self.name}: unsupported pcap version {major}")
        # The upper bits of the link-type field carry FCS length flags; the link type is the low 16 bits.
        linktype = network & 0xFFFF
        self.info.link_types.add(linktype)
        self._pcap_linktype = linktype
        rec = _PCAP_REC[bo]
        mul = 1 if self.info.nanosecond else 1000
        index = 0
        while True:
            if not self._fill(16):
                self._cut("a record header")
                return
            sec, frac, caplen, wirelen = rec.unpack_from(self._buf, self._pos)
            if caplen > MAX_RECORD:
                self._warn_corrupt(index, caplen)
                return
            if not self._fill(16 + caplen):
                self._cut("a record")
                return
            start = self._pos + 16
            data = bytes(self._buf[start : start + caplen])
            self._pos = start + caplen
            index += 1
            yield Frame(index, sec * 1_000_000_000 + frac * mul, linktype, caplen, wirelen, data)

    # -- pcapng ----------------------------------------------------------------------------

    def _pcapng(self) -> Iterator[Frame]:
        while True:
            if not self._fill(12):
                self._cut("a block header")
                return
            head = self.pcapng_block_header(self._buf, self._pos)
            if head is None:
                return
            btype, blen = head
            if not self._fill(blen):
                self._cut("a block")
                return
            frame = self.pcapng_block(btype, blen, self._buf, self._pos)
            self._pos += blen
            if frame is not None:
                yield frame

    # The pcapng block steps, shared by the iterator above and the analyzer's raw walk, so that a
    # block means the same thing, and earns the same warning, whichever of the two reads it.

    @property
    def pcapng_section(self) -> PcapngSection:
        """Byte order, interfaces and packet count of the pcapng section being read."""
        return self._ng

    def pcapng_block_header(self, buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
        """Type and length of the block at ``pos`` (12 bytes must be there); a section header
        switches the byte order.  None when the length is invalid: the rest is skipped, with a warning."""
        ng = self._ng
        btype_le = _U32LE.unpack_from(buf, pos)[0]
        if btype_le == PCAPNG_SHB:
            # Each section header carries its own byte order mark.
            bom = bytes(buf[pos + 8 : pos + 12])
            if bom == b"\x4d\x3c\x2b\x1a":
                ng.byte_order = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                ng.byte_order = ">"
            else:
                raise CaptureFormatError(f"{self.name}: pcapng section header has a bad byte-order magic")
            ng.interfaces = []
        btype, blen = _BLOCK_HDR[ng.byte_order].unpack_from(buf, pos)
        if blen < 12 or blen % 4 or blen > MAX_RECORD:
            if ng.packets == 0 and btype == PCAPNG_SHB:
                raise CaptureFormatError(f"{self.name}: pcapng section header has an invalid length {blen}")
            self.info.truncated = True
            self.info.warnings.append(
                f"{self.name}: block after record {ng.packets} has an invalid length {blen}; the rest was skipped"
            )
            return None
        return btype, blen

    def pcapng_block(self, btype: int, blen: int, buf: bytes | bytearray, pos: int) -> Frame | None:
        """Read one whole block at ``pos``: an interface is recorded, a packet becomes a Frame."""
        ng = self._ng
        body = memoryview(buf)[pos + 8 : pos + blen - 4]
        frame: Frame | None = None
        try:
            if btype == 1:  # Interface Description Block
                if len(body) < 8:
                    raise CaptureFormatError(f"{self.name}: interface description block of {blen} bytes")
                linktype, _res, _snap = _IDB[ng.byte_order].unpack_from(body, 0)
                iface = _Interface(linktype)
                if not _apply_options(iface, body[8:], ng.byte_order):
                    self.info.warnings.append(
                        f"{self.name}: interface {len(ng.interfaces)} has an option cut short; defaults assumed"
                    )
                ng.interfaces.append(iface)
                self.info.link_types.add(linktype)
            elif btype in (6, 2, 3):
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
        """Report what a raw walk left at the end, in the iterator's words."""
        if self._exhausted:
            return
        self._warn_cut(leftover, "a block header" if leftover < 12 else "a block")

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

    # -- raw access for the analyzer's fast path ----------------------------------------------

    @property
    def pcap_linktype(self) -> int | None:
        """The single link type of a pcap file (None for pcapng, which can mix them)."""
        return self._pcap_linktype

    def take_first(self) -> Frame | None:
        """The first record, which the constructor read to validate the file; call before raw_chunks()."""
        self._first_done = True
        first, self._first = self._first, None
        return first

    def raw_chunks(self) -> Iterator[bytes]:
        """The rest of a pcap file as large byte chunks, records cut anywhere; call record_tail() at the end."""
        if self._exhausted:
            return  # a file with no whole record: already read, and its warning already given
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

    def record_tail(self, leftover: int, index: int, corrupt_caplen: int | None = None) -> None:
        """Report what a raw walk left at the end: a cut record, or a corrupt length."""
        if self._exhausted:
            return
        if corrupt_caplen is not None:
            self._warn_corrupt(index, corrupt_caplen)
        else:  # the same words as the record-by-record reader for the same bytes
            self._warn_cut(leftover, "a record header" if leftover < 16 else "a record")

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
