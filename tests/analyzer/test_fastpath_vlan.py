"""VLAN-tagged frames on the fast path (issue 15): 802.1Q, QinQ (0x88a8 and the old 0x9100) and Linux
cooked captures whose protocol field is a tag.  Every fixture capture is rewritten in each tagged
variant and must give the full decoder's tables, and the fast path must take the tagged packets
exactly as it takes the untagged ones (a tagged capture that quietly fell back to the full decoder
would still give right tables, only slower)."""

from __future__ import annotations

import struct

import pytest

from fixtures.builders.packets import established
from fixtures.builders.pcap import pcap_bytes
from fixtures.builders.pcapng import section
from tests.support.captures import fixture_records
from tests.support.fastpath_cases import diff, fast_taken, seq_pcap, tables
from tests.support.oracles import HAVE_TSHARK, tshark_fields
from tests.support.paths import CAPTURES
from tests.support.vlan import UNTAGGED, VARIANTS, tag

# Tags the fixtures carry already, and tags each variant adds: a stack deeper than two is the decoder's.
_ALREADY = {"vlan.pcap": 1, "qinq.pcap": 2}
_ADDS = {"dot1q": 1, "qinq": 2, "qinq-9100": 2, "sll-dot1q": 1, "sll2-dot1q": 1}
Record = tuple[int, int, bytes, int]


def _tagged(variant: str, records: list[Record]) -> list[Record]:
    out = []
    for ts, lt, data, wirelen in records:
        lt2, data2 = tag(variant, lt, data)
        out.append((ts, lt2, data2, wirelen + len(data2) - len(data)))
    return out


def _cases() -> list[tuple[str, str]]:
    cases = []
    for path in sorted(CAPTURES.glob("*.pcap")):
        links = {lt for _, lt, _, _ in fixture_records(path.name)}
        for variant in VARIANTS:
            if links <= {1} or (links <= {113, 276} and not variant.startswith("sll")):
                cases.append((path.name, variant))
    return cases


def _as_pcap(records: list[Record]) -> bytes:
    nanos = any(ts % 1000 for ts, _, _, _ in records)
    packets = [(ts, data, wirelen) for ts, _, data, wirelen in records]
    return pcap_bytes(packets, records[0][1], snaplen=65535, nanos=nanos)


def _unsized(rows: object) -> list[dict[str, object]]:
    return [{k: v for k, v in r.items() if k != "bytes"} for r in rows]  # type: ignore[attr-defined]


def _same(raw: bytes) -> dict[str, object]:
    fast, full = tables(raw, True), tables(raw, False)
    assert "exception" not in full, full.get("tb")
    assert diff(fast, full) == {}
    return full


@pytest.mark.parametrize(("name", "variant"), _cases(), ids=lambda v: str(v))
def test_every_fixture_tagged_pcap_and_pcapng(name: str, variant: str) -> None:
    records = fixture_records(name)
    tagged = _tagged(variant, records)
    for container in (_as_pcap, lambda r: section("<", r, nano=True), lambda r: section(">", r, nano=False)):
        raw, plain = container(tagged), container(records)
        full = _same(raw)
        # The tags change nothing the report says about the traffic but its byte counts (tags are bytes).
        untagged_full = tables(plain, False)
        assert full["dns"] == untagged_full["dns"] and full["http"] == untagged_full["http"]
        assert _unsized(full["flows"]) == _unsized(untagged_full["flows"])
        if _ALREADY.get(name, 0) + _ADDS[variant] <= 2:
            assert fast_taken(raw) == fast_taken(plain)
        else:
            assert fast_taken(raw) == (0, 0)  # three tags: every packet to the full decoder


def test_tagged_bulk_packets_are_counted_not_decoded() -> None:
    """The control for the comparisons above: a settled connection's bulk packets are taken by the
    fast path in every variant, and as many as when untagged."""
    data = established([established()[5]] * 40)
    plain = fast_taken(seq_pcap(data))
    assert plain[0] >= 40
    for variant in VARIANTS:
        assert fast_taken(seq_pcap(data, vlan=variant)) == plain, variant


