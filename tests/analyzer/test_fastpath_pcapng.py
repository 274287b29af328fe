"""The pcapng walk of the fast path must give exactly what the full reader and decoder give.

The fixture captures are rewritten as pcapng here (both byte orders, µs and ns resolution,
several interfaces and sections, the odd blocks a real file carries), then analysed both ways.
"""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from analyzer.pipeline import analyze_stream
from fixtures.builders.pcapng import block, custom, epb, idb, opb, option, section, shb, spb
from parsers.capture import CHUNK, CaptureReader
from reports.jsondoc import document
from tests.support.captures import fixture_records
from tests.support.paths import CAPTURES

TABLES = ("capture", "summary", "flows", "http", "dns", "parse_errors", "warnings")


def _tables(raw: bytes, fast: bool, chunk_size: int = CHUNK) -> dict[str, object]:
    import io

    doc = document(analyze_stream(io.BytesIO(raw), "t.pcapng", fast=fast, chunk_size=chunk_size))
    return {k: doc[k] for k in TABLES}


def _same(raw: bytes, chunk_size: int = CHUNK) -> dict[str, object]:
    fast, full = _tables(raw, True, chunk_size), _tables(raw, False)
    assert fast == full
    return full


PCAP_FIXTURES = sorted(p.name for p in CAPTURES.glob("*.pcap"))


@pytest.mark.parametrize("bo", ["<", ">"])
@pytest.mark.parametrize("name", PCAP_FIXTURES)
def test_every_fixture_as_pcapng(name: str, bo: str) -> None:
    raw = section(bo, fixture_records(name), nano=name == "nano.pcap")
    full = _same(raw)
    # And the pcapng copy tells the same story as the pcap original.
    with (CAPTURES / name).open("rb") as fh:
        original = document(analyze_stream(fh, "t.pcapng"))
    for table in ("summary", "flows", "http", "dns", "parse_errors"):
        assert full[table] == original[table], table


@pytest.mark.parametrize("chunk", [64, 300, 1499, 4096])
@pytest.mark.parametrize("name", ["sunbeam-install.pcap", "microk8s-install.pcap", "sll2.pcap"])
def test_blocks_cut_by_read_chunks_change_nothing(name: str, chunk: int) -> None:
    _same(section("<", fixture_records(name), nano=True), chunk)


def _mixed() -> bytes:
    """Two sections of different byte orders; the second has SLL2, raw-IP and Ethernet interfaces
    (so the one-read layout fits only some of them) and a simple packet block on interface 0."""
    aks = fixture_records("aks-bootstrap.pcap")
    second = fixture_records("sll2.pcap") + fixture_records("raw101.pcap") + fixture_records("sunbeam-install.pcap")
    second += fixture_records("http-keepalive.pcap")
    second.sort(key=lambda r: r[0])
    out = section("<", aks, nano=False) + section(">", second, nano=True)
    out += block(">", 3, struct.pack(">I", len(second[0][2])) + second[0][2])  # SPB: no timestamp
    return out


def test_sections_interfaces_and_odd_blocks() -> None:
    full = _same(_mixed())
    assert full["capture"]["link_types"] == [1, 101, 276]  # type: ignore[index]
    assert full["capture"]["format"] == "pcapng"  # type: ignore[index]
    assert {r["fqdn"] for r in full["summary"]} >= {"mcr.microsoft.com", "api.charmhub.io"}  # type: ignore[attr-defined]


def test_a_capture_cut_anywhere_gives_the_same_warning() -> None:
    raw = section("<", fixture_records("sll2.pcap"), nano=False)
    for cut in range(1, 240):
        assert _tables(raw[:-cut], True) == _tables(raw[:-cut], False), cut


def test_broken_packet_blocks_are_the_readers_to_judge() -> None:
    bo = "<"
    recs = fixture_records("sunbeam-install.pcap")[:40]
    good = section(bo, recs, nano=False)
    data = recs[5][2]
    undefined_iface = epb(bo, 7, 1, data, len(data))
    # caplen larger than the block holds
    body = struct.pack(bo + "IIIII", 0, 0, 1, len(data) + 64, len(data) + 64) + data + b"\x00" * (-len(data) % 4)
    too_long = block(bo, 6, body)
    bad_length = struct.pack(bo + "II", 6, 30) + b"\x00" * 40  # not a multiple of 4: the rest is skipped
    raw = good + undefined_iface + too_long + section(bo, recs[:3], nano=False)[:0] + bad_length
    full = _same(raw)
    warnings = " ".join(full["warnings"])  # type: ignore[arg-type]
    assert "undefined interface 7" in warnings
    assert "longer than its block" in warnings
    assert "invalid length 30" in warnings


