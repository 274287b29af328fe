"""The highest packet rate `egress capture` takes on loopback with zero kernel drops (a benchmark, not a test).

A sender process paces small UDP datagrams to 127.0.0.1 at a given rate for DURATION seconds while a
live capture (the product's own LiveCapture, the pcap written as it runs, a kernel filter keeping only
the bench's port) reads them; the kernel's PACKET_STATISTICS says how many it dropped.  Rates double
until one drops, then a bisection finds the highest rate without a drop.  Loopback shows each
datagram twice to a packet socket (going out and coming in): both cost a read, the outgoing copy is
skipped, so the kernel-side rate is twice the datagram rate.  A rate counts as kept up with only if no
packet was dropped and the capture ended with the sender (no backlog left in the kernel queue).  Needs root.

    sudo .venv/bin/python bench/capture_rate.py [--duration 10] [--size 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzer.api import capture

PORT = 47999


def send(rate: int, duration: float, size: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"x" * size
    total = int(rate * duration)
    start = time.perf_counter()
    batch = max(1, rate // 1000)  # paced per millisecond: bursts stay small
    sent = 0
    while sent < total:
        for _ in range(min(batch, total - sent)):
            s.sendto(payload, ("127.0.0.1", PORT))
        sent += batch
        ahead = start + sent / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)


def trial(rate: int, duration: float, size: int) -> tuple[int, int, float]:
    """(datagrams captured, kernel drops, seconds) at ``rate`` datagrams per second."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a listener, so the datagrams are delivered
    sink.bind(("127.0.0.1", PORT))
    sink.setblocking(False)
    with tempfile.TemporaryDirectory() as tmp:
        live = capture("lo", bpf=f"udp port {PORT}", write=Path(tmp) / "bench.pcap")
        sender = multiprocessing.Process(target=send, args=(rate, duration, size))
        t0 = time.perf_counter()
        sender.start()

        def stop() -> bool:
            try:
                while sink.recv(4096):  # keep the receiver's own queue empty
                    pass
            except BlockingIOError:
                pass
            return not sender.is_alive()

        live.run(stop)
        elapsed = time.perf_counter() - t0
        live.close()
        sender.join()
    sink.close()
    return live.packets, live.drops, elapsed


def kept_up(got: int, drops: int, took: float, rate: int, duration: float) -> bool:
    """Every datagram captured, none dropped, and no backlog: the kernel queue (64 MB) absorbs a rate the
    capture cannot sustain for a while, so a run that ends much later than the sender is not keeping up."""
    return not drops and got >= rate * duration and took <= duration * 1.05 + 0.2


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--size", type=int, default=100, help="UDP payload bytes")
    p.add_argument("--start", type=int, default=2000)
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("capture_rate: needs root (a packet socket)")
    good, bad = 0, None
    rate = a.start
    while bad is None:
        got, drops, took = trial(rate, a.duration, a.size)
        print(f"{rate:>8} datagrams/s: {got} captured in {took:.1f} s, {drops} dropped", flush=True)
        if not kept_up(got, drops, took, rate, a.duration):
            bad = rate
        else:
            good, rate = rate, rate * 2
    while bad - good > max(500, good // 20):
        rate = (good + bad) // 2
        got, drops, took = trial(rate, a.duration, a.size)
        print(f"{rate:>8} datagrams/s: {got} captured in {took:.1f} s, {drops} dropped", flush=True)
        if not kept_up(got, drops, took, rate, a.duration):
            bad = rate
        else:
            good = rate
    print(
        f"highest rate captured with zero drops and no backlog over {a.duration:.0f} s: {good} datagrams/s "
        f"({2 * good} packets/s read from the packet socket on loopback), {a.size}-byte payloads, pcap written"
    )


if __name__ == "__main__":
    main()
