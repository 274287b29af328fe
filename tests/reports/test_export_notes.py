"""Exports write only valid DNS names and say where every other destination went (issue 10, items 5 and 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import analyze
from reports import exports
from tests.support.cli import ROOT, egress
from tests.support.tls_capture import write_tls_capture

HOSTILE = [b"-n", b"-i", b"--", b"-x.example.com", b"a..b.com", b"999.1.1.1", b"bad_.-example.com", b"x" * 64 + b".com"]


@pytest.mark.parametrize("name", [n.decode() for n in HOSTILE])
def test_a_name_that_is_no_dns_name_never_reaches_an_export(tmp_path: Path, name: str) -> None:
    capture = tmp_path / "h.pcap"
    write_tls_capture(capture, [(name.encode(), "203.0.113.5", 443), (b"ok.example.com", "203.0.113.6", 443)])
    report = analyze(capture)
    assert name in {r["fqdn"] for r in report.summary}
    for target in exports.TARGETS:
        text = exports.render(report, target)
        assert "ok.example.com" in text, target
        said = exports.notes(report, target)
        assert any("1 name(s) on TCP/443 that are not valid DNS names" in n for n in said), (target, said)
        body = [line for line in text.splitlines() if not line.startswith(("#", "//")) and "not a valid" not in line]
        for line in body:
            assert name not in line.split() and f'"{name}"' not in line and f"'{name}'" not in line, (target, line)


@pytest.mark.parametrize("target", exports.TARGETS)
def test_every_destination_is_exported_or_said_why_not(target: str) -> None:
    """The sunbeam replay has named TCP, named UDP/123 and an IP-only TCP/443 destination."""
    report = analyze(ROOT / "fixtures" / "captures" / "sunbeam-install.pcap")
    text = exports.render(report, target)
    said = "\n".join(exports.notes(report, target))
    for r in report.egress():
        label = r["fqdn"] or r["addresses"][0]
        assert label in text or label in said, (target, label)
    if target == "aws-domain-list":
        assert "ntp.ubuntu.com UDP/123" in said and "203.0.113.200 TCP/443" in said
    if target == "request-md":
        assert "203.0.113.200" in text


def test_a_proxy_denied_name_carries_a_note() -> None:
    report = analyze(ROOT / "fixtures" / "captures" / "http-connect-proxy.pcap")
    text = exports.render(report, "text")
    assert "evil.example.com" in text and "refused by the proxy" in text
    proc = egress("export", str(ROOT / "fixtures" / "captures" / "http-connect-proxy.pcap"), "--to", "aws-domain-list")
    assert proc.returncode == 0 and "refused by the proxy" in proc.stderr


def test_squid_with_only_addresses_defines_its_ports(tmp_path: Path) -> None:
    from scapy.all import IP, TCP, Ether, wrpcap

    p = Ether() / IP(src="10.0.0.5", dst="198.51.100.9") / TCP(sport=40000, dport=8443, flags="S")
    p.time = 1_700_000_000
    wrpcap(str(tmp_path / "a.pcap"), [p])
    text = exports.render(analyze(tmp_path / "a.pcap"), "squid")
    assert "acl install_ports port 8443" in text and "acl install_egress_ip dst 198.51.100.9" in text


@pytest.mark.parametrize("text", ["plain.example.com", "it's", "a\\b", "${x}", "line\nbreak\r\t", "emoji \U0001f600"])
def test_config_string_quoting_round_trips(text: str) -> None:
    """Names reaching an export are DNS names today; the quoting is still exact for any text."""
    import yaml

    from analyzer.firewalls import azure, cilium

    assert yaml.safe_load("v: " + cilium._yaml_str(text))["v"] == text
    literal = azure.bicep_string(text)
    assert "\n" not in literal and "\r" not in literal
    # Undo Bicep's escapes one character at a time: the value is exactly the text.
    body, out, i = literal[1:-1], [], 0
    unescape = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}
    while i < len(body):
        if body[i] == "\\":
            out.append(unescape[body[i + 1]])
            i += 2
        else:
            assert body[i] not in "'$"  # a bare quote ends the string, a bare $ may open ${...}
            out.append(body[i])
            i += 1
    assert "".join(out) == text
