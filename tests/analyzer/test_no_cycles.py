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
from collections.abc import Callable, Iterator
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
    assert not cyclic_garbage_of(lambda: analyse_and_render(capture))


def cyclic_garbage_of(run: Callable[[], None]) -> list[str]:
    """The types of the cyclic garbage that ``run`` made, as the collector finds it afterwards.

    Garbage of objects that existed before ``run`` is not its own: other tests in the same process
    leave objects that only become garbage later (tornado, under Dask's tests, keeps closed event
    loops in a class-level dict until it next builds a loop; a frozen heap, after a batch CLI run
    in-process, holds such references too).  Those objects are alive, so tracked, before ``run``;
    the ids of live objects cannot be reused by the objects ``run`` makes.
    """
    before = {id(o) for o in gc.get_objects()}
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collector finds, to tell whose it is
    try:
        run()
        gc.collect()
        return [type(o).__name__ for o in gc.garbage if id(o) not in before]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_the_check_sees_a_cycle() -> None:
    """The oracle itself: a run that makes one cycle is caught, and a run without one is not."""

    def with_cycle() -> None:
        row: dict[str, object] = {}
        row["self"] = row

    gc.disable()
    try:
        assert cyclic_garbage_of(with_cycle) == ["dict"]
        assert cyclic_garbage_of(lambda: None) == []
    finally:
        gc.enable()
