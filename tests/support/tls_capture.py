"""Small captures of TLS connections by SNI, for tests that need a name at chosen addresses.

The ClientHello is the fixtures' own (fixtures.builders.tls); the packets are built with scapy and
written with the product's capture writer.
"""

from __future__ import annotations

from pathlib import Path

from fixtures.builders.tls import client_hello
from parsers.capture_writer import CaptureWriter


def write_tls_capture(
    path: Path, connections: list[tuple[bytes, str, int]], start_ns: int = 1_700_000_000 * 10**9
) -> None:
    """One completed handshake and ClientHello per (sni, address, port), answered with a TLS record."""
    from scapy.all import IP, TCP, Ether

    with CaptureWriter(path) as w:
        for i, (sni, dst, port) in enumerate(connections):
            hello = client_hello(sni, seed=f"conn-{i}")
            sport, c, s = 40000 + i, 1000, 5000
            out = Ether() / IP(src="10.0.0.5", dst=dst)
            back = Ether() / IP(src=dst, dst="10.0.0.5")
            seq = [
                out / TCP(sport=sport, dport=port, flags="S", seq=c),
                back / TCP(sport=port, dport=sport, flags="SA", seq=s, ack=c + 1),
                out / TCP(sport=sport, dport=port, flags="A", seq=c + 1, ack=s + 1),
                out / TCP(sport=sport, dport=port, flags="PA", seq=c + 1, ack=s + 1) / hello,
                back
                / TCP(sport=port, dport=sport, flags="PA", seq=s + 1, ack=c + 1 + len(hello))
                / b"\x16\x03\x03\x00\x01\x02",
            ]
            for k, p in enumerate(seq):
                w.write(start_ns + i * 10**9 + k * 10**7, bytes(p))
