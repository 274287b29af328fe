"""parsers.capture.CaptureReader on captures written by scapy and built from the pcap/pcapng specs.

scapy's readers (RawPcapReader / RawPcapNgReader) are the oracle for what the files hold.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from scapy.config import conf
from scapy.utils import RawPcapWriter

from fixtures.builders.pcapng import block, epb, idb, nrb, opb, option, shb, spb
from parsers.capture import MAX_RECORD, CaptureReader, Frame
from parsers.errors import CaptureFormatError, ParseError
from tests.support.oracles import ours, scapy_frames

conf.verb = 0


@dataclass(frozen=True)
class Rec:
    data: bytes
    sec: int
    frac: int  # µs or ns, as written
    wirelen: int | None = None


RECORDS = [
    Rec(bytes(range(60)), 1_700_000_000, 1),
    Rec(b"\x45" + b"\x01" * 99, 1_700_000_000, 999_999),
    Rec(b"\xff" * 1514, 1_700_000_001, 0, wirelen=9000),  # cut by the snap length
    Rec(b"", 0, 0),
    Rec(b"\x00" * 3, 4_294_967_295, 123_456),  # the last second a u32 can hold
]


def write_pcap(path: Path, records: list[Rec], *, endianness: str, nano: bool, linktype: int = 1) -> bytes:
    writer = RawPcapWriter(str(path), linktype=linktype, endianness=endianness, nano=nano, snaplen=262144)
    writer.write_header(None)
    for r in records:
        writer.write_packet(r.data, sec=r.sec, usec=r.frac, caplen=len(r.data), wirelen=r.wirelen or len(r.data))
    writer.close()
    return path.read_bytes()


def read_all(raw: bytes, chunk_size: int | None = None, name: str = "t") -> tuple[CaptureReader, list[Frame]]:
    kwargs = {} if chunk_size is None else {"chunk_size": chunk_size}
    reader = CaptureReader(io.BytesIO(raw), name=name, **kwargs)
    return reader, list(reader)


@pytest.mark.parametrize("nano", [False, True], ids=["usec", "nsec"])
@pytest.mark.parametrize("endianness", ["<", ">"], ids=["le", "be"])
def test_pcap_byte_orders_and_resolutions(tmp_path: Path, endianness: str, nano: bool) -> None:
    path = tmp_path / "t.pcap"
    raw = write_pcap(path, RECORDS, endianness=endianness, nano=nano, linktype=113)
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    assert raw[:4] == struct.pack(endianness + "I", magic)
    reader, frames = read_all(raw)
    assert (reader.info.format, reader.info.byte_order, reader.info.nanosecond) == ("pcap", endianness, nano)
    assert reader.info.link_types == {113}
    assert not reader.info.truncated and reader.info.warnings == [] and not reader.info.compressed
    # Exact nanoseconds from what was written (no float anywhere).
    assert [f.ts_ns for f in frames] == [r.sec * 10**9 + r.frac * (1 if nano else 1000) for r in RECORDS]
    assert [f.index for f in frames] == list(range(1, len(RECORDS) + 1))
    assert [f.wirelen for f in frames] == [r.wirelen or len(r.data) for r in RECORDS]
    assert all(f.interface == 0 for f in frames)
    assert ours(frames) == scapy_frames(path)


def test_small_chunks_give_the_same_frames(tmp_path: Path) -> None:
    raw = write_pcap(tmp_path / "t.pcap", RECORDS, endianness="<", nano=False)
    expected = read_all(raw)[1]
    for chunk in (1, 7, 16, 17, 1000):
        assert read_all(raw, chunk_size=chunk)[1] == expected


def test_pcap_link_type_with_fcs_bits(tmp_path: Path) -> None:
    raw = bytearray(write_pcap(tmp_path / "t.pcap", RECORDS[:1], endianness="<", nano=False, linktype=1))
    raw[20:24] = struct.pack("<I", 0x14000000 | 1)  # FCS present, 4 bytes (pcap linktype upper bits)
    reader, frames = read_all(bytes(raw))
    assert reader.info.link_types == {1} and frames[0].linktype == 1


def test_pcap_header_only_is_an_empty_capture(tmp_path: Path) -> None:
    raw = write_pcap(tmp_path / "t.pcap", [], endianness="<", nano=False)
    assert len(raw) == 24
    reader, frames = read_all(raw)
    assert frames == [] and not reader.info.truncated and reader.info.warnings == []


@pytest.mark.parametrize("nano", [False, True])
def test_pcap_cut_mid_record(tmp_path: Path, nano: bool) -> None:
    raw = write_pcap(tmp_path / "t.pcap", RECORDS, endianness="<", nano=nano)
    boundaries = [24]
    for r in RECORDS:
        boundaries.append(boundaries[-1] + 16 + len(r.data))
    assert boundaries[-1] == len(raw)
    full = read_all(raw)[1]
    for cut in range(24, len(raw) + 1):
        reader, frames = read_all(raw[:cut], chunk_size=64)
        whole = sum(1 for b in boundaries[1:] if b <= cut)
        assert frames == full[:whole], cut
        if cut in boundaries:
            assert not reader.info.truncated and reader.info.warnings == [], cut
        else:
            assert reader.info.truncated, cut
            assert len(reader.info.warnings) == 1 and "t:" in reader.info.warnings[0]


def test_pcap_absurd_record_length_stops_with_warning(tmp_path: Path) -> None:
    raw = write_pcap(tmp_path / "t.pcap", RECORDS[:2], endianness=">", nano=False)
    raw += struct.pack(">IIII", 1, 2, MAX_RECORD + 1, MAX_RECORD + 1) + b"\x00" * 64
    reader, frames = read_all(raw)
    assert len(frames) == 2 and reader.info.truncated and len(reader.info.warnings) == 1


# -- pcapng, built from draft-ietf-opsawg-pcapng ---------------------------------------------------


@dataclass(frozen=True)
class NgPacket:
    iface: int
    ticks: int
    data: bytes
    wirelen: int | None = None


def build_pcapng(bo: str, packets: list[NgPacket], ifaces: list[tuple[int, int | None]]) -> bytes:
    out = shb(bo)
    for linktype, tsresol in ifaces:
        out += idb(bo, linktype, tsresol, name=None if tsresol is None else "eth0")
    out += nrb(bo)  # an empty Name Resolution Block: skipped
    for i, p in enumerate(packets):
        out += epb(bo, p.iface, p.ticks, p.data, p.wirelen, comment=b"a comment" if i % 2 == 1 else None)
    out += block(bo, 0x40000BAD, b"custom block payload")  # unknown/custom block: skipped
    return out


NG_PACKETS = [
    NgPacket(0, 1_700_000_000_123_456, b"\x45" + b"\x00" * 59),  # µs ticks on iface 0
    NgPacket(1, 1_700_000_000_123_456_789, b"\x00" * 44),  # ns ticks on iface 1 (if_tsresol=9)
    NgPacket(0, 1_700_000_001_000_000, b"\x01\x02\x03", wirelen=1500),
    NgPacket(1, 2**63 - 1, b"\xee" * 33),  # the largest timestamp a 64-bit nanosecond clock holds
]
NG_IFACES = [(1, None), (113, 9)]


def _ng_expected_ts(p: NgPacket) -> int:
    return p.ticks * 1000 if NG_IFACES[p.iface][1] is None else p.ticks


@pytest.mark.parametrize("bo", ["<", ">"], ids=["le", "be"])
def test_pcapng_two_interfaces_and_tsresol(tmp_path: Path, bo: str) -> None:
    raw = build_pcapng(bo, NG_PACKETS, NG_IFACES)
    path = tmp_path / "t.pcapng"
    path.write_bytes(raw)
    reader, frames = read_all(raw)
    assert reader.info.format == "pcapng"
    assert reader.info.link_types == {1, 113}
    assert not reader.info.truncated and reader.info.warnings == []
    assert [(f.index, f.interface, f.linktype) for f in frames] == [
        (i + 1, p.iface, NG_IFACES[p.iface][0]) for i, p in enumerate(NG_PACKETS)
    ]
    assert [f.ts_ns for f in frames] == [_ng_expected_ts(p) for p in NG_PACKETS]
    assert [(f.caplen, f.wirelen) for f in frames] == [(len(p.data), p.wirelen or len(p.data)) for p in NG_PACKETS]
    assert ours(frames) == scapy_frames(path)


def test_pcapng_timestamp_beyond_a_64_bit_clock_is_clamped_and_said_once() -> None:
    packets = [NgPacket(1, 2**64 - 1, b"\xee" * 33), NgPacket(1, 2**64 - 2, b"\xee" * 33), NgPacket(0, 5, b"\x00")]
    reader, frames = read_all(build_pcapng("<", packets, NG_IFACES))
    assert [f.ts_ns for f in frames] == [2**63 - 1, 2**63 - 1, 5000]
    assert len(reader.info.warnings) == 1 and "packet 1 has a timestamp outside" in reader.info.warnings[0]


@pytest.mark.parametrize(
    ("tsresol", "ticks", "expected_ns"),
    [
        (3, 1_700_000_000_123, 1_700_000_000_123_000_000),  # milliseconds
        (6, 5, 5000),
        (9, 5, 5),
        (12, 1_700_000_000_123_456_789, 1_700_000_000_123_456),  # picoseconds, floored to ns
        (0x80 | 20, 3 << 20, 3_000_000_000),  # 2^-20 s
        (0x80 | 10, 1, 976_562),  # 1/1024 s = 976562.5 ns, floored
    ],
)
def test_pcapng_tsresol_values(tsresol: int, ticks: int, expected_ns: int) -> None:
    assert ticks < 2**64
    raw = shb("<") + idb("<", 101, tsresol, name="eth0") + epb("<", 0, ticks, b"\x45" + b"\x00" * 19)
    assert read_all(raw)[1][0].ts_ns == expected_ns


def test_pcapng_if_tsoffset_is_added() -> None:
    offset = 1_700_000_000
    body = struct.pack("<HHI", 1, 0, 0) + option("<", 14, struct.pack("<q", offset)) + option("<", 0, b"")
    raw = shb("<") + block("<", 1, body) + epb("<", 0, 1_500_000, b"\x00" * 20)
    assert read_all(raw)[1][0].ts_ns == offset * 10**9 + 1_500_000 * 1000


def test_pcapng_simple_packet_block_and_obsolete_packet_block() -> None:
    bo = ">"
    raw = shb(bo) + idb(bo, 101) + spb(bo, b"\x60" + b"\x00" * 39) + opb(bo, 0, 1000, b"\x45\x00\x00\x04")
    reader, frames = read_all(raw)
    assert reader.info.warnings == [] and reader.info.link_types == {101}
    assert [(f.data[:1], f.caplen, f.ts_ns, f.interface) for f in frames] == [
        (b"\x60", 40, 0, 0),
        (b"\x45", 4, 1_000_000, 0),
    ]


def test_pcapng_little_then_big_endian_section(tmp_path: Path) -> None:
    first = shb("<") + idb("<", 1) + epb("<", 0, 10, b"\x01" * 20)
    second = shb(">") + idb(">", 229, 9, name="eth0")
    second += epb(">", 0, 20, b"\x60" + b"\x02" * 39) + epb(">", 0, 21, b"\x60" * 40)
    raw = first + second
    (tmp_path / "two.pcapng").write_bytes(raw)
    reader, frames = read_all(raw)
    assert [(f.index, f.linktype, f.ts_ns, f.interface) for f in frames] == [
        (1, 1, 10_000, 0),
        (2, 229, 20, 0),
        (3, 229, 21, 0),
    ]
    assert reader.info.link_types == {1, 229}
    assert [f.data for f in frames] == [d for d, *_ in scapy_frames(tmp_path / "two.pcapng")]


def test_pcapng_new_section_forgets_old_interfaces() -> None:
    raw = shb("<") + idb("<", 1) + idb("<", 1) + shb(">") + idb(">", 101) + epb(">", 1, 5, b"\x45" * 20)
    reader, frames = read_all(raw)
    assert frames == []
    assert any("undefined interface 1" in w for w in reader.info.warnings)


def test_pcapng_packet_longer_than_block_is_skipped_with_warning() -> None:
    bad = bytearray(epb("<", 0, 1, b"\x45" * 20))
    bad[8 + 12 : 8 + 16] = struct.pack("<I", 200)  # caplen 200 inside a 20-byte packet area
    raw = shb("<") + idb("<", 101) + bytes(bad) + epb("<", 0, 2, b"\x45" * 20)
    reader, frames = read_all(raw)
    assert [f.ts_ns for f in frames] == [2000] and [f.index for f in frames] == [1]
    assert len(reader.info.warnings) == 1


def test_pcapng_cut_mid_block() -> None:
    head = shb("<") + idb("<", 1, 9, name="eth0")
    packets = [epb("<", 0, t, bytes([t]) * (10 + t)) for t in range(1, 5)]
    raw = head + b"".join(packets)
    ends = [len(head)]
    for p in packets:
        ends.append(ends[-1] + len(p))
    for cut in range(len(head), len(raw) + 1):
        reader, frames = read_all(raw[:cut], chunk_size=32)
        whole = sum(1 for e in ends[1:] if e <= cut)
        assert [f.ts_ns for f in frames] == list(range(1, whole + 1)), cut
        assert reader.info.truncated == (cut not in ends), cut
        assert len(reader.info.warnings) == (0 if cut in ends else 1), cut


def test_pcapng_invalid_block_length_stops_with_warning() -> None:
    raw = shb("<") + idb("<", 1) + epb("<", 0, 1, b"\x00" * 20) + struct.pack("<II", 6, 13) + b"\x00" * 20
    reader, frames = read_all(raw)
    assert len(frames) == 1 and reader.info.truncated and len(reader.info.warnings) == 1


GZ_KINDS = ["pcap-le", "pcap-be-ns", "pcapng-be"]


def _gz_source(tmp_path: Path, kind: str) -> bytes:
    if kind.startswith("pcap-"):
        records = [Rec(bytes([i % 251]) * (40 + i), 1_700_000_000 + i, i) for i in range(400)]
        return write_pcap(tmp_path / "t.pcap", records, endianness="<" if "le" in kind else ">", nano="ns" in kind)
    return build_pcapng(">", [NgPacket(i % 2, i, bytes([i % 251]) * (40 + i)) for i in range(400)], NG_IFACES)


@pytest.mark.parametrize("kind", GZ_KINDS)
def test_gzip(tmp_path: Path, kind: str) -> None:
    raw = _gz_source(tmp_path, kind)
    plain_reader, plain = read_all(raw)
    reader, frames = read_all(gzip.compress(raw))
    assert frames == plain and reader.info.compressed and not plain_reader.info.compressed
    assert reader.info.format == plain_reader.info.format and not reader.info.truncated
    assert reader.info.warnings == []


def _recoverable(packed: bytes) -> bytes:
    """Every byte zlib can decompress from a gzip stream cut short."""
    return zlib.decompressobj(wbits=31).decompress(packed)


# Python's GzipFile may drop what it decompressed in the read() call that hits the cut; allow that much.
GZIP_SLACK = 8192


def _check_cut_gzip(raw: bytes, chunk_size: int | None) -> None:
    full = read_all(raw)[1]
    packed = gzip.compress(raw)
    for cut in (len(packed) // 2, len(packed) - 9, len(packed) - 1):
        recoverable = _recoverable(packed[:cut])
        assert len(recoverable) > GZIP_SLACK + 2000
        must_have = read_all(recoverable[: len(recoverable) - GZIP_SLACK])[1]
        reader, frames = read_all(packed[:cut], chunk_size=chunk_size)
        assert frames == full[: len(frames)], cut
        assert len(frames) >= len(must_have) > 0, cut
        assert reader.info.truncated and reader.info.warnings, cut


@pytest.mark.parametrize("kind", GZ_KINDS)
def test_gzip_cut_short_small_reads(tmp_path: Path, kind: str) -> None:
    _check_cut_gzip(_gz_source(tmp_path, kind), chunk_size=64)


@pytest.mark.parametrize("kind", GZ_KINDS)
def test_gzip_cut_short_default_reads(tmp_path: Path, kind: str) -> None:
    _check_cut_gzip(_gz_source(tmp_path, kind), chunk_size=None)


def _gzip_with_bad_block(first: bytes) -> bytes:
    """A gzip member whose deflate stream holds ``first`` then a block of the reserved type 3."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(first) + comp.flush(zlib.Z_FULL_FLUSH) + b"\x07\x00\x00\x00"
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body


