"""Shared harness for the parser tests.

Two contracts are checked for every valid input a test builds (with scapy, dpkt or by hand
from the RFC layout, never from our own parser's output):

* stream parsers (``None`` = need more bytes): the whole buffer gives the record, every strict
  prefix fed one byte at a time gives ``None`` (never an exception, never a record), and the
  same record comes back with trailing bytes appended;
* packet parsers: the whole buffer gives the record, every strict prefix raises ``ParseError``
  (never IndexError/struct.error) or gives a result the test accepts for a cut packet, and
  trailing bytes do not change the result.

The helpers are handed to tests as fixtures (``stream_check`` / ``packet_check``) so they work
under any pytest import mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from parsers.errors import ParseError
from tests.support.paths import CORPUS

# Trailing data a caller might have after a record: a NUL, another TLS record header, a pipelined
# HTTP request, Ethernet-style zero padding and every byte value.
DEFAULT_TRAILERS: tuple[bytes, ...] = (
    b"\x00",
    b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
    b"GET /next HTTP/1.1\r\nHost: next.example\r\n\r\n",
    b"\x00" * 18,
    bytes(range(256)),
)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"


def check_stream(
    parse: Callable[[bytes], Any],
    buf: bytes,
    trailers: Iterable[bytes] = DEFAULT_TRAILERS,
) -> Any:
    """Run the three-way stream contract; return the record of the whole buffer."""
    whole = parse(buf)
    assert whole is not None, "the whole buffer must give a record, not 'need more bytes'"

    acc = bytearray()
    for i, byte in enumerate(buf):
        try:
            got = parse(bytes(acc))
        except Exception as exc:
            pytest.fail(f"strict prefix of {i}/{len(buf)} bytes raised {_describe(exc)}; expected None")
        assert got is None, f"strict prefix of {i}/{len(buf)} bytes returned {got!r}; expected None"
        acc.append(byte)
    assert parse(bytes(acc)) == whole, "feeding one byte at a time ended with a different record"

    for tail in trailers:
        try:
            got = parse(buf + tail)
        except Exception as exc:
            pytest.fail(f"{len(tail)} trailing bytes {tail[:16]!r}... made the parser raise {_describe(exc)}")
        assert got == whole, f"{len(tail)} trailing bytes {tail[:16]!r}... changed the record"
    return whole


def check_packet(
    parse: Callable[[bytes], Any],
    buf: bytes,
    *,
    on_prefix: Callable[[int, Any, Any], None] | None = None,
    trailers: Iterable[bytes] = DEFAULT_TRAILERS,
    same: Callable[[Any, Any], bool] | None = None,
) -> Any:
    """Run the packet contract; return the record of the whole buffer.

    ``on_prefix(i, result, whole)`` is called when a strict prefix of ``i`` bytes does not raise
    ``ParseError``; it must assert that ``result`` is acceptable for a cut packet.  Without it any
    prefix that does not raise ``ParseError`` fails the test.
    """
    whole = parse(buf)
    for i in range(len(buf)):
        try:
            got = parse(buf[:i])
        except ParseError:
            continue
        except Exception as exc:
            pytest.fail(f"strict prefix of {i}/{len(buf)} bytes raised {_describe(exc)}; expected ParseError")
        if on_prefix is None:
            pytest.fail(f"strict prefix of {i}/{len(buf)} bytes returned {got!r}; expected ParseError")
        on_prefix(i, got, whole)
    for tail in trailers:
        try:
            got = parse(buf + tail)
        except Exception as exc:
            pytest.fail(f"{len(tail)} trailing bytes made the parser raise {_describe(exc)}")
        ok = same(got, whole) if same is not None else got == whole
        assert ok, f"{len(tail)} trailing bytes changed the result: {got!r} != {whole!r}"
    return whole


def only_parse_errors(parse: Callable[[bytes], Any], data: bytes) -> Any:
    """Call ``parse``; a ParseError is fine, anything else fails with the input in the message."""
    try:
        return parse(data)
    except ParseError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        assert isinstance(exc.layer, str) and exc.layer
        return None
    except Exception as exc:
        pytest.fail(f"input {data.hex()} raised {_describe(exc)}; only ParseError is allowed")


def presentation(raw: bytes, also_escape: bytes = b"") -> str:
    """dig's presentation format, written from the spec: printable ASCII except ``\\`` stays,
    every other byte becomes ``\\DDD`` (three decimal digits)."""
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x5C and b not in also_escape else f"\\{b:03d}" for b in raw)


@pytest.fixture(scope="session")
def stream_check() -> Callable[..., Any]:
    return check_stream


@pytest.fixture(scope="session")
def packet_check() -> Callable[..., Any]:
    return check_packet


@pytest.fixture(scope="session")
def dig_escape() -> Callable[..., str]:
    return presentation


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared capture corpus not present at {CORPUS}")
    return CORPUS


_LAST_IN_MODULE = "test_corpus.py::test_enough_of_the_corpus_was_compared"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The corpus tally sums what the per-capture tests of its module compared: it runs after the last of
    them whatever order a plugin gave (pytest-randomly, say), not only in file order."""
    tally = [i for i in items if i.nodeid.endswith(_LAST_IN_MODULE)]
    if not tally:
        return
    module = tally[0].nodeid.split("::")[0]
    rest = [i for i in items if i not in tally]
    last = max((n for n, i in enumerate(rest) if i.nodeid.split("::")[0] == module), default=len(rest) - 1)
    items[:] = [*rest[: last + 1], *tally, *rest[last + 1 :]]
