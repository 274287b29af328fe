"""Deterministic benchmark captures, written with struct (fast enough for gigabytes).

bulk:      a few TLS downloads of container layers / snaps: handshake, then large server segments
           with client ACKs every second segment (what dominates a real install capture).
handshake: many short connections: DNS query + answer, TCP handshake, TLS ClientHello/ServerHello,
           a little data, FIN close; some blocked (no reply, RST) - the worst case per packet.
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

PCAP_HDR = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
REC = struct.Struct("<IIII")
ETH = b"\x00\x16\x3e\x00\x00\x01\x00\x16\x3e\x00\x00\x02\x08\x00"
IP = struct.Struct("!BBHHHBBH4s4s")
TCP = struct.Struct("!HHIIBBHHH")
UDP = struct.Struct("!HHHH")
CLIENT = bytes([10, 0, 0, 5])
RESOLVER = bytes([10, 0, 0, 2])


def client_hello(sni: str) -> bytes:
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    groups = struct.pack("!HHH", 10, 4, 2) + b"\x00\x1d"
    versions = struct.pack("!HHB", 43, 3, 2) + b"\x03\x04"
    key_share = struct.pack("!HHHHH", 51, 38, 36, 0x1D, 32) + b"\x11" * 32
    exts = sni_ext + groups + versions + key_share
    body = b"\x03\x03" + b"\x22" * 32 + b"\x20" + b"\x33" * 32 + b"\x00\x02\x13\x01\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


SERVER_HELLO = b"\x16\x03\x03\x00\x4a\x02\x00\x00\x46\x03\x03" + b"\x44" * 70


def dns_message(ident: int, name: str, answer: bytes | None) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    flags = 0x8180 if answer else 0x0100
    msg = struct.pack("!HHHHHH", ident, flags, 1, 1 if answer else 0, 0, 0) + qname + b"\x00\x01\x00\x01"
    if answer:
        msg += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + answer
    return msg


# pcapng as dumpcap writes it: a section header, one Ethernet interface (µs), enhanced packet blocks.
NG_HDR = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28) + struct.pack("<IIHHII", 1, 20, 1, 0, 0, 20)
EPB = struct.Struct("<IIIIIII")


class Writer:
    def __init__(self, path: Path, pcapng: bool = False) -> None:
        self.fh = path.open("wb")
        self.fh.write(NG_HDR if pcapng else PCAP_HDR)
        self.pcapng = pcapng
        self.t = 1_718_000_000_000_000  # microseconds
        self.packets = 0

    def ip_packet(self, src: bytes, dst: bytes, proto: int, l4: bytes) -> None:
        ip = IP.pack(0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst)
        frame = ETH + ip + l4
        self.t += 50
        if self.pcapng:
            pad = -len(frame) % 4
            blen = 32 + len(frame) + pad
            self.fh.write(EPB.pack(6, blen, 0, self.t >> 32, self.t & 0xFFFFFFFF, len(frame), len(frame)))
            self.fh.write(frame + b"\x00" * pad + struct.pack("<I", blen))
        else:
            self.fh.write(REC.pack(self.t // 1_000_000, self.t % 1_000_000, len(frame), len(frame)))
            self.fh.write(frame)
        self.packets += 1

    def tcp(self, src: bytes, dst: bytes, sp: int, dp: int, seq: int, ack: int, flags: int, data: bytes = b"") -> None:
        self.ip_packet(
            src, dst, 6, TCP.pack(sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0) + data
        )

    def udp(self, src: bytes, dst: bytes, sp: int, dp: int, data: bytes) -> None:
        self.ip_packet(src, dst, 17, UDP.pack(sp, dp, 8 + len(data), 0) + data)

    def tls_connection(self, server: bytes, sport: int, sni: str, segments: int, blocked: str | None = None) -> None:
        c, s = CLIENT, server
        cseq, sseq = 1000 + sport, 900000 + sport
        self.tcp(c, s, sport, 443, cseq, 0, 0x02)
        if blocked == "no-reply":
            self.tcp(c, s, sport, 443, cseq, 0, 0x02)
            return
        if blocked == "reset":
            self.tcp(s, c, 443, sport, 0, cseq + 1, 0x14)
            return
        self.tcp(s, c, 443, sport, sseq, cseq + 1, 0x12)
        self.tcp(c, s, sport, 443, cseq + 1, sseq + 1, 0x10)
        hello = client_hello(sni)
        self.tcp(c, s, sport, 443, cseq + 1, sseq + 1, 0x18, hello)
        cseq += 1 + len(hello)
        sseq += 1
        self.tcp(s, c, 443, sport, sseq, cseq, 0x18, SERVER_HELLO)
        sseq += len(SERVER_HELLO)
        data = b"\x17\x03\x03\x05\x6b" + b"\x55" * 1443
        for i in range(segments):
            self.tcp(s, c, 443, sport, sseq, cseq, 0x10, data)
            sseq += len(data)
            if i % 2:
                self.tcp(c, s, sport, 443, cseq, sseq, 0x10)
        self.tcp(c, s, sport, 443, cseq, sseq, 0x11)
        self.tcp(s, c, 443, sport, sseq, cseq + 1, 0x11)
        self.tcp(c, s, sport, 443, cseq + 1, sseq + 1, 0x10)

    def close(self) -> None:
        self.fh.close()


NAMES = [
    "registry-1.docker.io",
    "production.cloudflare.docker.com",
    "api.snapcraft.io",
    "api.charmhub.io",
    "canonical-lgw01.cdn.snapcraftcontent.com",
    "registry.k8s.io",
    "ghcr.io",
    "quay.io",
    "images.lxd.canonical.com",
    "streams.canonical.com",
]


def bulk(path: Path, megabytes: int, pcapng: bool = False) -> int:
    w = Writer(path, pcapng)
    target = megabytes * 1_000_000
    conn = 0
    while w.fh.tell() < target:
        name = NAMES[conn % len(NAMES)]
        server = bytes([203, 0, 113, 10 + conn % len(NAMES)])
        w.udp(CLIENT, RESOLVER, 30000 + conn % 30000, 53, dns_message(conn & 0xFFFF, name, None))
        w.udp(RESOLVER, CLIENT, 53, 30000 + conn % 30000, dns_message(conn & 0xFFFF, name, server))
        w.tls_connection(server, 40000 + conn % 20000, name, segments=20000)
        conn += 1
    w.close()
    return w.packets


def handshakes(path: Path, packets: int, pcapng: bool = False) -> int:
    w = Writer(path, pcapng)
    conn = 0
    while w.packets < packets:
        name = f"node{conn % 997}.{NAMES[conn % len(NAMES)]}"
        server = bytes([198, 51, (conn >> 8) & 0xFF, conn & 0xFF])
        sport = 20000 + conn % 40000
        w.udp(CLIENT, RESOLVER, 10000 + conn % 50000, 53, dns_message(conn & 0xFFFF, name, None))
        w.udp(RESOLVER, CLIENT, 53, 10000 + conn % 50000, dns_message(conn & 0xFFFF, name, server))
        blocked = "no-reply" if conn % 7 == 0 else "reset" if conn % 11 == 0 else None
        w.tls_connection(server, sport, name, segments=2, blocked=blocked)
        conn += 1
    w.close()
    return w.packets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("kind", choices=["bulk", "handshake"])
    ap.add_argument("path", type=Path)
    ap.add_argument("--mb", type=int, default=500, help="bulk: size in MB")
    ap.add_argument("--packets", type=int, default=120_000, help="handshake: packet count")
    ap.add_argument("--pcapng", action="store_true", help="write pcapng (as Wireshark/dumpcap do) instead of pcap")
    args = ap.parse_args()
    if args.kind == "bulk":
        n = bulk(args.path, args.mb, args.pcapng)
    else:
        n = handshakes(args.path, args.packets, args.pcapng)
    print(f"{args.path}: {n} packets, {args.path.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
