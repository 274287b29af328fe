"""Deterministic benchmark captures: packets packed with struct (fast enough for gigabytes), the
capture written by parsers.capture_writer.

bulk:      a few TLS downloads of container layers / snaps: handshake, then large server segments
           with client ACKs every second segment (what dominates a real install capture).
handshake: many short connections: DNS query + answer, TCP handshake, TLS ClientHello/ServerHello,
           a little data, FIN close; some blocked (no reply, RST) - the worst case per packet.

--vlan-share S tags that share of the packets with an 802.1Q header (VLAN 100), spread evenly over
the capture, as a trunk port or a hypervisor bridge shows them; the other packets stay untagged.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root holds parsers and fixtures
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.builders.dns import wire_message as dns_message
from fixtures.builders.tls import Hello, groups_ext, key_share_ext, records, sni_ext
from parsers.capture_writer import CaptureWriter

MACS = b"\x00\x16\x3e\x00\x00\x01\x00\x16\x3e\x00\x00\x02"
ETH = MACS + b"\x08\x00"
ETH_VLAN = MACS + b"\x81\x00\x00\x64\x08\x00"  # an 802.1Q tag, VLAN 100, priority 0, then IPv4
IP = struct.Struct("!BBHHHBBH4s4s")
TCP = struct.Struct("!HHIIBBHHH")
UDP = struct.Struct("!HHHH")
CLIENT = bytes([10, 0, 0, 5])
RESOLVER = bytes([10, 0, 0, 2])


def client_hello(sni: str) -> bytes:
    """A small TLS 1.3 ClientHello: server_name, X25519 only, TLS 1.3 only, one cipher suite."""
    hello = Hello(
        sni=None,
        extra_before=[sni_ext(sni.encode()), groups_ext(0x1D)],
        alpn=(),
        versions=(0x0304,),
        extra_after=[key_share_ext((0x1D, b"\x11" * 32))],
        random=b"\x22" * 32,
        session_id=b"\x33" * 32,
        ciphers=(0x1301,),
    )
    return records(hello.message())


SERVER_HELLO = b"\x16\x03\x03\x00\x4a\x02\x00\x00\x46\x03\x03" + b"\x44" * 70


class Writer:
    def __init__(self, path: Path, pcapng: bool = False, vlan_share: float = 0.0) -> None:
        self.fh = path.open("wb")
        self.vlan_share = vlan_share
        self.out = CaptureWriter(self.fh, format="pcapng" if pcapng else "pcap")
        self.t = 1_718_000_000_000_000  # microseconds
        self.packets = 0

    def ip_packet(self, src: bytes, dst: bytes, proto: int, l4: bytes) -> None:
        ip = IP.pack(0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst)
        # Packet n is tagged when the running share crosses a whole number: exactly that share, evenly spread.
        tagged = int((self.packets + 1) * self.vlan_share) > int(self.packets * self.vlan_share)
        frame = (ETH_VLAN if tagged else ETH) + ip + l4
        self.t += 50
        self.out.write(self.t * 1000, frame)
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
        self.out.close()
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


def bulk(path: Path, megabytes: int, pcapng: bool = False, vlan_share: float = 0.0) -> int:
    w = Writer(path, pcapng, vlan_share)
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


def handshakes(path: Path, packets: int, pcapng: bool = False, vlan_share: float = 0.0) -> int:
    w = Writer(path, pcapng, vlan_share)
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
    ap.add_argument("--vlan-share", type=float, default=0.0, help="bulk, handshake: share of packets 802.1Q-tagged")
    args = ap.parse_args()
    if not 0.0 <= args.vlan_share <= 1.0:
        ap.error("--vlan-share is a share between 0 and 1")
    if args.kind == "bulk":
        n = bulk(args.path, args.mb, args.pcapng, args.vlan_share)
    else:
        n = handshakes(args.path, args.packets, args.pcapng, args.vlan_share)
    print(f"{args.path}: {n} packets, {args.path.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
