"""Differential test against tshark on captures nobody here wrote (../shared/corpus).

For every capture whose link type we decode, the DNS query names, TLS SNIs and HTTP Host
headers we report must equal the names tshark 4.0 found (its ``*.truth.tsv``).  Where we
deliberately differ, the reason is spelled out next to the rule, and the rule asserts our
own answer instead of silently dropping the name.
"""

from __future__ import annotations

import ipaddress

import pytest

from analyzer.pipeline import analyze
from analyzer.report import Report
from tests.support.truth import CORPUS, manifest, read_truth, strip_port

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")

# ARCNET is a 1980s LAN; no install we analyse is captured on it.
OUT_OF_SCOPE_LINKTYPES = {"arcnet_linux"}

# tshark writes placeholders instead of names it could not decode; we count those messages as
# parse errors instead (the name does not exist, so reporting one would be inventing it).
TSHARK_PLACEHOLDERS = {"<name too long>", "<name contains a pointer that loops>"}


def _rows() -> list[dict[str, str]]:
    return manifest() if CORPUS.is_dir() else []


def _capture_ids() -> list[str]:
    return [r["file"] for r in _rows()]


def _in_scope(row: dict[str, str]) -> bool:
    return row["linktype"] not in OUT_OF_SCOPE_LINKTYPES


def _is_multicast(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_multicast
    except ValueError:
        return False


def _names(a: Report) -> tuple[set[str], set[str], set[str], set[str]]:
    dns = set(a.dns.column("qname"))
    sni = {r["sni"].lower() for r in a.flows if r["sni"] is not None and r["transport"] == "tcp"}
    quic = {r["sni"].lower() for r in a.flows if r["sni"] is not None and r["transport"] == "udp"}
    http = {strip_port(h).lower().rstrip(".") for hs in a.flows.column("http_hosts") for h in (hs or [])}
    return dns, sni, quic, http


@pytest.mark.parametrize("capture", _capture_ids())
def test_names_equal_tshark(capture: str) -> None:
    row = next(r for r in _rows() if r["file"] == capture)
    if not _in_scope(row):
        pytest.skip(f"link type {row['linktype']} is out of scope")
    path = CORPUS / capture
    truth = read_truth(path.with_name(path.name + ".truth.tsv"))
    result = analyze(path)
    dns, sni, quic, http = _names(result)

    internal = result.parse_errors.where(layer="internal").rows
    assert not internal, f"decoder bugs surfaced as internal errors: {internal}"

    expected_dns = set()
    for name in truth.dns:
        if name in TSHARK_PLACEHOLDERS:
            # We must have refused the message, and said so in the parse-errors table.
            assert "dns" in result.parse_errors.column("layer"), f"tshark saw {name!r}; we recorded no DNS error"
        elif name == "<root>":
            expected_dns.add(".")  # the root zone, which we print the way dig does
        else:
            expected_dns.add(name)
    assert dns == expected_dns

    assert sni == truth.tls
    assert quic == truth.quic  # the ClientHello of QUIC Initials, decrypted as tshark does

    expected_http = set()
    for host in truth.http:
        if _is_multicast(host):
            # SSDP: HTTP-formatted discovery multicast on UDP 1900. Local chatter, never egress,
            # and not a TCP connection: we do not parse HTTP over UDP.
            continue
        expected_http.add(host)
    assert http == expected_http


def test_connect_tunnel_keeps_the_proxy_target_as_name() -> None:
    """Inside a CONNECT tunnel we read the ClientHello too, but the name is the CONNECT target:
    that is what the proxy, and so the firewall rule, sees."""
    path = CORPUS / "zeek" / "http__connect-with-header.pcap"
    if not path.exists():
        pytest.skip("capture absent")
    row = analyze(path).flows.where(protocol="HTTP-CONNECT").rows[0]
    assert row["fqdn"] == "secure.newegg.com"
    assert row["source"] == "sni"  # the tunnelled ClientHello names the same host
    assert row["sni"] == "secure.newegg.com"
    assert row["port"] == 443
