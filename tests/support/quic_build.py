"""Building test captures for QUIC and chunked HTTP: an Initial sealer written from RFC 9001 apart
from parsers.quic (so the two check each other), and tshark as the oracle when it is installed."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import shutil
import struct
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

HAVE_TSHARK = shutil.which("tshark") is not None
C, S = "10.0.0.5", "203.0.113.80"

SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
SALT_D29 = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")


def varint(v: int) -> bytes:
    for size, prefix in ((1, 0), (2, 0x40), (4, 0x80), (8, 0xC0)):
        if v < 1 << (8 * size - 2):
            return (v | prefix << (8 * size - 8)).to_bytes(size, "big")
    raise ValueError(v)


def _label(secret: bytes, label: bytes, n: int) -> bytes:
    full = b"tls13 " + label
    info = struct.pack("!HB", n, len(full)) + full + b"\x00"
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:n]


def keys_for(salt: bytes, dcid: bytes, prefix: bytes = b"quic ") -> tuple[bytes, bytes, bytes]:
    initial = hmac.new(salt, dcid, hashlib.sha256).digest()
    secret = _label(initial, b"client in", 32)
    return _label(secret, prefix + b"key", 16), _label(secret, prefix + b"iv", 12), _label(secret, prefix + b"hp", 16)


def seal_initial(
    frames: bytes,
    dcid: bytes = bytes(range(8)),
    scid: bytes = b"\x11" * 4,
    version: int = 1,
    pn: int = 0,
    token: bytes = b"",
    salt: bytes = SALT_V1,
    key_dcid: bytes | None = None,
    pad_to: int | None = None,
) -> bytes:
    """A protected client Initial (v1-style type bits) with a 2-byte packet number."""
    key, iv, hp = keys_for(salt, dcid if key_dcid is None else key_dcid)
    pn_len = 2
    if pad_to is not None:
        hlen = 1 + 4 + 1 + len(dcid) + 1 + len(scid) + len(varint(len(token))) + len(token) + 4 + pn_len
        need = pad_to - hlen - 16 - len(frames)
        if need > 0:
            frames = frames + b"\x00" * need
    if len(frames) < 4:
        frames = frames + b"\x00" * (4 - len(frames))
    first = 0xC0 | (0 << 4) | (pn_len - 1)
    length = pn_len + len(frames) + 16
    header = (
        bytes([first])
        + version.to_bytes(4, "big")
        + bytes([len(dcid)])
        + dcid
        + bytes([len(scid)])
        + scid
        + varint(len(token))
        + token
        + (length | 0x80000000).to_bytes(4, "big")
    )
    pn_bytes = pn.to_bytes(pn_len, "big")
    nonce = (int.from_bytes(iv, "big") ^ pn).to_bytes(12, "big")
    ct = AESGCM(key).encrypt(nonce, frames, header + pn_bytes)
    pn_off = len(header)
    sample = ct[4 - pn_len : 4 - pn_len + 16]
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    first_p = first ^ (mask[0] & 0x0F)
    prot_pn = bytes(b ^ m for b, m in zip(pn_bytes, mask[1 : 1 + pn_len], strict=True))
    return bytes([first_p]) + header[1:pn_off] + prot_pn + ct


def crypto(offset: int, data: bytes) -> bytes:
    return b"\x06" + varint(offset) + varint(len(data)) + data


def client_hello(name: str) -> bytes:
    """The ClientHello handshake message aioquic sends for ``name`` (from its first Initial)."""
    from parsers.quic import crypto_frames, open_initial
    from tests.parsers.test_quic import client_flight

    pieces: dict[int, bytes] = {}
    for d in client_flight(name):
        pos = 0
        while pos < len(d) and d[pos] & 0xC0 == 0xC0:
            p = open_initial(d[pos:])
            pieces.update(crypto_frames(p.payload))
            pos += p.length
    return b"".join(pieces[o] for o in sorted(pieces))


def write_udp(
    path: Path, datagrams: list[bytes], sport: int = 50001, dport: int = 443, src: str = C, dst: str = S
) -> None:
    pkts = [Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / d for d in datagrams]
    for i, p in enumerate(pkts):
        p.time = 1_718_000_000 + i / 1000
    wrpcap(str(path), pkts)


def write_tcp(path: Path, stream: bytes, cuts: list[int] | None = None, dport: int = 80) -> None:
    bounds = [0, *(cuts or []), len(stream)]
    pkts = [
        Ether() / IP(src=C, dst=S) / TCP(sport=40001, dport=dport, flags="S", seq=99),
        Ether() / IP(src=S, dst=C) / TCP(sport=dport, dport=40001, flags="SA", seq=499, ack=100),
        Ether() / IP(src=C, dst=S) / TCP(sport=40001, dport=dport, flags="A", seq=100, ack=500),
    ]
    for a, b in itertools.pairwise(bounds):
        pkts.append(
            Ether() / IP(src=C, dst=S) / TCP(sport=40001, dport=dport, flags="PA", seq=100 + a, ack=500) / stream[a:b]
        )
    pkts.append(Ether() / IP(src=S, dst=C) / TCP(sport=dport, dport=40001, flags="A", seq=500, ack=100 + len(stream)))
    for i, p in enumerate(pkts):
        p.time = 1_718_000_000 + i / 1000
    wrpcap(str(path), pkts)


def tshark_fields(path: Path, display_filter: str, field: str) -> list[str]:
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", display_filter, "-T", "fields", "-e", field],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [x for x in out.split() if x]


def tshark_sni(path: Path) -> list[str]:
    return tshark_fields(path, "quic", "tls.handshake.extensions_server_name")


def tshark_hosts(path: Path) -> list[str]:
    return tshark_fields(path, "http.request", "http.host")
