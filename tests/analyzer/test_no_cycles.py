"""An analysis makes no reference cycles: what lets a batch run collect garbage rarely
(analyzer.pipeline.tune_gc_for_batch_run sets a threshold of a million containers).

With the cyclic collector off, everything an analysis of a fixture capture creates must be freed
by reference counting alone once the report is gone: ``gc.collect()`` then finds nothing.  Each
capture is analysed once before, so that what its first run imports (modules and classes are
cycles by nature) is not counted.  A
change that leaves a cycle per packet or per flow (a flow pointing at its engine, a closure kept
on a record) fails here, before it can make a long capture's memory grow between collections.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzer import api
from reports import jsondoc, markdown
from tests.support.paths import CAPTURES, REPLAY

ALLOWLIST = REPLAY / "sunbeam.allowlist.md"


def analyse_and_render(capture: Path) -> None:
    report = api.analyze(capture, allowlist=api.read_allowlist(ALLOWLIST))
    assert report.capture.packets > 0
    assert jsondoc.render(report) and markdown.render(report)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("capture", sorted(CAPTURES.glob("*.pcap*")), ids=lambda p: p.name)
def test_analysing_a_capture_leaves_no_cyclic_garbage(capture: Path, collector_off: None) -> None:
    analyse_and_render(capture)  # imports and caches, once
    gc.collect()
    analyse_and_render(capture)
    assert gc.collect() == 0
