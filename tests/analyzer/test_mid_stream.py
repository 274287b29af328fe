"""Connections already open when the capture started: no client SYN (TCP), or the server's datagram
first (UDP).  The outcome is unknown, never a Deny, and the row names the real server."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from analyzer.verdicts import MID_STREAM, VERDICTS, action
from fixtures.builders.tls import app_data
from tests.support.cli import egress
from tests.support.engine_cases import BULK, both_paths, rows

C, S = "10.0.0.5", "203.0.113.80"
C6, S6 = "2001:db8::5", "2001:db8:1::80"


def _tcp(src: str, dst: str, sport: int, dport: int, flags: str, seq: int, ack: int, data: bytes = b"") -> bytes:
    ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    return bytes(Ether() / ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack) / data)


def _c(flags: str, seq: int, data: bytes = b"", c: str = C, s: str = S, cport: int = 40000, sport: int = 443) -> bytes:
    return _tcp(c, s, cport, sport, flags, seq, 9000, data)


def _s(flags: str, seq: int, data: bytes = b"", c: str = C, s: str = S, cport: int = 40000, sport: int = 443) -> bytes:
    return _tcp(s, c, sport, cport, flags, seq, 1000, data)


BLOB = app_data("mid", 200)

# Each case: the packets of one connection whose start the capture missed.
TCP_CASES = {
    "client-ack-only": [_c("A", 1000)],
    "client-data-only": [_c("PA", 1000 + i * 200, BLOB) for i in range(BULK)],
    "client-data-then-rst": [_c("PA", 1000, BLOB), _c("PA", 1200, BLOB), _s("R", 9000)],
    "both-directions": [p for i in range(BULK) for p in (_c("PA", 1000 + i * 200, BLOB), _s("A", 9000))],
    "server-data-first": [_s("PA", 9000 + i * 200, BLOB) for i in range(BULK)] + [_c("A", 1000)],
    "server-synack-first": [_s("SA", 8999), _c("A", 1000), _c("PA", 1000, BLOB), _s("PA", 9000, BLOB)],
    "server-rst-first": [_s("RA", 9000)],
    "ipv6-client-data": [_c("PA", 1000 + i * 200, BLOB, C6, S6) for i in range(BULK)],
    "client-fin-only": [_c("FA", 1000)],
}


@pytest.mark.parametrize("case", sorted(TCP_CASES))
def test_tcp_joined_mid_stream_is_unknown_with_the_real_server(case: str) -> None:
    report = both_paths(TCP_CASES[case])
    (row,) = rows(report)
    assert (row["verdict"], row["action"], row["port"]) == (MID_STREAM, "Unknown", 443)
    assert row["addresses"] in ([S], [S6])
    (flow,) = report.flows.rows
    assert (flow["src"], flow["sport"], flow["dport"]) in ((C, 40000, 443), (C6, 40000, 443))
    assert report.blocked() == []


def test_a_handshake_in_the_capture_still_decides() -> None:
    """The control: a SYN never answered stays a Deny, so only the missing handshake changes the verdict."""
    report = both_paths([_c("S", 999), _c("S", 999)])
    (row,) = rows(report)
    assert (row["verdict"], row["action"]) == ("no-reply", "Deny")
    assert len(report.blocked()) == 1


def test_port_reused_after_a_mid_stream_connection_closed_is_a_new_connection() -> None:
    frames = [
        _c("PA", 1000, BLOB),
        _s("PA", 9000, BLOB),
        _c("FA", 1200),
        _s("FA", 9200),
        _c("S", 5000),  # a new connection from the same port: its own flow, never answered
    ]
    report = both_paths(frames)
    assert sorted((r["verdict"], r["action"]) for r in rows(report)) == [
        ("mid-stream", "Unknown"),
        ("no-reply", "Deny"),
    ]


def _udp(src: str, dst: str, sport: int, dport: int, data: bytes) -> bytes:
    return bytes(Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / data)


@pytest.mark.parametrize(("port", "n_answers"), [(123, 1), (123, BULK), (443, 3), (500, 1)])
def test_udp_reply_whose_request_was_not_captured(port: int, n_answers: int) -> None:
    frames = [_udp(S, C, port, 51000, b"\x24" + bytes(47)) for _ in range(n_answers)]
    frames.append(_udp(C, S, 51000, port, b"\x23" + bytes(47)))  # the client speaks again afterwards
    report = both_paths(frames)
    (row,) = rows(report)
    assert (row["verdict"], row["action"], row["port"], row["addresses"]) == (MID_STREAM, "Unknown", port, [S])
    (flow,) = report.flows.rows
    assert (flow["src"], flow["sport"], flow["dst"], flow["dport"]) == (C, 51000, S, port)
    assert report.blocked() == []


def test_udp_first_sender_stays_the_client_unless_it_answers_an_ephemeral_port() -> None:
    """An NFS client on a privileged port, an NTP peer on 123 to 123, a client on an ephemeral port:
    the first sender is the client and its unanswered datagram stays a Deny."""
    for sport, dport in ((800, 2049), (123, 123), (51000, 123)):
        report = both_paths([_udp(C, S, sport, dport, b"x" * 48)])
        (row,) = rows(report)
        assert (row["verdict"], row["port"], row["addresses"]) == ("no-reply", dport, [S]), (sport, dport)


def test_dns_answer_without_its_query_credits_the_resolver() -> None:
    from fixtures.builders.dns import wire_message

    answer = wire_message(7, "example.org", bytes((93, 184, 216, 34)))
    report = both_paths([_udp("10.0.0.53", C, 53, 40001, answer)])
    (dns,) = report.dns.rows
    assert dns["servers"] == ["10.0.0.53"]


def test_mid_stream_is_a_verdict_with_its_own_action() -> None:
    assert MID_STREAM in VERDICTS
    assert action(MID_STREAM) == "Unknown"


def test_fail_on_blocked_ignores_mid_stream(tmp_path: object) -> None:
    from pathlib import Path

    from tests.support.fastpath_cases import seq_pcap

    path = Path(str(tmp_path)) / "mid.pcap"
    path.write_bytes(seq_pcap(TCP_CASES["client-data-only"]))
    proc = egress("analyze", str(path), "--fail-on", "blocked")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mid-stream" in proc.stdout
    path.write_bytes(seq_pcap([_c("S", 999)]))
    assert egress("analyze", str(path), "--fail-on", "blocked").returncode == 1


def _named_mid_stream() -> list[bytes]:
    """A DNS answer naming the server, then a connection joined mid-stream to it."""
    from fixtures.builders.dns import wire_message

    query = wire_message(9, "mid.example.org", None)
    answer = wire_message(9, "mid.example.org", bytes(int(b) for b in S.split(".")))
    dns = [_udp(C, "10.0.0.53", 40053, 53, query), _udp("10.0.0.53", C, 53, 40053, answer)]
    return dns + TCP_CASES["client-data-only"]


def test_allowlist_diff_takes_mid_stream_for_unknown_not_blocked(tmp_path: object) -> None:
    """Covered stays covered (not 'blocked-but-allowed'); missing says the outcome is unknown, not
    that it is a likely cause of the failure."""
    import io
    from pathlib import Path

    from analyzer.api import analyze, read_allowlist
    from tests.support.fastpath_cases import seq_pcap

    raw = seq_pcap(_named_mid_stream())
    allow = Path(str(tmp_path)) / "allow.txt"
    allow.write_text("mid.example.org:443\n")
    report = analyze(io.BytesIO(raw), allowlist=read_allowlist(allow), name="t.pcap")
    (row,) = (r for r in report.summary.rows if r["verdict"] == MID_STREAM)
    assert (row["fqdn"], row["status"]) == ("mid.example.org", "covered")
    assert report.blocked_but_allowed() == []
    allow.write_text("other.example.org:443\n")
    report = analyze(io.BytesIO(raw), allowlist=read_allowlist(allow), name="t.pcap")
    (row,) = (r for r in report.summary.rows if r["verdict"] == MID_STREAM)
    assert row["status"] == "missing"
    assert "outcome unknown" in row["reason"] and "likely cause" not in row["reason"]