@pytest.mark.parametrize("where", ["at-open", "mid-file"])
def test_corrupt_deflate_data_is_a_capture_error(tmp_path: Path, where: str) -> None:
    raw = write_pcap(tmp_path / "t.pcap", RECORDS * 50, endianness="<", nano=False)
    packed = b"\x1f\x8b\x08\x00garbage-not-deflate" if where == "at-open" else _gzip_with_bad_block(raw[:3000])
    try:
        reader, frames = read_all(packed, chunk_size=512)
    except CaptureFormatError:
        assert where == "at-open"
        return
    assert reader.info.truncated and reader.info.warnings
    assert frames == read_all(raw)[1][: len(frames)] and frames


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\xd4\xc3", id="two-bytes"),
        pytest.param(b"This is not a capture, just a text file.\n" * 3, id="text"),
        pytest.param(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", id="pcap-header-cut"),
        pytest.param(struct.pack("<IHHiIII", 0xA1B2C3D4, 3, 0, 0, 0, 65535, 1), id="pcap-version-3"),
        pytest.param(b"\x0a\x0d\x0d\x0a" + struct.pack("<I", 28) + b"\x00\x11\x22\x33" + b"\x00" * 16, id="bad-bom"),
        pytest.param(struct.pack("<II", 0x0A0D0D0A, 7) + struct.pack("<I", 0x1A2B3C4D) + b"\x00" * 8, id="shb-length"),
        pytest.param(gzip.compress(b""), id="gzip-empty"),
        pytest.param(gzip.compress(b"hello, world\n"), id="gzip-text"),
        pytest.param(b"\x1f\x8b\x08", id="gzip-header-cut"),
    ],
)
def test_not_a_capture_raises(raw: bytes) -> None:
    with pytest.raises(CaptureFormatError) as info:
        read_all(raw, name="bad.bin")
    assert info.value.layer == "capture" and "bad.bin" in info.value.reason


