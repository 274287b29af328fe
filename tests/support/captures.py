"""Reading the fixture captures back as records, to rewrite them in another container."""

from __future__ import annotations

from parsers.capture import CaptureReader
from tests.support.paths import CAPTURES


def fixture_records(name: str) -> list[tuple[int, int, bytes, int]]:
    """(ts_ns, linktype, data, wirelen) of every record of a fixture capture."""
    with (CAPTURES / name).open("rb") as fh:
        return [(f.ts_ns, f.linktype, f.data, f.wirelen) for f in CaptureReader(fh, name=name)]
