"""parsers.http on heads built with scapy's HTTP layer and by hand (RFC 9112)."""

from __future__ import annotations

import pytest
from scapy.config import conf
from scapy.layers.http import HTTPRequest, HTTPResponse

from parsers.errors import ParseError
from parsers.http import (
    MAX_HEAD,
    absolute_target_authority,
    is_authority,
    looks_like_request,
    parse_request,
    parse_response,
    split_host_port,
)

conf.verb = 0


def _s(value: bytes | None) -> str | None:
    return None if value is None else value.decode("ascii")


def _header(view: HTTPRequest | HTTPResponse, field: str, wire_name: bytes) -> bytes | None:
    """A header as scapy dissected it: a named field, or one of its Unknown_Headers."""
    known = {f.name for f in view.fields_desc}
    if field in known and getattr(view, field) is not None:
        return getattr(view, field)
    unknown = view.Unknown_Headers or {}
    return next((v for k, v in unknown.items() if k.lower() == wire_name.lower()), None)


def _head_and_rest(built: bytes) -> tuple[bytes, bytes]:
    """scapy may append a body (a chunked terminator); the head ends at the first blank line."""
    end = built.index(b"\r\n\r\n") + 4
    return built[:end], built[end:]


REQUESTS: dict[str, dict[str, object]] = {
    "get-host-port": {"Method": b"GET", "Path": b"/x?y=1", "Http_Version": b"HTTP/1.1", "Host": b"example.com:8080"},
    "post-with-length": {
        "Method": b"POST",
        "Path": b"/upload",
        "Http_Version": b"HTTP/1.1",
        "Host": b"api.example.org",
        "Content_Length": b"11",
        "Content_Type": b"text/plain",
    },
    "chunked-put": {
        "Method": b"PUT",
        "Path": b"/blob",
        "Http_Version": b"HTTP/1.1",
        "Host": b"[2001:db8::1]:8443",
        "Unknown_Headers": {b"Transfer-Encoding": b"gzip, chunked"},
    },
    "connect": {"Method": b"CONNECT", "Path": b"proxy-target.example:443", "Http_Version": b"HTTP/1.1", "Host": b"x"},
    "absolute-form": {"Method": b"GET", "Path": b"http://user@host.example:8080/x", "Http_Version": b"HTTP/1.1"},
    "http10-options": {"Method": b"OPTIONS", "Path": b"*", "Http_Version": b"HTTP/1.0"},
    "propfind": {"Method": b"PROPFIND", "Path": b"/dav/", "Http_Version": b"HTTP/1.1", "Host": b"dav.example"},
    "extension-method": {
        "Method": b"RPC_IN_DATA",
        "Path": b"/rpc/rpcproxy.dll?mail.example:6004",
        "Http_Version": b"HTTP/1.1",
        "Host": b"mail.example",
    },
    "ssdp-m-search": {
        "Method": b"M-SEARCH",
        "Path": b"*",
        "Http_Version": b"HTTP/1.1",
        "Host": b"239.255.255.250:1900",
    },
}


@pytest.mark.parametrize("case", sorted(REQUESTS))
def test_request_three_ways_matches_scapy(case: str, stream_check) -> None:
    head, _body = _head_and_rest(bytes(HTTPRequest(**REQUESTS[case])))
    view = HTTPRequest(head)
    req = stream_check(parse_request, head)
    assert req.method == _s(view.Method)
    assert req.target == _s(view.Path)
    assert req.version == _s(view.Http_Version).removeprefix("HTTP/")
    assert req.host == _s(view.Host)
    assert req.head_length == len(head)
    length = _header(view, "Content_Length", b"Content-Length")
    assert req.content_length == (None if length is None else int(length))
    te = _header(view, "Transfer_Encoding", b"Transfer-Encoding")
    assert req.chunked == (te is not None and b"chunked" in te.lower())


RESPONSES: dict[str, dict[str, bytes]] = {
    "200-length": {"Http_Version": b"HTTP/1.1", "Status_Code": b"200", "Reason_Phrase": b"OK", "Content_Length": b"5"},
    "204-no-body": {"Http_Version": b"HTTP/1.1", "Status_Code": b"204", "Reason_Phrase": b"No Content"},
    "chunked": {
        "Http_Version": b"HTTP/1.1",
        "Status_Code": b"200",
        "Reason_Phrase": b"OK",
        "Transfer_Encoding": b"chunked",
    },
    "407-proxy": {
        "Http_Version": b"HTTP/1.0",
        "Status_Code": b"407",
        "Reason_Phrase": b"Proxy Authentication Required",
        "Proxy_Authenticate": b"Basic",
    },
}


