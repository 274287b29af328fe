"""diagnose(report): a capture that names no external destination says why, never an empty page."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from analyzer.api import analyze, diagnose
from fixtures.builders.packets import T0_NS, established, write_frames
from fixtures.builders.pcap import pcap_bytes
from tests.support.paths import SUNBEAM


def _diagnosis(path: Path) -> tuple[str, ...]:
    return diagnose(analyze(path))


def test_a_capture_with_names_needs_no_diagnosis() -> None:
    assert diagnose(analyze(SUNBEAM)) == ()


def test_no_packets(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(pcap_bytes([]))
    assert _diagnosis(path) == ("the capture holds no packets: tcpdump was stopped before the install sent anything",)


def test_only_loopback_traffic(tmp_path: Path) -> None:
    path = tmp_path / "lo.pcap"
    frames = [
        bytes(Ether() / IP(src="127.0.0.1", dst="127.0.0.1") / TCP(sport=40000 + i, dport=8080, flags="S"))
        for i in range(3)
    ]
    write_frames(path, frames)
    lines = _diagnosis(path)
    assert len(lines) == 1 and lines[0].startswith("only loopback traffic: was tcpdump run with -i lo?")


def test_addresses_without_names(tmp_path: Path) -> None:
    path = tmp_path / "nameless.pcap"
    write_frames(path, established())
    assert _diagnosis(path) == (
        "1 external destination(s) by address only: no DNS answer, TLS SNI or HTTP Host named them; "
        "start tcpdump before the install so that its lookups are captured",
    )


def test_snap_length_that_cut_every_packet(tmp_path: Path) -> None:
    # tcpdump -s 20 keeps the Ethernet header and 6 bytes of IP: nothing above it can be read.
    frames = established()
    path = tmp_path / "snap.pcap"
    path.write_bytes(pcap_bytes([(T0_NS + i * 1000, f[:20], len(f)) for i, f in enumerate(frames)], snaplen=20))
    lines = _diagnosis(path)
    assert lines[0] == (
        f"snap length cut the packets: {len(frames)} of {len(frames)} could not be decoded; "
        "capture with tcpdump -s 0 (the default) to keep whole headers"
    )


def test_only_link_layer_traffic(tmp_path: Path) -> None:
    from scapy.layers.l2 import ARP

    path = tmp_path / "arp.pcap"
    write_frames(path, [bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.0.1"))])
    assert _diagnosis(path)[0].startswith("no IP packet in the capture")
