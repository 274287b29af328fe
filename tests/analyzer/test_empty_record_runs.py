"""A decompression bomb of empty records (issue 10 item 17): the identical copies behind an empty
record are skipped in runs and counted in one warning, in the fast path and the full reader alike,
whatever the chunk size; the frame numbers after them stay those of the file."""

from __future__ import annotations

import gzip
import io
import struct

import pytest

from analyzer.pipeline import analyze_stream
from fixtures.builders.packets import established
from parsers.capture import CaptureReader
from tests.support.fastpath_cases import diff, tables

T0 = 1_700_000_000  # seconds
RUN = 300_000
PACKETS = established()


def _pcap_bomb(run: int) -> bytes:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    first = b"".join(struct.pack("<IIII", T0, i, len(p), len(p)) + p for i, p in enumerate(PACKETS[:3]))
    empty = struct.pack("<IIII", T0, 10, 0, 60)
    rest = b"".join(struct.pack("<IIII", T0, 20 + i, len(p), len(p)) + p for i, p in enumerate(PACKETS[3:]))
    return gzip.compress(header + first + empty * run + rest, 9)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def _pcapng_bomb(run: int) -> bytes:
    def epb(us: int, data: bytes, wirelen: int | None = None) -> bytes:
        ticks = T0 * 1_000_000 + us
        fields = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), wirelen or len(data))
        return _block(6, fields + data)

    head = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)) + _block(1, struct.pack("<HHI", 1, 0, 0))
    first = b"".join(epb(i, p) for i, p in enumerate(PACKETS[:3]))
    rest = b"".join(epb(20 + i, p) for i, p in enumerate(PACKETS[3:]))
    return gzip.compress(head + first + epb(10, b"", 60) * run + rest, 9)


BOMBS = {"pcap": _pcap_bomb, "pcapng": _pcapng_bomb}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_run_of_empty_records_is_skipped_with_one_warning(kind: str) -> None:
    raw = BOMBS[kind](RUN)
    assert len(raw) < RUN // 10  # a bomb: kilobytes that unpack to megabytes of records
    for chunk_size in (1 << 20, 4093):  # runs cut by chunk boundaries anywhere, records too
        fast = tables(raw, True, chunk_size)
        full = tables(raw, False, chunk_size)
        assert diff(fast, full) == {}, chunk_size
        capture = fast["capture"]
        # The first empty record is a packet as every reader shows it; its copies are not.
        assert capture["packets"] == len(PACKETS) + 1 and capture["truncated"] is False
        assert fast["warnings"] == [
            f"t: {RUN - 1} empty records skipped (identical copies of a record that carries no captured bytes, "
            "each right behind the other)"
        ]
        assert capture["parse_errors"] == 1  # the one empty packet: no Ethernet header
        assert {r["fqdn"] or ", ".join(r["addresses"]) for r in fast["summary"]} == {"203.0.113.9"}


def test_frame_numbers_after_a_run_are_the_files() -> None:
    reader = CaptureReader(io.BytesIO(_pcap_bomb(1000)), name="t", chunk_size=999)
    frames = list(reader)
    assert [f.index for f in frames] == [1, 2, 3, 4, *range(1004, 1004 + len(PACKETS) - 3)]
    assert reader.empty_records == 999 and frames[3].caplen == 0 and frames[3].wirelen == 60


def test_empty_records_that_differ_are_each_a_packet() -> None:
    """Only identical copies are skipped: empty records with their own timestamps are read as before."""
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    raw = header + b"".join(struct.pack("<IIII", T0, i, 0, 0) for i in range(50))
    for fast in (True, False):
        analysis = analyze_stream(io.BytesIO(raw), "t", fast=fast)
        assert analysis.capture.packets == 50 and analysis.warnings == ()