@pytest.mark.parametrize("case", sorted(RESPONSES))
def test_response_three_ways_matches_scapy(case: str, stream_check) -> None:
    head, body = _head_and_rest(bytes(HTTPResponse(**RESPONSES[case])))
    view = HTTPResponse(head)
    resp = stream_check(parse_response, head, trailers=(body, b"\x00", b"HTTP/1.1 200 OK\r\n\r\n"))
    assert resp.status == int(view.Status_Code)
    assert resp.version == _s(view.Http_Version).removeprefix("HTTP/")
    assert resp.head_length == len(head)
    length = _header(view, "Content_Length", b"Content-Length")
    assert resp.content_length == (None if length is None else int(length))
    te = _header(view, "Transfer_Encoding", b"Transfer-Encoding")
    assert resp.chunked == (te is not None and b"chunked" in te.lower())


def test_status_line_without_reason(stream_check) -> None:
    resp = stream_check(parse_response, b"HTTP/1.1 301\r\nLocation: /x\r\n\r\n")
    assert (resp.status, resp.version) == (301, "1.1")


def test_pipelined_requests_found_with_head_length_and_body() -> None:
    bodies = [b"hello world", b"", b"0123456789"]
    heads = [
        b"POST /a HTTP/1.1\r\nHost: one.example\r\nContent-Length: 11\r\n\r\n",
        b"GET /b HTTP/1.1\r\nHost: two.example\r\n\r\n",
        b"PUT /c HTTP/1.1\nHost: three.example:81\ncontent-length: 10\n\n",
    ]
    stream = b"".join(h + b for h, b in zip(heads, bodies, strict=True))
    pos = 0
    hosts = []
    for head, body in zip(heads, bodies, strict=True):
        req = parse_request(stream[pos:])
        assert req is not None
        assert req.head_length == len(head)
        assert (req.content_length or 0) == len(body)
        hosts.append(req.host)
        pos += req.head_length + (req.content_length or 0)
    assert pos == len(stream)
    assert hosts == ["one.example", "two.example", "three.example:81"]


@pytest.mark.parametrize(
    ("target", "authority", "host", "port"),
    [
        ("http://host:8080/x", "host:8080", "host", 8080),
        ("http://host/x", "host", "host", 80),
        ("HTTPS://user:pw@secure.example:8443/", "secure.example:8443", "secure.example", 8443),
        ("http://[2001:db8::7]:8000/p?q", "[2001:db8::7]:8000", "2001:db8::7", 8000),
        ("ftp://files.example", "files.example", "files.example", 80),
        ("http://h.example?x=1", "h.example", "h.example", 80),
    ],
)
def test_absolute_form_target(target: str, authority: str, host: str, port: int, stream_check) -> None:
    buf = f"GET {target} HTTP/1.1\r\nUser-Agent: t\r\n\r\n".encode()
    req = stream_check(parse_request, buf)
    assert req.target == target and req.host is None and req.version == "1.1"
    assert absolute_target_authority(req.target) == authority
    assert split_host_port(authority, 80) == (host, port)


@pytest.mark.parametrize("target", ["/", "/x/http://a", "*", "example.com:443", ""])
def test_non_absolute_targets(target: str) -> None:
    assert absolute_target_authority(target) is None