@pytest.mark.parametrize("chunk", [61, 256, 1500, 4093])
@pytest.mark.parametrize("variant", ["qinq", "sll-dot1q", "sll2-dot1q"])
def test_tagged_records_cut_by_read_chunks_change_nothing(variant: str, chunk: int) -> None:
    """The tagged struct reads reach further into the record than the untagged one: small chunks
    put a chunk boundary inside them."""
    import io

    from analyzer.pipeline import analyze_stream
    from reports.jsondoc import document

    records = _tagged(variant, fixture_records("aks-bootstrap.pcap"))
    for raw in (_as_pcap(records), section("<", records, nano=True)):
        small = document(analyze_stream(io.BytesIO(raw), "t", fast=True, chunk_size=chunk))
        full = tables(raw, False)
        assert diff({k: small[k] for k in full}, full) == {}


T0 = 1_700_000_000_000_000
LAST = established()[5]


def _retype(frame: bytes, at: int, etype: int) -> bytes:
    return frame[:at] + struct.pack("!H", etype) + frame[at + 2 :]


def _tags(frame: bytes, *stack: int) -> bytes:
    """``frame`` (Ethernet) with the tags of ``stack`` (TPIDs, outermost first) after its MACs."""
    tags = b"".join(struct.pack("!HH", 7, nxt) for nxt in (*stack[1:], 0x0800))
    return frame[:12] + struct.pack("!H", stack[0]) + tags + frame[14:]


# Odd tagged frames of the settled connection, each read less or more strictly than parsers.link.
ODD = {
    "three-tags": _tags(LAST, 0x88A8, 0x8100, 0x8100),
    "tag-cut-short": _tags(LAST, 0x8100)[:16],
    "qinq-cut-inside-inner-tag": _tags(LAST, 0x88A8, 0x8100)[:20],
    "tag-then-short-ip": _tags(LAST, 0x8100)[: 18 + 30],
    "tag-then-arp": _retype(_tags(LAST, 0x8100), 16, 0x0806),
    "tag-then-8023-length": _retype(_tags(LAST, 0x8100), 16, 0x05DC),
    "tag-then-mpls": _retype(_tags(LAST, 0x8100), 16, 0x8847),
    "tag-then-pppoe": _retype(_tags(LAST, 0x8100), 16, 0x8864),
    "tag-ip-options": _tags(
        LAST[:14] + b"\x46" + LAST[15:16] + struct.pack("!H", len(LAST) - 10) + LAST[18:34] + b"\x01" * 4 + LAST[34:],
        0x8100,
    ),
    "tag-fragment": _tags(LAST[:20] + b"\x20\x00" + LAST[22:], 0x8100),
    "tag-total-length-0": _tags(LAST[:16] + b"\x00\x00" + LAST[18:], 0x8100),
    "tag-then-ipv6-version-4": _retype(_tags(LAST, 0x8100), 16, 0x86DD),
}


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_tagged_frames_decode_as_the_full_decoder_does(case: str) -> None:
    frames = [*established(), ODD[case], LAST]
    for raw in (seq_pcap(frames), seq_pcap(frames[:-1])):  # the odd frame last: at the very end of the data
        assert diff(tables(raw, True), tables(raw, False)) == {}


@pytest.mark.skipif(not HAVE_TSHARK, reason="tshark not installed")
@pytest.mark.parametrize("variant", [UNTAGGED, *VARIANTS])
def test_tagged_names_equal_tshark(variant: str, tmp_path: object) -> None:
    """The full decoder (and so the fast path, which equals it) reads every tagged variant as
    tshark does: the same DNS names and SNIs."""
    from pathlib import Path

    records = _tagged(variant, fixture_records("aks-bootstrap.pcap"))
    path = Path(str(tmp_path)) / "tagged.pcap"
    path.write_bytes(_as_pcap(records))
    full = tables(path.read_bytes(), False)
    ours_dns = {r["qname"] for r in full["dns"]}  # type: ignore[index]
    ours_sni = {r["sni"] for r in full["flows"] if r["sni"]}  # type: ignore[index]
    assert ours_sni, "no SNI read: the comparison would check nothing"
    assert ours_sni == set(tshark_fields(path, "tls.handshake.type == 1", "tls.handshake.extensions_server_name"))
    assert ours_dns == {n.rstrip(".") for n in tshark_fields(path, "dns.flags.response == 0", "dns.qry.name")}
