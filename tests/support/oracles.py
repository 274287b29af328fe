"""Independent readers of capture files (scapy, dpkt, tshark), to check what ours read and write."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from scapy.utils import RawPcapNgReader, RawPcapReader

from parsers.capture import Frame

HAVE_TSHARK = shutil.which("tshark") is not None

# (data, ts_ns, linktype, caplen, wirelen): what every oracle below gives per packet.
Packet = tuple[bytes, int, int, int, int]

# Wireshark's encapsulation numbers (frame.encap_type) for the link types the tests write.
WTAP_ENCAP = {1: 1, 101: 7, 113: 25, 228: 7, 229: 7, 276: 210}


def ours(frames: list[Frame]) -> list[Packet]:
    return [(f.data, f.ts_ns, f.linktype, f.caplen, f.wirelen) for f in frames]


def scapy_frames(path: Path) -> list[Packet]:
    """Every packet according to scapy's RawPcapReader / RawPcapNgReader."""
    out = []
    with RawPcapReader(str(path)) as reader:  # dispatches to RawPcapNgReader for pcapng
        for data, meta in reader:
            if isinstance(reader, RawPcapNgReader):
                ticks = (meta.tshigh << 32) | meta.tslow
                ts_ns = ticks * 1_000_000_000 // meta.tsresol
                linktype, caplen, wirelen = meta.linktype, len(data), meta.wirelen
            else:
                ts_ns = meta.sec * 1_000_000_000 + meta.usec * (1 if reader.nano else 1000)
                linktype, caplen, wirelen = reader.linktype, meta.caplen, meta.wirelen
            out.append((data, ts_ns, linktype, caplen, wirelen))
    return out


def tshark_frames(path: Path) -> list[tuple[bytes, int, int, int, int]]:
    """(data, ts_ns, wtap encapsulation, caplen, wirelen) per packet according to tshark."""
    proc = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "json", "-x", "-J", "frame"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = []
    for packet in json.loads(proc.stdout):
        layers = packet["_source"]["layers"]
        frame = layers["frame"]
        sec, _, frac = frame["frame.time_epoch"].partition(".")
        ts_ns = int(sec) * 10**9 + int(frac.ljust(9, "0")[:9])
        data = bytes.fromhex(layers["frame_raw"][0]) if int(frame["frame.cap_len"]) else b""
        out.append((data, ts_ns, int(frame["frame.encap_type"]), int(frame["frame.cap_len"]), int(frame["frame.len"])))
    return out


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
