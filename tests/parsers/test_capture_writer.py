"""parsers.capture_writer.CaptureWriter: what it writes, our reader, scapy, dpkt and tshark read back the same."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import dpkt
import pytest

from parsers.capture import CaptureReader
from parsers.capture_writer import CaptureWriter
from tests.support.oracles import HAVE_TSHARK, WTAP_ENCAP, Packet, ours, scapy_frames, tshark_frames

T0 = 1_718_000_000_000_000_000
# (ts_ns, data, wirelen): every length modulo 4 (pcapng pads), an empty packet, one cut by a snap
# length, sub-microsecond parts, a microsecond's last nanosecond and the last second pcap can hold.
PACKETS: list[tuple[int, bytes, int | None]] = [
    (T0 + 123_456_789, b"\x45" + bytes(range(59)), None),
    (T0 + 123_457_000, b"\x60" * 41, None),
    (T0 + 999_999_999, b"\x01\x02", None),
    (T0 + 1_000_000_001, b"", None),
    (T0 + 2_000_000_000, b"\xff" * 1514, 9000),
    (T0 + 2_000_000_999, b"\x00\x01\x02", None),
    (((1 << 32) - 1) * 10**9 + 999_999_999, b"\xee" * 33, None),
]
FORMATS = ["pcap", "pcapng"]
LINKTYPES = [1, 101, 113, 276]
EVERY_KIND = pytest.mark.parametrize(
    ("fmt", "nano", "linktype"),
    [(f, n, lt) for f in FORMATS for n in (False, True) for lt in LINKTYPES],
    ids=[f"{f}-{'nsec' if n else 'usec'}-{lt}" for f in FORMATS for n in (False, True) for lt in LINKTYPES],
)


def _write(out: Path | io.BytesIO, fmt: str, linktype: int, nano: bool) -> None:
    with CaptureWriter(out, format=fmt, linktype=linktype, nanosecond=nano) as w:  # type: ignore[arg-type]
        for ts, data, wirelen in PACKETS:
            w.write(ts, data, wirelen)
        assert w.packets == len(PACKETS)


def _expected(linktype: int, nano: bool) -> list[Packet]:
    return [
        (data, ts if nano else ts // 1000 * 1000, linktype, len(data), wirelen or len(data))
        for ts, data, wirelen in PACKETS
    ]


@EVERY_KIND
def test_read_back_by_our_reader_scapy_and_dpkt(tmp_path: Path, fmt: str, nano: bool, linktype: int) -> None:
    path = tmp_path / f"t.{fmt}"
    _write(path, fmt, linktype, nano)
    expected = _expected(linktype, nano)
    with path.open("rb") as fh:
        reader = CaptureReader(fh, name="t")
        frames = list(reader)
    assert ours(frames) == expected
    assert (reader.info.format, reader.info.link_types) == (fmt, {linktype})
    assert not reader.info.truncated and reader.info.warnings == []
    if fmt == "pcap":
        assert reader.info.nanosecond == nano
    assert scapy_frames(path) == expected
    with path.open("rb") as fh:
        theirs = dpkt.pcap.Reader(fh) if fmt == "pcap" else dpkt.pcapng.Reader(fh)
        assert theirs.datalink() == linktype
        assert [bytes(buf) for _ts, buf in theirs] == [data for _ts, data, _w in PACKETS]


@pytest.mark.skipif(not HAVE_TSHARK, reason="tshark not installed")
@EVERY_KIND
def test_read_back_by_tshark(tmp_path: Path, fmt: str, nano: bool, linktype: int) -> None:
    path = tmp_path / f"t.{fmt}"
    _write(path, fmt, linktype, nano)
    got = tshark_frames(path)
    want = [(d, ts, WTAP_ENCAP[linktype], cap, wire) for d, ts, _lt, cap, wire in _expected(linktype, nano)]
    assert got == want


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_stream_gets_the_same_bytes_and_stays_open(tmp_path: Path, fmt: str) -> None:
    path, stream = tmp_path / "t", io.BytesIO()
    _write(path, fmt, 1, True)
    _write(stream, fmt, 1, True)
    assert not stream.closed and stream.getvalue() == path.read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_capture_is_a_valid_capture(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "empty"
    CaptureWriter(path, format=fmt, linktype=101).close()  # type: ignore[arg-type]
    with path.open("rb") as fh:
        reader = CaptureReader(fh, name="empty")
        assert list(reader) == [] and reader.info.warnings == []
    assert scapy_frames(path) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_flushed_then_killed_is_a_cut_capture(tmp_path: Path, fmt: str) -> None:
    """What a killed live capture leaves: the flushed records whole, part of the next one."""
    path = tmp_path / "live"
    w = CaptureWriter(path, format=fmt, nanosecond=True)  # type: ignore[arg-type]
    for ts, data, wirelen in PACKETS[:3]:
        w.write(ts, data, wirelen)
    w.flush(sync=True)
    flushed = path.read_bytes()
    w.write(*PACKETS[3])
    w.write(*PACKETS[4])
    w.flush()
    whole = path.read_bytes()
    assert whole.startswith(flushed) and len(whole) > len(flushed)
    cut = whole[:-30]  # the kill hit the end of the fifth record
    reader = CaptureReader(io.BytesIO(cut), name="live")
    frames = list(reader)
    assert ours(frames) == _expected(1, True)[:4]
    assert reader.info.truncated and len(reader.info.warnings) == 1
    w.close()


def test_a_bare_write_only_sink_is_enough() -> None:
    """An upload or a pipe: no seek, no tell, no ``closed``; the writer only writes and flushes."""

    class Sink:
        def __init__(self) -> None:
            self.chunks: list[bytes] = []
            self.flushes = 0

        def write(self, b: bytes) -> int:
            self.chunks.append(bytes(b))
            return len(b)

        def flush(self) -> None:
            self.flushes += 1

    sink, reference = Sink(), io.BytesIO()
    _write(sink, "pcapng", 1, True)  # type: ignore[arg-type]
    _write(reference, "pcapng", 1, True)
    assert b"".join(sink.chunks) == reference.getvalue() and sink.flushes == 1


def test_close_is_idempotent_and_write_after_close_fails(tmp_path: Path) -> None:
    w = CaptureWriter(tmp_path / "t")
    w.close()
    w.close()
    w.flush()
    assert w.closed
    with pytest.raises(ValueError, match="closed"):
        w.write(T0, b"x")


def test_the_file_is_closed_when_the_block_raises(tmp_path: Path) -> None:
    path = tmp_path / "t"
    with pytest.raises(RuntimeError), CaptureWriter(path, format="pcapng") as w:
        w.write(T0, b"\x45" * 20)
        raise RuntimeError("capture interrupted")
    assert w.closed
    assert [f.data for f in CaptureReader(io.BytesIO(path.read_bytes()), name="t")] == [b"\x45" * 20]


@pytest.mark.parametrize(
    ("fmt", "ts_ns", "data", "wirelen"),
    [
        ("pcap", -1, b"x", None),
        ("pcap", (1 << 32) * 10**9, b"x", None),  # a second pcap's 32 bits cannot hold
        ("pcapng", (1 << 64) * 1000, b"x", None),  # 2**64 µs ticks: beyond the 64-bit counter
        ("pcap", T0, b"x" * 101, None),  # longer than the snap length
        ("pcapng", T0, b"x" * 10, 9),  # shorter on the wire than stored
    ],
)
def test_what_the_format_cannot_hold_is_refused(fmt: str, ts_ns: int, data: bytes, wirelen: int | None) -> None:
    out = io.BytesIO()
    w = CaptureWriter(out, format=fmt, snaplen=100)  # type: ignore[arg-type]
    size = len(out.getvalue())
    with pytest.raises(ValueError):
        w.write(ts_ns, data, wirelen)
    assert len(out.getvalue()) == size and w.packets == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="format"):
        CaptureWriter(io.BytesIO(), format="erf")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CaptureWriter(io.BytesIO(), linktype=1 << 16)


def test_pcapng_header_says_nanoseconds_and_names_the_interface() -> None:
    out = io.BytesIO()
    CaptureWriter(out, format="pcapng", nanosecond=True, interface_name="eth0", linktype=276).close()
    raw = out.getvalue()
    bo = "<" if raw[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    shb_len = struct.unpack_from(bo + "I", raw, 4)[0]
    idb = raw[shb_len:]
    assert struct.unpack_from(bo + "IIHHI", idb) == (1, len(idb), 276, 0, 262144)
    assert b"eth0" in idb and struct.pack(bo + "HH", 9, 1) + b"\x09" in idb
