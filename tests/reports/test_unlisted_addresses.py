"""The summary row that stands for unnamed destinations beyond its cap has no addresses: the review
says how many connections it counts, and no renderer shows its empty address list as an address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

import analyzer.summary
from analyzer.api import Report, analyze, read_allowlist
from fixtures.builders.packets import write_frames
from reports import html, jsondoc, markdown
from reports.display import UNLISTED

CAP = 2
SCANNED = 6  # unanswered SYNs, each to its own address: more unnamed destinations than the cap


@pytest.fixture
def scan(tmp_path: Path) -> tuple[Path, Path]:
    frames = [
        bytes(Ether() / IP(src="10.0.0.5", dst=f"198.51.100.{i}") / TCP(sport=41000 + i, dport=443, flags="S"))
        for i in range(1, SCANNED + 1)
    ]
    capture = tmp_path / "scan.pcap"
    write_frames(capture, frames)
    allowlist = tmp_path / "request.txt"
    allowlist.write_text("example.org 443\n", encoding="utf-8")
    return capture, allowlist


def _analyze(capture: Path, allowlist: Path) -> Report:
    return analyze(str(capture), allowlist=read_allowlist([allowlist]))


def test_the_review_counts_the_connections_of_the_row_beyond_the_cap(
    scan: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    capture, allowlist = scan
    # scapy, not our parser, says how many addresses the capture tried.
    tried = {p[IP].dst for p in rdpcap(str(capture)) if p[TCP].flags == "S"}
    assert len(tried) == SCANNED
    monkeypatch.setattr(analyzer.summary, "MAX_ADDRESS_GROUPS", CAP)
    report = _analyze(capture, allowlist)

    listed = [r for r in report.summary.rows if r["addresses"]]
    (other,) = [r for r in report.summary.rows if not r["addresses"]]
    assert len(listed) == CAP and {a for r in listed for a in r["addresses"]} < tried
    assert other["fqdn"] is None and other["count"] == SCANNED - CAP
    assert other["status"] == "missing"
    assert other["reason"].startswith(f"no name seen for {SCANNED - CAP} connections to unnamed addresses")
    assert "noise rules" in other["reason"]
    for row in listed:  # a listed address is still named in its reason
        assert row["reason"].startswith(f"no name seen for {row['addresses'][0]} (")

    doc = json.loads(_json(report))
    (row,) = [r for r in doc["summary"] if r["addresses"] == []]
    assert row["reason"] == other["reason"]
    assert "for  (" not in json.dumps(doc)  # the old reason: an empty address list joined into the text
    (suggested,) = [s for s in doc["suggested"] if not s["addresses"]]
    assert f"{SCANNED - CAP} connections" in suggested["note"]

    text = markdown.render(report)
    assert "no name seen for  (" not in text and "`None`" not in text
    assert f"| TCP | 443 |  | {SCANNED - CAP} | Deny | no-reply | {UNLISTED} |" in text  # summary
    assert f"- `{UNLISTED}` TCP/443 no-reply: missing from the request" in text  # conclusion
    assert f"| TCP | 443 | {UNLISTED} | no-reply | no name seen for {SCANNED - CAP} connections" in text  # missing

    page = html.render(report)
    assert '<span class="mono"></span>' not in page  # an empty address cell, shown as an address
    assert f'<td class="addr"><span class="muted">{UNLISTED}</span></td>' in page


def test_under_the_cap_every_address_is_listed_and_named(scan: tuple[Path, Path]) -> None:
    capture, allowlist = scan
    report = _analyze(capture, allowlist)
    assert sorted(a for r in report.summary.rows for a in r["addresses"]) == sorted(
        f"198.51.100.{i}" for i in range(1, SCANNED + 1)
    )
    text = markdown.render(report)
    assert UNLISTED not in text and UNLISTED not in html.render(report)


def _json(report: Report) -> str:
    import io

    out = io.StringIO()
    jsondoc.write(report, out)
    return out.getvalue()
