"""Small scapy-built captures of TLS connections by SNI, for tests that need a name at chosen addresses."""

from __future__ import annotations

from pathlib import Path


def client_hello(sni: bytes) -> bytes:
    from scapy.layers.tls.all import TLS, ServerName, TLS_Ext_ServerName, TLSClientHello

    ext = [TLS_Ext_ServerName(servernames=[ServerName(servername=sni)])]
    return bytes(TLS(msg=[TLSClientHello(ext=ext)]))


def write_tls_capture(path: Path, connections: list[tuple[bytes, str, int]], start: float = 1_700_000_000.0) -> None:
    """One completed handshake and ClientHello per (sni, address, port), answered with a TLS record."""
    from scapy.all import IP, TCP, Ether, wrpcap

    packets = []
    for i, (sni, dst, port) in enumerate(connections):
        hello = client_hello(sni)
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
            p.time = start + i + k * 0.01
        packets += seq
    wrpcap(str(path), packets)
