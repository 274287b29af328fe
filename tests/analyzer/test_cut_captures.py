"""What is "not a capture" and what is "a cut capture" (issue 10 item 9), in the fast path and the
full reader alike: a file whose very first header is incomplete or not a capture header is an
error; anything wrong after one whole header keeps every whole record read, with a warning."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from analyzer.pipeline import analyze_stream
from fixtures.builders.packets import established
from parsers.errors import CaptureFormatError
from tests.support.cli import egress
from tests.support.fastpath_cases import diff, seq_pcap, tables

T0 = 1_700_000_000_000_000  # µs


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


SHB = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
IDB = _block(1, struct.pack("<HHI", 1, 0, 0))


def _epb(ts_us: int, data: bytes) -> bytes:
    return _block(6, struct.pack("<IIIII", 0, ts_us >> 32, ts_us & 0xFFFFFFFF, len(data), len(data)) + data)


PACKETS = established()
GOOD = SHB + IDB + b"".join(_epb(T0 + i, p) for i, p in enumerate(PACKETS[:3]))
MORE = b"".join(_epb(T0 + 10 + i, p) for i, p in enumerate(PACKETS[3:]))


def _both(raw: bytes) -> dict[str, object]:
    """The tables of the fast path, which must equal the full reader's."""
    fast, full = tables(raw, True), tables(raw, False)
    assert diff(fast, full) == {}
    assert "exception" not in fast, fast.get("tb")
    return fast


def _kept(raw: bytes, packets: int, words: str) -> None:
    got = _both(raw)
    capture = got["capture"]
    assert isinstance(capture, dict)
    assert capture["packets"] == packets and capture["truncated"] is True
    assert any(words in w for w in got["warnings"]), got["warnings"]  # type: ignore[attr-defined]


# -- a later section header or interface block: cut anywhere, or with a corrupt field ------------


@pytest.mark.parametrize("later", ["shb", "idb", "shb+idb"])
def test_a_later_header_cut_anywhere_keeps_what_was_read(later: str) -> None:
    header = {"shb": SHB, "idb": IDB, "shb+idb": SHB + IDB}[later]
    for cut in range(1, len(header)):
        if cut == len(SHB) and later == "shb+idb":
            continue  # a whole section header and nothing after it: not a cut
        _kept(GOOD + header[:cut], 3, "capture ends in the middle of")


# Where the corrupt block sits: after good packets, or after the first section's header before any.
PLACES = {"after-packets": (GOOD, 3), "before-any-packet": (SHB + IDB, 0)}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("bom", [b"\x00\x00\x00\x00", b"\x4d\x3c\x2b\x00", b"\x1a\x2b\x3c\x00", b"\xff" * 4])
def test_a_later_section_header_with_a_bad_byte_order_mark_keeps_what_was_read(place: str, bom: bytes) -> None:
    before, packets = PLACES[place]
    bad = SHB[:8] + bom + SHB[12:]
    _kept(before + bad + IDB + MORE, packets, "pcapng section header after record")


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("length", [0, 4, 8, 11, 13, 30, 1 << 25, 0xFFFFFFFF])
def test_a_later_section_header_with_an_invalid_length_keeps_what_was_read(place: str, length: int) -> None:
    before, packets = PLACES[place]
    bad = SHB[:4] + struct.pack("<I", length) + SHB[8:]
    _kept(before + bad + IDB + MORE, packets, f"invalid length {length}")


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("length", [12, 16])
def test_an_interface_block_too_short_to_be_one_keeps_what_was_read(place: str, length: int) -> None:
    before, packets = PLACES[place]
    bad = struct.pack("<II", 1, length) + b"\x00" * (length - 12) + b"\x00" * 4
    bad = bad[: length - 4] + struct.pack("<I", length)
    _kept(before + bad + MORE, packets, "interface description block after record")


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("length", [0, 8, 14, 1 << 25])
def test_an_interface_block_with_an_invalid_length_keeps_what_was_read(place: str, length: int) -> None:
    before, packets = PLACES[place]
    _kept(before + IDB[:4] + struct.pack("<I", length) + IDB[8:] + MORE, packets, f"invalid length {length}")


def test_the_command_keeps_a_capture_whose_later_section_header_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "later.pcapng"
    path.write_bytes(GOOD + SHB[:8] + b"\xff" * 4 + SHB[12:] + IDB + MORE)
    done = egress("analyze", str(path), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"packets": 3' in done.stdout and "bad byte-order magic" in done.stdout


# -- the very first header: incomplete or not a capture header is "not a capture" ------------------

PCAP = seq_pcap(PACKETS)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_a_file_cut_inside_its_first_header_is_not_a_capture(fast: bool) -> None:
    for raw in [SHB[:cut] for cut in range(4, len(SHB))] + [PCAP[:cut] for cut in range(4, 24)]:
        with pytest.raises(CaptureFormatError) as info:
            analyze_stream(io.BytesIO(raw), "first.cap", fast=fast)
        assert "first.cap" in info.value.reason and "cut short" in info.value.reason


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_a_first_section_header_with_a_corrupt_field_is_not_a_capture(fast: bool) -> None:
    bad_bom = SHB[:8] + b"\xff" * 4 + SHB[12:]
    for raw in [bad_bom + IDB + MORE] + [SHB[:4] + struct.pack("<I", n) + SHB[8:] + IDB for n in (0, 8, 30, 1 << 25)]:
        with pytest.raises(CaptureFormatError) as info:
            analyze_stream(io.BytesIO(raw), "first.cap", fast=fast)
        assert info.value.reason.startswith("first.cap: pcapng section header has ")


def test_the_command_says_a_file_cut_in_its_first_header_is_not_a_capture(tmp_path: Path) -> None:
    for name, raw in (("cut.pcapng", SHB[:20]), ("cut.pcap", PCAP[:20])):
        path = tmp_path / name
        path.write_bytes(raw)
        done = egress("analyze", str(path))
        assert done.returncode == 2 and name in done.stderr and "cut short" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_after_one_whole_header_a_cut_is_a_cut_capture() -> None:
    for raw in (SHB, SHB + IDB[:5], PCAP[:24], PCAP[:30]):
        got = _both(raw)
        assert got["capture"]["packets"] == 0  # type: ignore[index]
