"""A side's first in-order segment read in place (Flow._client_first / _server_first) against the
buffered path: the same flow, byte for byte, for any segment order.

The short cut skips the reassembly Stream when one segment settles a side (a whole ClientHello,
the server's first bytes after it).  Each case here feeds one generated packet sequence (split,
reordered, retransmitted, overlapping, joined mid-stream, oversized, not TLS at all) to a Flow and
to a Flow whose short cuts always decline, and compares every slot, the reassembly buffers' state
included, and the errors and DNS messages reported.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, ClassVar

import pytest

from analyzer.flows import CLIENT_BUFFER, DETECT, DONE, SERVER_BUFFER, Flow
from analyzer.reassembly import Stream
from fixtures.builders.tls import HANDSHAKE, client_hello, record, records
from parsers.errors import ParseError
from parsers.transport import TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN

_MOD = 1 << 32


class _Buffered(Flow):
    """Every byte through the Stream: the reference."""

    def _client_first(self, base: int | None, seq: int, payload: bytes, on_error: Any) -> bool:
        return False

    def _server_first(self, payload: bytes) -> bool:
        return False


class _Eager(Flow):
    """The reference the lazy buffers are held to: TCP steps as they were before the short cuts, a
    Stream made at the SYN and SYN-ACK, and every payload through one."""

    def tcp_packet(
        self,
        from_client: bool,
        seq: int,
        flags: int,
        payload: bytes,
        wirelen: int,
        ts: int,
        on_error: Any,
        on_dns: Any,
    ) -> None:
        self._count(from_client, wirelen, len(payload), ts)
        if flags & TCP_SYN:
            if from_client and not flags & TCP_ACK:
                self.syn_count += 1
                if self.syn_isn is None:
                    self.syn_isn = seq
                    self.c_stream = Stream((seq + 1) % _MOD, CLIENT_BUFFER)
            elif not from_client and flags & TCP_ACK:
                self.synack = True
                if self.s_stream is None and self.s_state == DETECT:
                    self.s_stream = Stream((seq + 1) % _MOD, SERVER_BUFFER)
        if flags & TCP_RST and self.rst_from is None:
            self.rst_from = "client" if from_client else "server"
        if flags & TCP_FIN:
            if from_client:
                self.c_fin = True
            else:
                self.s_fin = True
        if not payload:
            return
        if from_client:
            if self.c_state == DONE:
                return
            if self.c_stream is None:
                self.c_stream = Stream(None, CLIENT_BUFFER)
            if self.c_stream.add(seq, payload):
                self._client_bytes(on_error, on_dns, ts)
        else:
            if self.s_first is None and self.s_state == DETECT and self.s_stream is None:
                self.s_stream = Stream(None, SERVER_BUFFER)
            if self.s_state == DONE or self.s_stream is None:
                return
            if self.s_stream.add(seq, payload):
                self._server_bytes(on_error, on_dns, ts)


class _Counted(Flow):
    """The real flow, telling how often each short cut settled a side."""

    taken: ClassVar[dict[str, int]] = {"client": 0, "server": 0}

    def _client_first(self, base: int | None, seq: int, payload: bytes, on_error: Any) -> bool:
        done = super()._client_first(base, seq, payload, on_error)
        _Counted.taken["client"] += done
        return done

    def _server_first(self, payload: bytes) -> bool:
        done = super()._server_first(payload)
        _Counted.taken["server"] += done
        return done


def _stream_state(stream: Stream | None) -> object:
    """A buffer that holds nothing yet (an eager one made at the SYN) is no buffer: both take the
    next segment alike, the lazy one made then with the same start."""
    if stream is None or not (stream.data or stream._pending or stream.start or stream.overflow):
        return None
    return (stream.base, stream.anchored, stream.start, bytes(stream.data), dict(stream._pending), stream.overflow)


# Every attribute of a flow: mypyc's native class (the compiled build) lists them in __mypyc_attrs__, not __slots__.
_ATTRS: tuple[str, ...] = getattr(Flow, "__mypyc_attrs__", None) or Flow.__slots__


def _state(flow: Flow) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in _ATTRS:
        if name == "s_base":  # where a lazy server buffer will start: the eager flow has made it
            continue
        value = getattr(flow, name)
        out[name] = _stream_state(value) if name in ("c_stream", "s_stream") else value
    return out


def _client_payload(rng: random.Random, sport: int) -> bytes:
    kind = rng.choice(
        [
            "hello",
            "hello",
            "hello",
            "big-hello",
            "split-records",
            "late-hello",
            "not-hello",
            "http",
            "http-upgrade",
            "short",
            "junk",
        ]
    )
    if sport == 53:
        return b"\x00\x1d" + bytes(rng.randrange(256) for _ in range(29))
    if sport == 1080:
        return b"\x05\x01\x00" + b"\x05\x01\x00\x03\x07example\x01\xbb"
    if kind == "hello":
        return client_hello(f"h{rng.randrange(99)}.example", seed=str(rng.random()))
    if kind == "big-hello":  # larger than the client's buffer: cut to it, then an error
        message = b"\x01" + (CLIENT_BUFFER + 200).to_bytes(3, "big") + bytes(CLIENT_BUFFER + 200)
        return records(message, (16000,) * 4)[: CLIENT_BUFFER + 100]
    if kind == "split-records":  # one handshake message over several TLS records
        whole = client_hello("split.example", seed=str(rng.random()))
        return records(whole[5:], (rng.randrange(1, 200),))
    if kind == "late-hello":  # a whole hello in a segment behind a prefix that has not arrived yet
        return b"\x16\x03\x01\x00\x01\x01" + client_hello("late.example", seed=str(rng.random()))
    if kind == "not-hello":  # a handshake record holding another message: a parse error
        return record(HANDSHAKE, b"\x02\x00\x00\x04abcd")
    if kind == "http":
        return b"GET / HTTP/1.1\r\nHost: web.example\r\n\r\n"
    if kind == "http-upgrade":  # a request, then bytes that end the client's side: the answer is still read
        return b"GET / HTTP/1.1\r\nHost: web.example\r\n\r\n\x00\x01binary"
    if kind == "short":
        return b"\x16\x03\x01"
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))


def _server_payload(rng: random.Random) -> bytes:
    kind = rng.choice(["tls", "tls", "short", "http", "big"])
    if kind == "tls":
        return b"\x16\x03\x03\x00\x02\x02\x00" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
    if kind == "short":
        return b"\x16\x03"
    if kind == "http":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    return b"\x17\x03\x03" + bytes(SERVER_BUFFER + 50)


def _segments(rng: random.Random, base: int, data: bytes) -> list[tuple[int, bytes]]:
    """``data`` cut at random points, shuffled or not, with retransmissions and overlaps."""
    if data[:6] == b"\x16\x03\x01\x00\x01\x01" and rng.random() < 0.7:  # the late hello first
        return [((base + 6) % _MOD, data[6:]), (base % _MOD, data[:6])]
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.choice([0, 0, 1, 2, 4])))) if data else []
    edges = [0, *cuts, len(data)]
    segs = [((base + a) % _MOD, data[a:b]) for a, b in itertools.pairwise(edges) if b > a]
    if rng.random() < 0.3:
        rng.shuffle(segs)
    for _ in range(rng.choice([0, 0, 1, 3])):  # a retransmission or an overlapping piece
        a = rng.randrange(len(data))
        b = rng.randrange(a + 1, len(data) + 1)
        segs.insert(rng.randrange(len(segs) + 1), ((base + a) % _MOD, data[a:b]))
    if rng.random() < 0.1:  # a stray segment from before the stream's start
        segs.insert(0, ((base - 3) % _MOD, b"xyz" + data[:5]))
    return segs


def _packets(seed: int) -> list[tuple[bool, int, int, bytes]]:
    rng = random.Random(seed)
    sport = rng.choice([443, 443, 443, 8443, 80, 53, 1080])
    cisn = rng.choice([rng.randrange(_MOD), _MOD - 40])  # the second wraps inside the hello
    sisn = rng.randrange(_MOD)
    client = _segments(rng, cisn + 1, _client_payload(rng, sport))
    server = _segments(rng, sisn + 1, _server_payload(rng))
    packets: list[tuple[bool, int, int, bytes]] = []
    handshake = rng.random()
    if handshake < 0.8:
        packets.append((True, cisn, TCP_SYN, b""))
        if rng.random() < 0.2:
            packets.append((True, cisn, TCP_SYN, b""))  # a retransmitted SYN
    if handshake < 0.7:
        packets.append((False, sisn, TCP_SYN | TCP_ACK, b""))
        if rng.random() < 0.2:  # a second SYN-ACK with another ISN: the first one counts
            packets.append((False, (sisn + 7) % _MOD, TCP_SYN | TCP_ACK, b""))
    pieces = [(True, seq, TCP_ACK | TCP_PSH, p) for seq, p in client]
    pieces += [(False, seq, TCP_ACK | TCP_PSH, p) for seq, p in server]
    if rng.random() < 0.5:
        rng.shuffle(pieces)  # the sides interleaved any way, the server first sometimes
    else:
        pieces.sort(key=lambda p: not p[0])
    if rng.random() < 0.1:  # a late SYN after data: a capture that joined mid-stream
        pieces.insert(rng.randrange(len(pieces) + 1), (True, cisn, TCP_SYN, b""))
    packets += pieces
    end = rng.choice([TCP_FIN, TCP_RST, 0])
    if end:
        packets.append((True, cisn, end | TCP_ACK, b""))
    return packets


def _run(cls: type[Flow], packets: list[tuple[bool, int, int, bytes]], sport: int) -> tuple[Any, ...]:
    flow = cls(1, 6, 4, "10.0.0.1", 40000, "10.0.0.2", sport, 0)
    errors: list[tuple[str, str]] = []
    dns: list[str] = []

    def on_error(exc: ParseError) -> None:
        errors.append((exc.layer, exc.reason))

    def on_dns(_flow: object, msg: object, ts: int) -> None:
        dns.append(f"{ts} {msg!r}")

    for ts, (from_client, seq, flags, payload) in enumerate(packets, 1):
        flow.tcp_packet(from_client, seq, flags, payload, 60 + len(payload), ts, on_error, on_dns)
    return _state(flow), errors, dns


@pytest.mark.parametrize("chunk", range(8))
def test_first_segment_in_place_matches_the_buffered_path(chunk: int) -> None:
    for seed in range(chunk * 150, (chunk + 1) * 150):
        packets = _packets(seed)
        for sport in (443, 53, 1080):  # the server port decides DNS and SOCKS
            reference = _run(_Eager, packets, sport)
            assert _run(Flow, packets, sport) == reference, f"seed {seed}, port {sport}"
            assert _run(_Buffered, packets, sport) == reference, f"seed {seed}, port {sport}"


def test_the_short_cuts_are_taken_and_declined() -> None:
    """The differential above means something only if both paths run: count them over its cases."""
    _Counted.taken = {"client": 0, "server": 0}
    declined = 0
    for seed in range(300):
        state, _errors, _dns = _run(_Counted, _packets(seed), 443)
        declined += state["c_stream"] is not None or state["c_state"] != DONE  # a buffer, or the side open
    assert _Counted.taken["client"] > 20, _Counted.taken
    assert _Counted.taken["server"] > 20, _Counted.taken
    assert declined > 20, declined


def test_a_whole_hello_in_its_first_segment_needs_no_buffer() -> None:
    hello = client_hello("in-place.example", seed="x")
    flow = Flow(1, 6, 4, "10.0.0.1", 40000, "10.0.0.2", 443, 0)
    errors: list[ParseError] = []
    steps = [
        (True, 100, TCP_SYN, b""),
        (False, 900, TCP_SYN | TCP_ACK, b""),
        (True, 101, TCP_ACK | TCP_PSH, hello),
        (False, 901, TCP_ACK | TCP_PSH, b"\x16\x03\x03\x00\x02\x02\x00"),
    ]
    for from_client, seq, flags, payload in steps:
        flow.tcp_packet(from_client, seq, flags, payload, 60, 1, errors.append, lambda *a: None)
        assert flow.c_stream is None and flow.s_stream is None
    assert (flow.sni, flow.tls_hello, flow.s_first, flow.settled, errors) == (
        "in-place.example",
        True,
        b"\x16\x03\x03\x00\x02\x02\x00",
        True,
        [],
    )