@pytest.mark.parametrize(
    ("target", "host", "port"),
    [
        ("proxy-target.example:443", "proxy-target.example", 443),
        ("[2001:db8::1]:8443", "2001:db8::1", 8443),
        ("10.0.0.1:22", "10.0.0.1", 22),
    ],
)
def test_connect_target(target: str, host: str, port: int, stream_check) -> None:
    req = stream_check(parse_request, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert (req.method, req.target, req.host) == ("CONNECT", target, target)
    assert split_host_port(req.target, 443) == (host, port)
    assert is_authority(host)


@pytest.mark.parametrize(
    ("authority", "default", "expected"),
    [
        ("example.com", 80, ("example.com", 80)),
        ("example.com:8080", 80, ("example.com", 8080)),
        ("example.com:", 80, ("example.com", 80)),
        ("example.com:http", 80, ("example.com", 80)),
        ("example.com:65535", 80, ("example.com", 65535)),
        ("example.com:65536", 80, ("example.com", 80)),
        ("[::1]:8000", 80, ("::1", 8000)),
        ("[2001:db8::1]", 443, ("2001:db8::1", 443)),
        ("[2001:db8::1]:", 443, ("2001:db8::1", 443)),
        ("2001:db8::1", 443, ("2001:db8::1", 443)),
        ("[fe80::1%eth0]:53", 80, ("fe80::1%eth0", 53)),
    ],
)
def test_split_host_port(authority: str, default: int, expected: tuple[str, int]) -> None:
    assert split_host_port(authority, default) == expected


def test_split_host_port_bracketed_port_out_of_range() -> None:
    assert split_host_port("[::1]:70000", 443) == ("::1", 443)


def test_split_host_port_non_ascii_digit_does_not_raise() -> None:
    assert split_host_port("h:²", 80) == ("h", 80)


def test_lf_only_line_endings(stream_check) -> None:
    buf = b"GET /lf HTTP/1.1\nHost: lf.example\nContent-Length: 3\n\n"
    req = stream_check(parse_request, buf)
    assert (req.target, req.host, req.content_length, req.head_length) == ("/lf", "lf.example", 3, len(buf))
    resp = stream_check(parse_response, b"HTTP/1.1 404 Not Found\nContent-Length: 0\n\n")
    assert (resp.status, resp.content_length) == (404, 0)


def test_lf_terminator_before_crlf_terminator_wins() -> None:
    buf = b"GET / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\r\nHost: b\r\n\r\n"
    req = parse_request(buf)
    assert req is not None and req.host == "a" and req.head_length == buf.index(b"\n\n") + 2


def test_host_header_is_case_insensitive_first_wins_and_escaped(dig_escape) -> None:
    raw = b"evil\x1b[0m.example"
    buf = b"GET / HTTP/1.1\r\nhOsT:   " + raw + b"  \r\nHost: second.example\r\n\r\n"
    req = parse_request(buf)
    assert req is not None and req.host == dig_escape(raw)


def test_target_is_escaped(dig_escape) -> None:
    req = parse_request(b"GET /a\x01b HTTP/1.1\r\n\r\n")
    assert req is not None and req.target == dig_escape(b"/a\x01b")


@pytest.mark.parametrize(
    ("line", "method", "target", "version"),
    [
        (b"GET /", "GET", "/", ""),
        (b"GET / HTTP/1.", "GET", "/", "1."),
        (b"DELETE /x HTTP/2.0", "DELETE", "/x", "2.0"),
    ],
)
def test_lenient_request_lines(line: bytes, method: str, target: str, version: str) -> None:
    req = parse_request(line + b"\r\nHost: h\r\n\r\n")
    assert req is not None and (req.method, req.target, req.version, req.host) == (method, target, version, "h")


@pytest.mark.parametrize(
    "buf",
    [
        b"get / HTTP/1.1\r\n\r\n",
        b"FOO /x\r\nHost: a\r\n\r\n",  # an unknown method needs the HTTP/x.y of its line
        b"FOO\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01",
        b"A" * 40 + b" / HTTP/1.1\r\n\r\n",  # a method token longer than 32 characters
        b"G\x00T / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    ],
)
def test_bad_requests_raise(buf: bytes) -> None:
    with pytest.raises(ParseError):
        parse_request(buf)


@pytest.mark.parametrize(
    "buf",
    [
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"SSH-2.0-x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_bad_responses_raise(buf: bytes) -> None:
    with pytest.raises(ParseError):
        parse_response(buf)


def test_over_long_head_raises() -> None:
    buf = b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * MAX_HEAD
    assert len(buf) > MAX_HEAD
    with pytest.raises(ParseError):
        parse_request(buf)
    with pytest.raises(ParseError):
        parse_request(buf + b"\r\n\r\n")  # the blank line arrives too late
    with pytest.raises(ParseError):
        parse_response(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * MAX_HEAD)
    # Below the limit it is just "need more bytes".
    assert parse_request(buf[:MAX_HEAD]) is None


def _head_of(total: int, sep: bytes) -> bytes:
    start = b"GET / HTTP/1.1" + (b"\r\n" if sep == b"\r\n\r\n" else b"\n") + b"X-Pad: "
    return start + b"a" * (total - len(start)) + sep


@pytest.mark.parametrize("sep", [b"\r\n\r\n", b"\n\n"])
def test_head_of_exactly_max_head_is_accepted(sep: bytes) -> None:
    buf = _head_of(MAX_HEAD, sep)
    req = parse_request(buf)
    assert req is not None and req.head_length == len(buf) == MAX_HEAD + len(sep)


@pytest.mark.parametrize("sep", [b"\r\n\r\n", b"\n\n"])
def test_prefixes_of_max_size_head_need_more_bytes(sep: bytes) -> None:
    buf = _head_of(MAX_HEAD, sep)
    assert parse_request(buf) is not None
    for i in range(MAX_HEAD, len(buf)):
        assert parse_request(buf[:i]) is None, i


def test_looks_like_request() -> None:
    for method in (b"GET", b"CONNECT", b"PROPPATCH", b"PURGE"):
        line = method + b" / HTTP/1.1\r\n"
        for i in range(len(line) + 1):
            assert looks_like_request(line[:i]), line[:i]
    for buf in (b"HTTP/1.1 200", b"\x16\x03\x01", b"get ", b"FOO /x\r\n", b"SSH-2.0-OpenSSH\r\n", b"\x00"):
        assert not looks_like_request(buf), buf
    # An unknown token stays possible until its line ends, then needs " HTTP/x.y".
    line = b"BREW /pot HTTP/1.1\r\n"
    for i in range(len(line) + 1):
        assert looks_like_request(line[:i]), line[:i]


def test_prefixes_of_non_http_are_rejected_only_when_certain() -> None:
    assert parse_request(b"") is None
    assert parse_request(b"GE") is None
    assert parse_request(b"GX") is None  # could still be an extension method
    with pytest.raises(ParseError):
        parse_request(b"gx")
    with pytest.raises(ParseError):
        parse_request(b"\x00")
    assert parse_response(b"HTT") is None
    with pytest.raises(ParseError):
        parse_response(b"HTTPS")


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("example.com", True),
        ("10.0.0.1", True),
        ("2001:db8::1", True),
        ("under_score.example", True),
        ("/", False),
        ("/index.html", False),
        ("", False),
        ("a b", False),
        ("evil\\027", False),
    ],
)
def test_is_authority(host: str, ok: bool) -> None:
    assert is_authority(host) is ok


def test_lf_lines_then_crlf_blank_line() -> None:
    head = b"POST / HTTP/1.1\nHost: a\nContent-Length: 6\n\r\n"
    req = parse_request(head)
    assert req is not None and req.head_length == len(head)
    req = parse_request(head + b"ab\n\ncd")
    assert req is not None and req.head_length == len(head) and req.content_length == 6


# -- chunked bodies (RFC 9112 section 7.1), stepped over without reading the data -------------------

from parsers.http import MAX_CHUNK_LINE, chunk_data_end, chunked_trailer_length, parse_chunk_size  # noqa: E402


@pytest.mark.parametrize(
    ("line", "size"),
    [
        (b"1a\r\n", 0x1A),
        (b"0\r\n", 0),
        (b"FFFF\r\n", 0xFFFF),
        (b"10;name=value\r\n", 0x10),  # a chunk extension
        (b"10 ;ext\r\n", 0x10),  # whitespace before the extension, as some servers send
        (b"000000000000000a\r\n", 10),
    ],
)
def test_chunk_size_line_three_ways(line: bytes, size: int, stream_check) -> None:
    assert stream_check(parse_chunk_size, line, trailers=(b"0123456789", b"\r\n", b"\x00" * 5)) == (size, len(line))


@pytest.mark.parametrize("line", [b"\r\n", b"xyz\r\n", b"-1\r\n", b"0x10\r\n", b"1 2\r\n", b"12345678901234567\r\n"])
def test_bad_chunk_size_lines_raise(line: bytes) -> None:
    with pytest.raises(ParseError):
        parse_chunk_size(line)


def test_chunk_size_line_without_end_is_bounded() -> None:
    assert parse_chunk_size(b"a;" + b"x" * (MAX_CHUNK_LINE - 2)) is None
    with pytest.raises(ParseError):
        parse_chunk_size(b"a;" + b"x" * MAX_CHUNK_LINE)


@pytest.mark.parametrize(
    "trailers", [b"\r\n", b"Checksum: abc\r\n\r\n", b"Expires: never\r\nX-Two: 2\r\n\r\n"], ids=["none", "one", "two"]
)
def test_trailers_three_ways(trailers: bytes, stream_check) -> None:
    assert stream_check(chunked_trailer_length, trailers) == len(trailers)


def test_oversized_trailers_raise() -> None:
    assert chunked_trailer_length(b"X: " + b"y" * (MAX_HEAD - 10)) is None
    with pytest.raises(ParseError):
        chunked_trailer_length(b"X: " + b"y" * MAX_HEAD)


@pytest.mark.parametrize(
    ("line", "size"), [(b"1a\n", 0x1A), (b"0\n", 0), (b"10;x=y\n", 0x10), (b"0000000000000000001f\r\n", 0x1F)]
)
def test_chunk_size_line_with_bare_lf_or_leading_zeros(line: bytes, size: int, stream_check) -> None:
    assert stream_check(parse_chunk_size, line, trailers=(b"abc", b"\n", b"\r\n")) == (size, len(line))


@pytest.mark.parametrize("ending", [b"\r\n", b"\n"])
def test_chunk_data_end_three_ways(ending: bytes, stream_check) -> None:
    assert stream_check(chunk_data_end, ending, trailers=(b"5\r\n", b"0\n")) == len(ending)


def test_chunk_data_without_line_ending_raises() -> None:
    with pytest.raises(ParseError):
        chunk_data_end(b"x\r\n")


@pytest.mark.parametrize("trailers", [b"\n", b"A: 1\n\n", b"A: 1\r\nB: 2\n\r\n"], ids=["none", "lf", "mixed"])
def test_trailers_with_bare_lf_three_ways(trailers: bytes, stream_check) -> None:
    assert stream_check(chunked_trailer_length, trailers, trailers=(b"GET / HTTP/1.1\r\n\r\n",)) == len(trailers)
