"""Real captures from other projects (../shared/corpus) against scapy's reader and tshark's ground truth.

Skipped cleanly when the corpus directory is absent.  The pipeline used here (link -> IP -> TCP/UDP)
is deliberately minimal: frames it cannot reach (tunnels, fragments, streams split over segments
that need more than in-order joining) are left out, and each test asserts that it compared enough
frames to mean something.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from scapy.config import conf
from scapy.layers.dns import DNS
from scapy.utils import RawPcapNgReader, RawPcapReader

from parsers.capture import CaptureReader, Frame
from parsers.dns import DnsParseError, parse_message, parse_tcp_stream
from parsers.errors import ParseError
from parsers.http import looks_like_request, parse_request
from parsers.ip import decode_ipv4, decode_ipv6
from parsers.link import SUPPORTED_LINKTYPES, decode_link
from parsers.quic import parse_long_header
from parsers.tls import looks_like_client_hello, parse_client_hello
from parsers.transport import decode_tcp, decode_udp
from tests.support.paths import CORPUS

conf.verb = 0


def _manifest() -> list[dict[str, str]]:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        return []
    with (CORPUS / "MANIFEST.tsv").open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


MANIFEST = _manifest()
CAPTURES = [row["file"] for row in MANIFEST] or [pytest.param("", marks=pytest.mark.skip(reason="no corpus"))]


@pytest.fixture(autouse=True)
def _need_corpus(corpus: Path) -> None:
    """Every test here skips when ../shared/corpus is absent (the ``corpus`` fixture skips)."""


@dataclass(frozen=True)
class Truth:
    frame: int
    proto: str
    dstport: str
    name: str
    qr: str
    answers: str


def truth(file: str) -> list[Truth]:
    path = CORPUS / (file + ".truth.tsv")
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return [
            Truth(int(r["frame"]), r["proto"], r["dstport"], r["name"], r["dns_qr"], r["dns_answers"])
            for r in csv.DictReader(fh, delimiter="\t")
        ]


@cache
def frames_of(file: str) -> tuple[Frame, ...]:
    with (CORPUS / file).open("rb") as fh:
        return tuple(CaptureReader(fh, name=file))


# -- 1. the capture reader against scapy's readers ---------------------------------------------------


def scapy_frames(path: Path) -> list[tuple[bytes, int, int, int]]:
    out = []
    with RawPcapReader(str(path)) as reader:
        for data, meta in reader:
            if isinstance(reader, RawPcapNgReader):
                ts = ((meta.tshigh << 32) | meta.tslow) * 1_000_000_000 // meta.tsresol
                out.append((data, ts, meta.linktype, meta.wirelen))
            else:
                ts = meta.sec * 1_000_000_000 + meta.usec * (1 if reader.nano else 1000)
                out.append((data, ts, reader.linktype, meta.wirelen))
    return out


@pytest.mark.parametrize("file", CAPTURES)
def test_capture_reader_matches_scapy_and_manifest(file: str) -> None:
    row = next(r for r in MANIFEST if r["file"] == file)
    frames = frames_of(file)
    assert len(frames) == int(row["packets"])
    assert [f.index for f in frames] == list(range(1, len(frames) + 1))
    ours = [(f.data, f.ts_ns, f.linktype, f.wirelen) for f in frames]
    assert ours == scapy_frames(CORPUS / file)
    with (CORPUS / file).open("rb") as fh:
        reader = CaptureReader(fh, name=file)
        list(reader)
    assert reader.info.compressed == (row["gzip"] == "yes")
    assert reader.info.format == ("pcap" if row["format"] == "nsecpcap" else row["format"])
    assert reader.info.nanosecond == (row["format"] == "nsecpcap")
    assert not reader.info.truncated
    if row["interfaces"].isdigit() and row["format"] == "pcapng":
        assert len({f.interface for f in frames}) <= int(row["interfaces"])


# -- a minimal path from frame to transport payload -------------------------------------------------------


@dataclass(frozen=True)
class Seg:
    frame: int
    proto: int  # 6 or 17
    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int
    flags: int
    payload: bytes


def segments(file: str) -> Iterator[Seg]:
    for f in frames_of(file):
        if f.linktype not in SUPPORTED_LINKTYPES:
            continue
        try:
            ethertype, off = decode_link(f.linktype, f.data)
            if ethertype == 0x0800:
                ip = decode_ipv4(f.data, off)
            elif ethertype == 0x86DD:
                ip = decode_ipv6(f.data, off)
            else:
                continue
            if ip.is_fragment:
                continue
            if ip.proto == 6:
                tcp = decode_tcp(ip.payload)
                yield Seg(f.index, 6, ip.src, ip.dst, tcp.sport, tcp.dport, tcp.seq, tcp.flags, tcp.payload)
            elif ip.proto == 17:
                udp = decode_udp(ip.payload)
                yield Seg(f.index, 17, ip.src, ip.dst, udp.sport, udp.dport, 0, 0, udp.payload)
        except ParseError:
            continue


def client_streams(file: str) -> dict[tuple[bytes, bytes, int, int], tuple[int, bytes]]:
    """In-order TCP payload per direction, joined by sequence number from the first segment seen
    (duplicates dropped); value is (frame where the joined bytes last grew, bytes)."""
    by_flow: dict[tuple[bytes, bytes, int, int], dict[int, Seg]] = defaultdict(dict)
    for s in segments(file):
        if s.proto == 6 and s.payload:
            by_flow[(s.src, s.dst, s.sport, s.dport)].setdefault(s.seq, s)
    out = {}
    for key, segs in by_flow.items():
        first = min(segs, key=lambda q: segs[q].frame)
        pos, data, last = first, b"", 0
        while pos in segs:
            data += segs[pos].payload
            last = max(last, segs[pos].frame)
            pos = (pos + len(segs[pos].payload)) & 0xFFFFFFFF
        out[key] = (last, data)
    return out


def _printable(name: str) -> bool:
    return bool(name) and all(0x21 <= ord(c) <= 0x7E for c in name) and "\\" not in name


def _files_with(proto: str) -> list[str]:
    files = [r["file"] for r in MANIFEST if any(t.proto == proto for t in truth(r["file"]))]
    return files or [pytest.param("", marks=pytest.mark.skip(reason="no corpus"))]


# -- 2. DNS names and answers against tshark ---------------------------------------------------------------


def _answers(field: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in filter(None, field.split(";")):
        kind, _, values = part.partition("=")
        out[kind] = values.split(",")
    return out


COMPARED: dict[str, int] = defaultdict(int)


def _dns_prefix_ok(i: int, got: object, whole: object) -> None:
    assert i >= whole.size and got == whole, f"{i}-byte prefix parsed"  # type: ignore[attr-defined]


@pytest.mark.parametrize("file", _files_with("dns"))
def test_dns_against_tshark(file: str, packet_check) -> None:
    rows = defaultdict(list)
    for t in truth(file):
        if t.proto == "dns":
            rows[t.frame].append(t)
    compared = 0
    for s in segments(file):
        if s.frame not in rows or 53 not in (s.sport, s.dport):
            continue
        complete = False
        if s.proto == 17:
            try:
                msgs = [parse_message(s.payload)]
                complete = True
            except DnsParseError as exc:
                if exc.partial is None:
                    continue
                msgs = [exc.partial]
            except ParseError:
                continue
        else:
            msgs, buf = [], s.payload
            try:
                while (got := parse_tcp_stream(buf)) is not None:
                    msgs.append(got[0])
                    buf = buf[got[1] :]
            except ParseError:
                continue
            if not msgs:
                continue
        expected_names = [t.name for t in rows[s.frame]]
        got_names = [q.name for m in msgs for q in m.questions]
        if not all(_printable(n) for n in expected_names + got_names):
            continue
        assert got_names == expected_names, f"frame {s.frame}"
        for m, t in zip(msgs, rows[s.frame], strict=False):
            assert m.is_response == (t.qr in ("1", "True")), f"frame {s.frame}"
            if not m.is_response:
                continue
            want = _answers(t.answers)
            have: dict[str, list[str]] = defaultdict(list)
            for a in m.answers:
                kind = {1: "A", 28: "AAAA", 5: "CNAME"}.get(a.rtype)
                if kind and a.value is not None:
                    have[kind].append(a.value)
            for kind, values in have.items():
                # tshark also lists records of the authority and additional sections.
                assert set(values) <= set(want.get(kind, [])), f"frame {s.frame} {kind}"
        if complete and compared < 10:
            # Real bytes through the packet contract too, and scapy's reading of the header.
            whole = packet_check(parse_message, s.payload, on_prefix=_dns_prefix_ok, trailers=(b"\x00" * 7,))
            view = DNS(s.payload)
            assert (whole.id, whole.rcode, whole.truncated) == (view.id, view.rcode, bool(view.tc))
        compared += 1
    COMPARED["dns"] += compared
    if compared == 0:
        pytest.skip("no DNS frame reachable without tunnel/fragment decoding")


# -- 3. TLS SNI against tshark -----------------------------------------------------------------------------


@pytest.mark.parametrize("file", _files_with("tls"))
def test_tls_sni_against_tshark(file: str, stream_check) -> None:
    expected = {t.name.lower() for t in truth(file) if t.proto == "tls"}
    found = set()
    checked_three_ways = 0
    for (_src, _dst, _sport, _dport), (_frame, data) in client_streams(file).items():
        if len(data) < 6 or not looks_like_client_hello(data[:6]):
            continue
        try:
            hello = parse_client_hello(data)
        except ParseError:
            continue
        if hello is None or hello.sni is None:
            continue
        found.add(hello.sni.lower())
        if checked_three_ways < 3:
            end = _client_hello_end(data)
            assert stream_check(parse_client_hello, data[:end], trailers=(data[end : end + 64],)) == hello
            checked_three_ways += 1
    if not found:
        pytest.skip("no ClientHello reachable (tunnelled, SOCKS/CONNECT prefix or split in an unjoinable way)")
    # Once the plain TCP path reaches a capture's ClientHellos, it must find every name tshark found.
    assert found == expected


def _client_hello_end(data: bytes) -> int:
    """End of the TLS records that carry the ClientHello (from the record and handshake lengths)."""
    need = None
    pos = got = 0
    while need is None or got < need:
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        if need is None:
            need = 4 + int.from_bytes(data[pos + 6 : pos + 9], "big")
        got += length
        pos += 5 + length
    return pos


# -- 4. HTTP Host headers against tshark --------------------------------------------------------------------


@pytest.mark.parametrize("file", _files_with("http"))
def test_http_host_against_tshark(file: str, stream_check) -> None:
    rows = defaultdict(list)
    for t in truth(file):
        if t.proto == "http":
            rows[t.frame].append(t.name)
    compared = 0
    for s in segments(file):
        if s.proto != 6 or s.frame not in rows or not s.payload or not looks_like_request(s.payload[:10]):
            continue
        hosts, buf = [], s.payload
        try:
            while buf and (req := parse_request(buf)) is not None:
                if compared < 5 and len(hosts) == 0:
                    assert stream_check(parse_request, buf[: req.head_length]) == req
                hosts.append(req.host)
                buf = buf[req.head_length + (req.content_length or 0) :]
                if req.chunked or not looks_like_request(buf[:10]):
                    break
        except ParseError:
            continue
        got = [h for h in hosts if h is not None]
        if not got or not all(_printable(h) for h in got + rows[s.frame]):
            continue
        assert got == rows[s.frame][: len(got)], f"frame {s.frame}"
        compared += 1
    COMPARED["http"] += compared
    if compared == 0:
        pytest.skip("no single-segment HTTP request head reachable")


# -- 5. QUIC Initials on the frames where tshark found a QUIC SNI --------------------------------------------


@pytest.mark.parametrize("file", _files_with("quic"))
def test_quic_initial_frames(file: str, stream_check) -> None:
    quic_frames = {t.frame for t in truth(file) if t.proto == "quic"}
    compared = 0
    for s in segments(file):
        if s.proto != 17 or s.frame not in quic_frames:
            continue
        header = parse_long_header(s.payload)
        assert header is not None, f"frame {s.frame}"
        assert header.packet_type == 0, f"frame {s.frame} is not an Initial"
        hlen = 7 + len(header.dcid) + len(header.scid)
        assert s.payload[6 : 6 + len(header.dcid)] == header.dcid
        assert stream_check(parse_long_header, s.payload[:hlen], trailers=(s.payload[hlen:],)) == header
        compared += 1
    if compared == 0:
        pytest.skip("QUIC frames not reachable without tunnel decoding")


def test_enough_of_the_corpus_was_compared() -> None:
    """Runs last in this module: the per-capture tests above must have compared real frames."""
    if not MANIFEST:
        pytest.skip("no corpus")
    if not COMPARED:
        pytest.skip("run together with the per-capture tests")
    assert COMPARED["dns"] >= 100
    assert COMPARED["http"] >= 20
