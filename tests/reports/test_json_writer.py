"""The JSON writer's short cuts say exactly what the standard library would: its once-built
encoder against ``json.dumps``, its timestamps against ``datetime``."""

from __future__ import annotations

import datetime as dt
import json
import math
import random

import pytest

from reports.display import iso
from reports.jsondoc import _encoder

VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2**70,
    1.5,
    1e-7,
    math.inf,
    -math.inf,
    math.nan,
    "",
    "plain",
    'quote " backslash \\ slash /',
    "\x00\x1b[31m\x7f control",
    "ünïcödé \u2028 \u2029 \U0001f600 \ud800",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    [],
    {},
    [1, "a", None, [2, [3]], {"k": [True]}],
    {"ts": "2024-06-10T06:13:20.000000Z", "addresses": ["10.0.0.1", "::1"], "n": 3, "x": None, "é": "ß"},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_encoder_writes_what_json_dumps_writes(value: object) -> None:
    assert _encoder()(value) == json.dumps(value, ensure_ascii=True)


def test_the_encoder_refuses_what_json_dumps_refuses() -> None:
    for bad in ({"b": b"bytes"}, [object()], {("tuple", "key"): 1}):
        with pytest.raises(TypeError):
            json.dumps(bad)
        with pytest.raises(TypeError):
            _encoder()(bad)


def _oracle(ns: int) -> str:
    """ISO-8601 from datetime alone: whole microseconds as datetime writes them, else nanoseconds."""
    sec, frac = divmod(ns, 1_000_000_000)
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=sec)
    head = when.strftime("%Y-%m-%dT%H:%M:%S")
    if frac % 1000 == 0:
        return when.replace(microsecond=frac // 1000).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return f"{head}.{frac:09d}Z"


def test_timestamps_match_datetime() -> None:
    rng = random.Random(15)
    values = [0, 1, 999, 1000, 999_999_999, -1, -1000, -1_000_000_000, 1_718_000_000_123_456_000]
    values += [rng.randrange(-(10**17), 4 * 10**18) for _ in range(5000)]
    values += [rng.randrange(0, 4 * 10**18) // 1000 * 1000 for _ in range(5000)]
    for ns in values:
        assert iso(ns) == _oracle(ns), ns
    assert iso(None) is None
