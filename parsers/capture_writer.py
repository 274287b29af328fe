"""Writing pcap and pcapng captures: the counterpart of :class:`parsers.capture.CaptureReader`.

``CaptureWriter`` wraps dpkt's ``pcap.Writer`` / ``pcapng.Writer``: dpkt writes the file header
(pcap) or the Section Header and the one Interface Description Block (pcapng, with ``if_tsresol``
for nanoseconds), in the host's byte order like libpcap.  The packet records are packed here with
precompiled structs in the same byte order, because dpkt's record API takes float seconds (at
today's epoch a double steps in 2**-22 s, about 238 ns, so nanoseconds would be lost and a
microsecond can round up to a whole second) and cannot state an original length larger than the
stored bytes, which a capture with a snap length needs.

Each record goes to the file in a single ``write`` call and ``flush`` hands everything written to
the operating system, so a capture killed between two flushes is a capture cut after its last
whole record (plus perhaps part of one): exactly what ``CaptureReader`` reads with a warning.
"""

from __future__ import annotations

import os
import struct
import sys
from types import TracebackType
from typing import BinaryIO, Final, Literal

from dpkt import pcap, pcapng

CaptureFormat = Literal["pcap", "pcapng"]

# libpcap and dpkt write in the host's byte order; every record follows the header's.
_BO: Final = "<" if sys.byteorder == "little" else ">"
_PCAP_RECORD: Final = struct.Struct(_BO + "IIII")  # ts_sec, ts_frac, caplen, wirelen
_EPB_HEAD: Final = struct.Struct(_BO + "IIIIIII")  # type, length, iface, ts_high, ts_low, caplen, wirelen
_EPB_TAIL: Final = struct.Struct(_BO + "I")  # the block length again
_EPB_TYPE: Final = 6
_EPB_OVERHEAD: Final = _EPB_HEAD.size + _EPB_TAIL.size
_PADDING: Final = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")  # indexed by length % 4

_SHB_USERAPPL: Final = 4
_IF_NAME: Final = 2
_IF_TSRESOL: Final = 9
_U32: Final = 1 << 32
_U64: Final = 1 << 64

DEFAULT_SNAPLEN: Final = 262144  # tcpdump's default since 4.0
APPLICATION: Final = b"egress-analyzer"


class CaptureWriter:
    """A pcap or pcapng capture with one link type and one interface, written packet by packet.

    ``out`` is a path (opened, and closed by :meth:`close`) or a binary stream (flushed by
    :meth:`close` and left open: it belongs to the caller).  ``nanosecond`` selects the
    nanosecond pcap magic / ``if_tsresol=9``; otherwise timestamps are stored in microseconds,
    rounded down as a microsecond clock would have read them.
    """

    __slots__ = ("_divisor", "_fh", "_format", "_owned", "_ticks_limit", "packets", "snaplen")

    def __init__(
        self,
        out: BinaryIO | str | os.PathLike[str],
        *,
        format: CaptureFormat = "pcap",
        linktype: int = 1,
        nanosecond: bool = False,
        snaplen: int = DEFAULT_SNAPLEN,
        interface_name: str | None = None,
    ) -> None:
        if format not in ("pcap", "pcapng"):
            raise ValueError(f"unknown capture format {format!r} (expected 'pcap' or 'pcapng')")
        if not 0 <= linktype < 1 << 16 or not 0 < snaplen < _U32:
            raise ValueError(f"link type {linktype} or snap length {snaplen} out of range")
        self._format: CaptureFormat = format
        self._divisor = 1 if nanosecond else 1000
        # pcap stores seconds in 32 bits; pcapng stores 64-bit ticks
        self._ticks_limit = _U32 * 10**9 // self._divisor if format == "pcap" else _U64
        self.snaplen = snaplen
        self.packets = 0
        self._owned = isinstance(out, (str, os.PathLike))
        fh: BinaryIO = open(out, "wb") if isinstance(out, (str, os.PathLike)) else out  # noqa: SIM115
        self._fh: BinaryIO | None = fh
        try:
            if format == "pcap":
                pcap.Writer(fh, snaplen=snaplen, linktype=linktype, nano=nanosecond)
            else:
                pcapng.Writer(fh, shb=_section_header(), idb=_interface(linktype, snaplen, nanosecond, interface_name))
        except BaseException:
            self.close()
            raise

    @property
    def format(self) -> CaptureFormat:
        return self._format

    @property
    def closed(self) -> bool:
        return self._fh is None

    def write(self, ts_ns: int, data: bytes, wirelen: int | None = None) -> None:
        """Append one packet captured at ``ts_ns`` (integer ns since the epoch).  ``wirelen`` is
        its length on the wire when ``data`` was cut by a snap length (default: ``len(data)``)."""
        fh = self._fh
        if fh is None:
            raise ValueError("write to a closed CaptureWriter")
        caplen = len(data)
        if wirelen is None:
            wirelen = caplen
        if caplen > self.snaplen or not caplen <= wirelen < _U32:
            raise ValueError(f"packet of {caplen} bytes ({wirelen} on the wire) with a snap length of {self.snaplen}")
        ticks = ts_ns // self._divisor
        if not 0 <= ticks < self._ticks_limit:
            raise ValueError(f"timestamp {ts_ns} ns cannot be stored in {self._format}")
        if self._format == "pcap":
            sec, frac = divmod(ticks, 10**9 // self._divisor)
            fh.write(_PCAP_RECORD.pack(sec, frac, caplen, wirelen) + data)
        else:
            pad = _PADDING[caplen & 3]
            blen = _EPB_OVERHEAD + caplen + len(pad)
            head = _EPB_HEAD.pack(_EPB_TYPE, blen, 0, ticks >> 32, ticks & 0xFFFFFFFF, caplen, wirelen)
            fh.write(b"".join((head, data, pad, _EPB_TAIL.pack(blen))))
        self.packets += 1

    def flush(self, *, sync: bool = False) -> None:
        """Hand what was written to the operating system (enough for a killed process);
        ``sync`` also asks it to put the file on disk (for a machine that loses power)."""
        fh = self._fh
        if fh is None:
            return
        fh.flush()
        if sync:
            os.fsync(fh.fileno())

    def close(self) -> None:
        """Flush, and close the file if this writer opened it.  Closing twice is harmless."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            # a caller's stream may be closed already, or be a bare sink without ``closed``
            if not getattr(fh, "closed", False):
                fh.flush()
        finally:
            if self._owned:
                fh.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _option(code: int, value: bytes) -> pcapng.PcapngOption:
    cls = pcapng.PcapngOptionLE if _BO == "<" else pcapng.PcapngOption
    return cls(code=code, data=value)


def _section_header() -> pcapng.SectionHeaderBlock:
    cls = pcapng.SectionHeaderBlockLE if _BO == "<" else pcapng.SectionHeaderBlock
    return cls(opts=[_option(_SHB_USERAPPL, APPLICATION), _option(0, b"")])


def _interface(linktype: int, snaplen: int, nanosecond: bool, name: str | None) -> pcapng.InterfaceDescriptionBlock:
    opts = [] if name is None else [_option(_IF_NAME, name.encode())]
    if nanosecond:
        opts.append(_option(_IF_TSRESOL, b"\x09"))  # 10**-9 s; without it readers assume 10**-6
    cls = pcapng.InterfaceDescriptionBlockLE if _BO == "<" else pcapng.InterfaceDescriptionBlock
    return cls(linktype=linktype, snaplen=snaplen, opts=[*opts, _option(0, b"")] if opts else [])
