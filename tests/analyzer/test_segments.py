"""The pcap a live capture writes: rotation by size, each segment whole and renamed into place when closed."""

from __future__ import annotations

from pathlib import Path

from analyzer.sources.segments import SegmentWriter, segment_path
from parsers.capture import CaptureReader


def _frames(path: Path) -> list[tuple[int, bytes]]:
    with path.open("rb") as fh:
        reader = CaptureReader(fh, name=str(path))
        frames = [(f.ts_ns, f.data) for f in reader]
        assert not reader.info.truncated and not reader.info.warnings
        return frames


def test_segments_are_whole_sized_and_renamed_when_closed(tmp_path: Path) -> None:
    out = tmp_path / "cap.pcap"
    packets = [(1_700_000_000_000_000_000 + i * 1000, bytes([i]) * (50 + i)) for i in range(40)]
    w = SegmentWriter(out, linktype=1, rotate=1024)
    for ts, data in packets[:5]:
        w.write(ts, data, len(data))
    w.flush()
    # the segment being written is not yet a .pcap: a folder watcher never picks up half a segment
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cap-0001.pcap.part"]
    assert [d for _, d in _frames(tmp_path / "cap-0001.pcap.part")] == [d for _, d in packets[:5]]  # flushed
    for ts, data in packets[5:]:
        w.write(ts, data, len(data))
    w.close()
    w.close()  # twice is harmless
    assert not list(tmp_path.glob("*.part"))
    assert w.segments == [segment_path(out, n) for n in range(1, len(w.segments) + 1)]
    assert len(w.segments) > 2
    read = []
    for seg in w.segments:
        assert seg.stat().st_size <= 1024
        read += _frames(seg)
    assert read == packets  # nothing lost or repeated at a boundary, timestamps whole microseconds


def test_without_rotation_the_capture_is_written_in_place(tmp_path: Path) -> None:
    out = tmp_path / "one.pcap"
    w = SegmentWriter(out, linktype=276)
    w.write(1_700_000_000_000_000_000, b"x" * 3000, 3000)
    w.flush()
    assert _frames(out) == [(1_700_000_000_000_000_000, b"x" * 3000)]  # readable before it is closed
    w.close()
    assert w.segments == [out]
    assert segment_path(Path("a/out.pcap"), 12) == Path("a/out-0012.pcap")