CORRUPT_PCAPNG = {
    "idb-without-body": shb("<") + block("<", 1, b""),
    "idb-tsresol-option-cut": shb("<") + block("<", 1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 9, 1)),
    "epb-shorter-than-its-header": shb("<") + idb("<", 1) + block("<", 6, b"\x00" * 8),
    "spb-without-body": shb("<") + idb("<", 1) + block("<", 3, b""),
    "opb-shorter-than-its-header": shb("<") + idb("<", 1) + block("<", 2, b"\x00" * 12),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_PCAPNG))
def test_corrupt_pcapng_blocks_raise_only_capture_errors(case: str) -> None:
    raw = CORRUPT_PCAPNG[case] + epb("<", 0, 1, b"\x45" * 20)
    try:
        reader, _frames = read_all(raw)
    except ParseError:
        return
    assert reader.info.warnings  # or skipped with a warning


def test_non_seekable_stream(tmp_path: Path) -> None:
    raw = write_pcap(tmp_path / "t.pcap", RECORDS, endianness="<", nano=True)

    class Pipe:
        def __init__(self, data: bytes) -> None:
            self._buf = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._buf.read(min(n, 5) if n > 0 else n)  # short reads, like a pipe

    for data in (raw, gzip.compress(raw)):
        frames = list(CaptureReader(Pipe(data), name="pipe"))  # type: ignore[arg-type]
        assert ours(frames) == scapy_frames(tmp_path / "t.pcap")
