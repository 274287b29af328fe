"""The fast path must not change a single answer: it is compared with the full decoder on every capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.pipeline import analyze, analyze_stream
from fixtures.builders.packets import established
from parsers.capture import CHUNK
from parsers.capture_writer import CaptureWriter
from reports.jsondoc import document
from tests.support.paths import CAPTURES, CORPUS


def _captures() -> list[Path]:
    paths = sorted(CAPTURES.iterdir())
    if CORPUS.is_dir():
        paths += sorted(p for p in CORPUS.rglob("*") if p.suffix in (".pcap", ".gz") and p.is_file())
    return [p for p in paths if p.is_file()]


@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_fast_and_full_decoders_agree(path: Path) -> None:
    fast = document(analyze(path, fast=True))
    full = document(analyze(path, fast=False))
    assert fast["capture"] == full["capture"]
    for table in ("summary", "flows", "http", "dns", "parse_errors"):
        assert fast[table] == full[table], table
    assert fast["warnings"] == full["warnings"]


def test_a_capture_cut_anywhere_gives_the_same_warning(tmp_path: Path) -> None:
    """tcpdump killed mid-record or mid-header: both readers must say the same thing."""
    data = (CAPTURES / "sll.pcap").read_bytes()
    cut_file = tmp_path / "cut.pcap"
    for cut in range(1, 200):
        cut_file.write_bytes(data[:-cut])
        fast, full = analyze(cut_file, fast=True), analyze(cut_file, fast=False)
        assert fast.warnings == full.warnings, cut
        assert fast.capture == full.capture, cut


def _tables(path: Path, fast: bool, chunk_size: int = CHUNK) -> dict[str, object]:
    with path.open("rb") as fh:
        doc = document(analyze_stream(fh, str(path), fast=fast, chunk_size=chunk_size))
    return {k: doc[k] for k in ("capture", "summary", "flows", "http", "dns", "parse_errors", "warnings")}


@pytest.mark.parametrize("chunk", [61, 256, 1500, 4093])
@pytest.mark.parametrize(
    "name", ["sunbeam-install.pcap", "microk8s-install.pcap", "sll.pcap", "sll2.pcap", "be-micro.pcap", "raw101.pcap"]
)
def test_records_cut_by_read_chunks_change_nothing(name: str, chunk: int) -> None:
    """The hot loop reads a record's head in one struct read only when it lies wholly inside the
    current chunk; small chunks put that boundary everywhere, including inside the one-read window."""
    path = CAPTURES / name
    assert _tables(path, fast=True, chunk_size=chunk) == _tables(path, fast=False)


def _write_pcap(path: Path, frames: list[tuple[bytes, int]]) -> None:
    """Ethernet pcap; each frame is (bytes captured, length on the wire) so snaplen cuts can be built."""
    with CaptureWriter(path, snaplen=65535) as w:
        for i, (data, wirelen) in enumerate(frames):
            w.write(1_700_000_000 * 10**9 + i * 1_000_000, data, wirelen)


def test_fragments_of_a_known_connection_go_to_the_reassembler(tmp_path: Path) -> None:
    from scapy.layers.inet import IP, TCP, fragment
    from scapy.layers.l2 import Ether

    big = IP(src="203.0.113.9", dst="10.0.0.5") / TCP(sport=9000, dport=40000, flags="PA", seq=515, ack=125)
    frags = [bytes(Ether() / f) for f in fragment(big / (b"x" * 1200), fragsize=600)]
    assert len(frags) == 3  # the first carries MF with offset 0: only the MF bit tells it is a fragment
    path = tmp_path / "frag.pcap"
    _write_pcap(path, [(f, len(f)) for f in established(frags)])
    fast, full = _tables(path, fast=True), _tables(path, fast=False)
    assert fast == full
    flow = full["flows"][0]  # type: ignore[index]
    assert flow["server_payload"] == len(b"binary reply\r\n") + 1200  # counted once, reassembled


def test_a_snaplen_cut_inside_the_tcp_header_is_decoded_not_counted(tmp_path: Path) -> None:
    """tcpdump -s 50: the record stops inside the TCP header.  The one-read path reads past the
    record there, so it must leave such records to the decoder (which reports the cut)."""
    frames = [(f, len(f)) for f in established([])]
    whole = established([])[5]
    for cut in range(14 + 20 + 4, 14 + 40):
        frames.append((whole[:cut], len(whole)))
    path = tmp_path / "snap.pcap"
    _write_pcap(path, frames)
    assert _tables(path, fast=True) == _tables(path, fast=False)


def test_ip_options_on_a_known_connection_are_decoded(tmp_path: Path) -> None:
    """With IP options the ports are not at the usual offset: the one-read path must not guess."""
    from scapy.layers.inet import IP, TCP, IPOption
    from scapy.layers.l2 import Ether

    opt = bytes(
        Ether()
        / IP(src="203.0.113.9", dst="10.0.0.5", options=IPOption(b"\x01\x01\x01\x01" * 3))
        / TCP(sport=9000, dport=40000, flags="PA", seq=515, ack=125)
        / b"after options"
    )
    path = tmp_path / "options.pcap"
    _write_pcap(path, [(f, len(f)) for f in established([opt])])
    fast, full = _tables(path, fast=True), _tables(path, fast=False)
    assert fast == full
    assert full["flows"][0]["server_payload"] == len(b"binary reply\r\n") + len(b"after options")  # type: ignore[index]


def test_ip_headers_the_fast_path_hands_over_decode_like_the_full_decoder(tmp_path: Path) -> None:
    """The hot loop gives the engine an IPv4 packet it built from its one read; every odd IPv4 or
    transport header must come out exactly as through the full link and IP decoders."""
    import struct

    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether

    def with_total(frame: bytes, total: int) -> bytes:
        return frame[:16] + struct.pack("!H", total) + frame[18:]

    base = bytes(
        Ether()
        / IP(src="203.0.113.9", dst="10.0.0.5")
        / TCP(sport=9000, dport=40000, flags="FA", seq=515, ack=125)
        / b"last words"
    )
    dns = bytes(Ether() / IP(src="10.0.0.5", dst="10.0.0.2") / UDP(sport=5353, dport=53) / b"\x12\x34\x01\x00")
    bad_doff = bytearray(base)
    bad_doff[14 + 20 + 12] = 0x30  # TCP data offset 3 words: shorter than the fixed header
    odd = [
        base + b"\x00" * 12,  # Ethernet padding after the IP packet: not payload
        with_total(base, 0),  # TSO on the sending host: total length 0
        with_total(base, 19),  # total length shorter than the header
        with_total(base, len(base) - 14 + 30),  # total length past the captured bytes
        bytes(bad_doff),
        dns,  # a DNS query cut after its header
        with_total(dns, 30),  # UDP header claims more than the IP packet holds
    ]
    path = tmp_path / "odd.pcap"
    _write_pcap(path, [(f, len(f)) for f in established(odd)])
    fast, full = _tables(path, fast=True), _tables(path, fast=False)
    assert fast == full
    assert full["parse_errors"], "the odd headers must produce parse errors, or this test checks nothing"
