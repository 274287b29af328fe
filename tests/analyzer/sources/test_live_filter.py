"""``egress capture -i any --filter``: no packet the filter excludes, even from the moment the socket opens.

A packet socket takes every frame from the moment it is made, before its filter is attached; another
program's traffic in that moment got into the capture (a 'mid-stream' flow of someone's loopback HTTP in
the netns test of ``--filter host ADDR``).  A real ``any`` socket, opened while loopback is busy.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator

import pytest

from analyzer.sources.live import _AnyListenSocket

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="packet sockets need root (CAP_NET_RAW)")

_UDP_DST = slice(22, 24)  # cooked socket, IPv4 without options: the UDP destination port


@pytest.fixture
def busy_loopback() -> Iterator[int]:
    """UDP datagrams to 127.0.0.1 as fast as one thread sends them, to a port the filter excludes."""
    stop = threading.Event()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]

        def flood() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                while not stop.is_set():
                    s.sendto(b"noise", ("127.0.0.1", port))

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        try:
            yield port
        finally:
            stop.set()
            t.join()


def test_a_filtered_any_socket_holds_only_what_its_filter_takes(busy_loopback: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as wanted:
        wanted.bind(("127.0.0.1", 0))
        port = wanted.getsockname()[1]
        for _ in range(5):  # the flood gets into the moment before the filter on any run without the drain
            sock = _AnyListenSocket(f"udp and dst port {port}")
            try:
                sock.ins.setblocking(False)
                queued = []
                with contextlib.suppress(BlockingIOError):
                    while True:
                        queued.append(sock.ins.recv(65536))
                noise = [d for d in queued if int.from_bytes(d[_UDP_DST], "big") != port]
                assert not noise, f"{len(noise)} packet(s) of the flood to port {busy_loopback} past the filter"
                # and the filter takes what it should
                sock.ins.settimeout(30)
                wanted.sendto(b"wanted", ("127.0.0.1", port))
                assert sock.ins.recv(65536).endswith(b"wanted")
            finally:
                sock.close()
