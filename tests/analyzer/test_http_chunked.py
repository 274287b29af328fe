"""A chunked upload on a keep-alive connection: the requests after it are counted too.

Checked against tshark (its ``http.request`` frames and their Host headers) when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from analyzer.pipeline import analyze
from fixtures.builders.packets import write_tcp

UPLOAD_HEAD = b"POST /v2/blobs/uploads HTTP/1.1\r\nHost: upload.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
LOOKALIKE = b"GET / HTTP/1.1\r\nHost: evil\r\n\r\n"  # chunk data that looks like a request
BODY = b"".join(
    [
        b"400;part=1\r\n" + b"A" * 0x400 + b"\r\n",  # a chunk with an extension
        b"%x\r\n" % len(LOOKALIKE) + LOOKALIKE + b"\r\n",
        b"0\r\nChecksum: 1234\r\n\r\n",  # the last chunk and a trailer
    ]
)
NEXT = b"GET /index HTTP/1.1\r\nHost: mirror.example.org\r\n\r\n"


def _capture(path: Path, cuts: list[int], body: bytes = BODY) -> None:
    """The client's bytes cut into segments at ``cuts`` (offsets into the whole client stream)."""
    reply = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    write_tcp(path, UPLOAD_HEAD + body + NEXT, cuts, reply=reply)


CUTS = {
    "one-segment-each": [len(UPLOAD_HEAD), len(UPLOAD_HEAD) + len(BODY)],
    "size-lines-split": [
        len(UPLOAD_HEAD) + 2,
        len(UPLOAD_HEAD) + 700,
        len(UPLOAD_HEAD) + 0x400 + 13,
        len(UPLOAD_HEAD) + 1040,
    ],
    "trailer-split": [len(UPLOAD_HEAD) + len(BODY) - 5, len(UPLOAD_HEAD) + len(BODY) - 1],
    "all-in-one": [],
}


@pytest.mark.parametrize("cuts", CUTS, ids=list(CUTS))
def test_requests_after_a_chunked_upload_are_counted(tmp_path: Path, cuts: str) -> None:
    path = tmp_path / "chunked.pcap"
    _capture(path, CUTS[cuts])
    result = analyze(path)
    flow = result.flows.rows[0]
    assert flow["requests"] == 2
    assert flow["http_hosts"] == ["upload.example.com", "mirror.example.org"]
    assert {(r["host"], r["requests"]) for r in result.tables["http"].rows} == {
        ("upload.example.com", 1),
        ("mirror.example.org", 1),
    }  # and not "evil": the chunk data is skipped, never read as a request
    assert not result.parse_errors.rows


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_sees_the_same_requests(tmp_path: Path) -> None:
    path = tmp_path / "chunked.pcap"
    _capture(path, CUTS["size-lines-split"])
    fields = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", "http.request", "-T", "fields", "-e", "http.host"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = [host for frame in fields for host in frame.split(",")]  # two requests in one frame: "a,b"
    ours = analyze(path).flows.rows[0]
    assert out == ours["http_hosts"]
    assert len(out) == ours["requests"]


def test_a_broken_chunk_size_is_a_parse_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.pcap"
    _capture(path, [], body=b"zz\r\nnot hex\r\n0\r\n\r\n")
    result = analyze(path)
    assert result.flows.rows[0]["requests"] == 1  # the upload itself; nothing after the broken body
    assert [r["layer"] for r in result.parse_errors.rows] == ["http"]
    assert "not hexadecimal" in result.parse_errors.rows[0]["reason"]


# -- found in review: bare LF line endings, leading zeros, bodies past 2 GiB -------------------------

from analyzer.flows import PROTO_TCP, Flow  # noqa: E402
from parsers.transport import TCP_ACK, TCP_SYN  # noqa: E402
from tests.support.oracles import HAVE_TSHARK, tshark_hosts  # noqa: E402

HEAD = b"POST /up HTTP/1.1\r\nHost: up.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
AFTER = b"GET /n HTTP/1.1\r\nHost: next.example.org\r\n\r\n"
LINE_BODIES = {
    "lf-only": b"5\nhello\n0\n\n",
    "lf-size-lines": b"5\nhello\r\n0\n\r\n",
    "lf-after-data": b"5\r\nhello\n0\r\n\r\n",
    "lf-trailers": b"5\r\nhello\r\n0\r\nX-Checksum: 1\n\n",  # the next request's blank line must not end them
    "leading-zeros": b"00000000000000005\r\nhello\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("body", LINE_BODIES, ids=list(LINE_BODIES))
def test_line_endings_like_tshark(tmp_path: Path, body: str) -> None:
    data = LINE_BODIES[body]
    path = tmp_path / "c.pcap"
    write_tcp(path, HEAD + data + AFTER, cuts=[len(HEAD), len(HEAD) + len(data)])
    if HAVE_TSHARK:
        assert tshark_hosts(path) == ["up.example.com", "next.example.org"]
    row = analyze(path).flows.rows[0]
    assert (row["requests"], row["http_hosts"]) == (2, ["up.example.com", "next.example.org"])


@pytest.mark.parametrize("size", [0x7FFFFF00, 0x80000000, 0xFFFFFFF0, 0x100000010])
def test_request_after_a_chunk_of_gigabytes(size: int) -> None:
    """Only the last bytes of the chunk are sent: the skip needs none of the rest, and the next
    segment's offset must be read near the stream's end, not modulo 2**32 from byte 0."""
    first = HEAD + b"%x\r\n" % size
    flow = Flow(1, PROTO_TCP, 4, "10.0.0.5", 40001, "203.0.113.80", 80, 0)
    flow.tcp_packet(True, 999, TCP_SYN, b"", 60, 0, lambda e: None, lambda *a: None)
    flow.tcp_packet(True, 1000, TCP_ACK, first, 60, 0, lambda e: None, lambda *a: None)
    seq = (1000 + len(first) + size - 16) % (1 << 32)
    flow.tcp_packet(True, seq, TCP_ACK, b"x" * 16 + b"\r\n0\r\n\r\n" + AFTER, 60, 0, lambda e: None, lambda *a: None)
    assert flow.host_headers == ["up.example.com", "next.example.org"]
