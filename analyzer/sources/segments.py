"""The pcap a live capture writes as it goes: flushed regularly, optionally rotated by size.

Without rotation the capture is written straight to its path, as tcpdump does, so a capture that is
killed leaves a readable capture cut after its last flushed record.  With rotation each segment is
written under a ``.part`` name and renamed once it is closed: a folder watcher (the nightly job)
that picks up ``*.pcap`` only ever sees whole segments, and the rename is atomic on one file system.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from parsers.capture_writer import DEFAULT_SNAPLEN, CaptureWriter

_PCAP_HEADER: Final = 24
_RECORD_HEADER: Final = 16
PART: Final = ".part"


def segment_path(path: Path, number: int) -> Path:
    """``out.pcap`` -> ``out-0001.pcap``: the suffix stays last so that ``*.pcap`` globs find segments."""
    return path.with_name(f"{path.stem}-{number:04d}{path.suffix or '.pcap'}")


class SegmentWriter:
    """pcap records to ``path``, or to numbered segments of at most ``rotate`` bytes (one record may
    make a segment larger when it alone is larger than ``rotate``)."""

    __slots__ = ("_linktype", "_number", "_path", "_rotate", "_size", "_writer", "packets", "segments")

    def __init__(self, path: str | os.PathLike[str], linktype: int, rotate: int | None = None) -> None:
        self._path = Path(path)
        self._linktype = linktype
        self._rotate = rotate
        self._number = 0
        self._size = 0
        self.packets = 0
        self.segments: list[Path] = []  # the finished files, in order
        self._writer: CaptureWriter | None = None
        self._open()

    def _current(self) -> Path:
        return self._path if self._rotate is None else segment_path(self._path, self._number)

    def _open(self) -> None:
        self._number += 1
        target = self._current()
        name = target if self._rotate is None else target.with_name(target.name + PART)
        self._writer = CaptureWriter(name, format="pcap", linktype=self._linktype, snaplen=DEFAULT_SNAPLEN)
        self._size = _PCAP_HEADER

    def write(self, ts_ns: int, data: bytes, wirelen: int) -> None:
        size = _RECORD_HEADER + len(data)
        if self._rotate is not None and self._size > _PCAP_HEADER and self._size + size > self._rotate:
            self._finish()
            self._open()
        assert self._writer is not None
        self._writer.write(ts_ns, data, wirelen)
        self._size += size
        self.packets += 1

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def _finish(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.close()
        target = self._current()
        if self._rotate is not None:
            os.replace(target.with_name(target.name + PART), target)
        self.segments.append(target)

    def close(self) -> None:
        """Close the last segment (renamed into place); closing twice is harmless."""
        self._finish()