def test_interface_options_apply_to_the_fast_walk() -> None:
    """if_tsoffset and a power-of-two if_tsresol on the interface the fast walk reads."""
    bo = "<"
    recs = fixture_records("sunbeam-install.pcap")
    body = struct.pack(bo + "HHI", 1, 0, 0)
    body += option(bo, 9, bytes([0x80 | 20])) + option(bo, 14, struct.pack(bo + "q", 3600)) + option(bo, 0, b"")
    out = shb(bo) + block(bo, 1, body)
    for ts, _lt, data, wirelen in recs:
        out += epb(bo, 0, ts * (1 << 20) // 1_000_000_000, data, wirelen)
    full = _same(out)
    plain = _tables(section(bo, recs, nano=True), False)
    shifted = dt.datetime.fromisoformat(str(full["capture"]["first_ts"]))  # type: ignore[index]
    original = dt.datetime.fromisoformat(str(plain["capture"]["first_ts"]))  # type: ignore[index]
    assert abs((shifted - original).total_seconds() - 3600) < 2e-6  # 2^-20 s ticks, rounded down


def test_simple_packet_blocks_only() -> None:
    bo = "<"
    out = shb(bo) + idb(bo, 1)
    for _ts, _lt, data, _w in fixture_records("sunbeam-install.pcap")[:50]:
        out += spb(bo, data)
    _same(out)


def test_well_formed_packet_blocks_never_take_the_readers_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a speed test: it checks the walk really walks (a stale interface table, say, would send
    every packet through the reader and still give right answers, ten times slower)."""
    import io

    from analyzer import fastpath
    from analyzer.engine import Engine

    seen: list[int] = []
    original = CaptureReader.pcapng_block

    def spy(self: CaptureReader, btype: int, blen: int, buf: bytes | bytearray, pos: int) -> object:
        seen.append(btype)
        return original(self, btype, blen, buf, pos)

    monkeypatch.setattr(CaptureReader, "pcapng_block", spy)
    # A trailing custom block leaves room for the one struct read behind the last packet; without
    # it the last packets, like any record at the very end of the data, take the careful path.
    raw = _mixed() + custom(">", b"\x00" * 256)
    reader = CaptureReader(io.BytesIO(raw), name="t.pcapng")
    fastpath.run_pcapng(reader, Engine())
    assert seen.count(6) == 1, seen  # the first packet: the constructor reads up to it itself
    assert seen.count(1) == 4 and seen.count(3) == 1  # the interfaces and the simple packet block


def test_obsolete_packet_blocks_are_not_read_as_enhanced_ones() -> None:
    bo = "<"
    recs = fixture_records("aks-bootstrap.pcap")
    out = shb(bo) + idb(bo, 1)
    for i, (ts, _lt, data, wirelen) in enumerate(recs):
        ticks = ts // 1000
        if i % 3:
            out += epb(bo, 0, ticks, data, wirelen)
        else:  # Packet Block (type 2): a 2-byte interface id and a drops count where the EPB has 4 bytes
            out += opb(bo, 0, ticks, data, wirelen)
    _same(out)


def test_a_packet_one_byte_longer_than_its_block() -> None:
    bo = "<"
    recs = fixture_records("aks-bootstrap.pcap")[:30]
    data = recs[10][2]
    padded = data + b"\x00" * (-len(data) % 4)
    for extra in (1, 4):
        body = struct.pack(bo + "IIIII", 0, 0, 1, len(padded) + extra, len(padded) + extra) + padded
        raw = section(bo, recs, nano=False) + block(bo, 6, body) + section(bo, recs[:5], nano=False)
        full = _same(raw)
        assert "longer than its block" in " ".join(full["warnings"])  # type: ignore[arg-type]


@pytest.mark.parametrize("where", ["far-future", "far-past"])
def test_timestamps_no_clock_can_hold_are_clamped_with_a_warning(where: str) -> None:
    """pcapng can say 'seconds' and give 2**40 of them, or an if_tsoffset of -2**62 s: years no
    64-bit nanosecond clock (Arrow, Parquet) holds.  Clamped, said once, and every report still works."""
    import io

    from analyzer.pipeline import analyze_stream

    bo = "<"
    recs = fixture_records("sunbeam-install.pcap")[:40]
    body = struct.pack(bo + "HHI", 276, 0, 0) + option(bo, 9, bytes([0]))  # if_tsresol 10**0: seconds
    if where == "far-past":
        body += option(bo, 14, struct.pack(bo + "q", -(1 << 62)))
    out = shb(bo) + block(bo, 1, body + option(bo, 0, b""))
    for i, (ts, _lt, data, wirelen) in enumerate(recs):
        ticks = (1 << 40) + i if where == "far-future" else ts // 1_000_000_000
        out += epb(bo, 0, ticks, data, wirelen)
    full = _same(out)
    assert sum("outside the years 1677 to 2262" in w for w in full["warnings"]) == 1  # type: ignore[union-attr]
    analysis = analyze_stream(io.BytesIO(out), "t.pcapng")
    for name in ("summary", "flows", "dns"):
        analysis.tables[name].to_arrow()  # what Parquet export does: no overflow
    assert str(full["capture"]["first_ts"]).startswith("2262" if where == "far-future" else "1677")  # type: ignore[index]
