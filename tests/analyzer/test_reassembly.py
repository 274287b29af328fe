"""TCP stream reassembly: any order, retransmissions, overlaps, wraparound, caps, skipping."""

from __future__ import annotations

import itertools
import random

import pytest

from analyzer.reassembly import Stream

DATA = bytes(range(256)) * 8  # 2048 bytes, every offset distinguishable


def _segments(data: bytes, sizes: list[int]) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    for size in sizes:
        out.append((pos, data[pos : pos + size]))
        pos += size
    if pos < len(data):
        out.append((pos, data[pos:]))
    return out


@pytest.mark.parametrize("isn", [0, 1000, 0xFFFFFFFF - 700])  # the last one wraps mid-stream
def test_every_order_of_four_segments_rebuilds_the_stream(isn: int) -> None:
    segs = _segments(DATA, [300, 700, 500])
    for order in itertools.permutations(segs):
        s = Stream((isn + 1) & 0xFFFFFFFF, limit=4096)
        for off, payload in order:
            s.add((isn + 1 + off) & 0xFFFFFFFF, payload)
        assert bytes(s.data) == DATA


def test_retransmissions_and_overlaps_do_not_duplicate_bytes() -> None:
    rng = random.Random(7)
    s = Stream(100, limit=4096)
    pieces = []
    for _ in range(200):
        start = rng.randrange(0, len(DATA))
        end = min(len(DATA), start + rng.randrange(1, 400))
        pieces.append((start, DATA[start:end]))
    pieces += _segments(DATA, [100] * 20)
    rng.shuffle(pieces)
    for off, payload in pieces:
        s.add(100 + off, payload)
    assert bytes(s.data) == DATA


def test_new_bytes_reported_only_when_contiguous() -> None:
    s = Stream(0, limit=4096)
    assert s.add(10, b"world") is False  # gap before it
    assert s.add(0, b"hello-----") is True
    assert bytes(s.data) == b"hello-----world"


def test_limit_caps_memory_and_sets_overflow() -> None:
    s = Stream(0, limit=1000)
    s.add(0, DATA)
    assert len(s.data) == 1000
    assert s.overflow
    s2 = Stream(0, limit=1000)
    s2.add(5000, b"x" * 10)  # far beyond the window: dropped, not held
    assert s2.overflow and not s2.data


def test_consume_skips_bytes_not_yet_arrived() -> None:
    """An HTTP body is skipped by count; its segments are never buffered."""
    s = Stream(0, limit=100)
    s.add(0, b"HEAD1")
    s.consume(5 + 1000)  # head plus a 1000-byte body
    for off in range(5, 1005, 100):
        s.add(off, b"b" * min(100, 1005 - off))
    assert not s.data and not s.overflow
    s.add(1005, b"NEXT")
    assert bytes(s.data) == b"NEXT"


def test_midstream_join_rebases_on_an_earlier_segment() -> None:
    """No SYN captured and the second half of a ClientHello arrives first."""
    s = Stream(None, limit=4096)
    s.add(5000 + 1000, DATA[1000:])
    s.add(5000, DATA[:1000])
    assert bytes(s.data) == DATA


def test_anchored_stream_ignores_bytes_before_byte_zero() -> None:
    s = Stream(1000, limit=4096)
    s.add(990, b"0123456789abc")  # 10 bytes before the ISN+1, 3 after
    assert bytes(s.data) == b"abc"
