"""The library entry: one call on a path, on '-' and on an open stream; typed options; review as columns."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.api import CaptureError, InputError, Options, OptionsError, analyze, read_allowlist
from reports import exports, jsondoc
from tests.support.tls_capture import write_tls_capture

ROOT = Path(__file__).resolve().parents[2]
SUNBEAM = ROOT / "fixtures" / "captures" / "sunbeam-install.pcap"
ALLOWLIST = ROOT / "fixtures" / "replay" / "sunbeam.allowlist.md"


def _json(report: object) -> dict[str, object]:
    return json.loads(jsondoc.render(report))  # type: ignore[arg-type]


def test_path_stream_and_stdin_give_the_same_report() -> None:
    rules = read_allowlist(ALLOWLIST)
    by_path = analyze(SUNBEAM, allowlist=rules)
    with SUNBEAM.open("rb") as fh:
        by_stream = analyze(fh, allowlist=rules, name=str(SUNBEAM))
    by_bytes = analyze(io.BytesIO(SUNBEAM.read_bytes()), allowlist=rules, name=str(SUNBEAM))
    assert _json(by_path) == _json(by_stream) == _json(by_bytes)
    code = (
        "import sys, json; from analyzer.api import analyze, read_allowlist; from reports.jsondoc import render; "
        f"sys.stdout.write(render(analyze('-', allowlist=read_allowlist({str(ALLOWLIST)!r}), name={str(SUNBEAM)!r})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], stdin=SUNBEAM.open("rb"), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == _json(by_path)
    assert len(by_path.missing()) == 3 and len(by_path.excess) == 19 and len(by_path.lint) == 41


def test_review_is_in_the_columns() -> None:
    report = analyze(SUNBEAM, allowlist=read_allowlist(ALLOWLIST))
    statuses = {r["status"] for r in report.summary if r["noise"] is None}
    assert statuses <= {"covered", "blocked-but-allowed", "missing"} and "missing" in statuses
    assert all(r["status"] is None for r in report.summary if r["noise"] is not None)
    for r in report.covered():
        assert r["entry"] and isinstance(r["entry_line"], int)
    assert {r["fqdn"] for r in report.blocked_but_allowed()} == {
        "production.cloudflare.docker.com",
        "ghcr.io",
        "quay.io",
    }
    assert all(isinstance(r["addresses"], list) and isinstance(r["vias"], list) for r in report.summary)
    # Without an allowlist: noise only, no status.
    bare = analyze(SUNBEAM)
    assert bare.allowlist is None and len(bare.excess) == len(bare.lint) == 0
    assert all(r["status"] is None for r in bare.summary) and any(r["noise"] for r in bare.dns)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dialect": "nginx"}, "unknown dialect 'nginx'"),
        ({"include_noise": frozenset({"nope"})}, "unknown noise kind 'nope'"),
        ({"jobs": 0}, "jobs must be"),
        ({"internal_domains": "corp.example"}, "takes a list"),
    ],
)
def test_options_validate_themselves(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        Options(**kwargs)  # type: ignore[arg-type]


def test_options_normalise() -> None:
    o = Options(internal_domains=(".Corp.Example.",), include_noise=["mdns"])  # type: ignore[arg-type]
    assert o.internal_domains == ("corp.example",) and o.include_noise == frozenset({"mdns"})


def test_bad_input_is_one_typed_error_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "notes.pcap"
    junk.write_text("not a capture\n" * 4)
    with pytest.raises(CaptureError) as err:
        analyze(junk)
    assert str(junk) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(CaptureError, match="no such file"):
        analyze(tmp_path / "absent.pcap")
    with pytest.raises(CaptureError, match="is a directory"):
        analyze(tmp_path)
    bad_rules = tmp_path / "rules.txt"
    bad_rules.write_text("# nothing here\n")
    with pytest.raises(InputError, match=r"rules\.txt"):
        read_allowlist(bad_rules)


def _many_addresses_capture(path: Path, n: int) -> list[str]:
    """One name (by SNI) reached at ``n`` addresses: a CDN, and more addresses than a display shows."""
    addresses = [f"203.0.113.{10 + i}" for i in range(n)]
    write_tls_capture(path, [(b"cdn.example.com", a, 443) for a in addresses])
    return addresses


def test_a_name_at_twelve_addresses_keeps_all_twelve(tmp_path: Path) -> None:
    capture = tmp_path / "cdn.pcap"
    addresses = _many_addresses_capture(capture, 12)
    rules = tmp_path / "rules.txt"
    rules.write_text("other.example.org\n203.0.113.21\n")  # the 12th address, past what a display shows
    report = analyze(capture, allowlist=read_allowlist(rules))
    (row,) = [r for r in report.summary if r["fqdn"] == "cdn.example.com"]
    assert row["addresses"] == sorted(addresses) and row["count"] == 12
    (json_row,) = [r for r in _json(report)["summary"] if r["fqdn"] == "cdn.example.com"]  # type: ignore[attr-defined]
    assert json_row["addresses"] == sorted(addresses)
    # The address diff sees every address: the entry for the 12th is used (not excess) and covers the row.
    assert [e["entry"] for e in report.excess] == ["other.example.org"]
    assert row["status"] == "covered" and row["entry"] == "203.0.113.21"
    # An unnamed destination at many addresses: every one reaches the exports (no "+N more" lost).
    bare = analyze(capture)
    text = exports.render(bare, "text")
    assert "cdn.example.com tcp/443" in text


def test_unnamed_destination_exports_every_address(tmp_path: Path) -> None:
    from scapy.all import IP, TCP, Ether, wrpcap

    packets = []
    addresses = [f"198.51.100.{i}" for i in range(1, 13)]
    for i, dst in enumerate(addresses):
        p = Ether() / IP(src="10.0.0.5", dst=dst) / TCP(sport=41000 + i, dport=8443, flags="S")
        p.time = 1_700_000_000 + i
        packets.append(p)
    capture = tmp_path / "bare.pcap"
    wrpcap(str(capture), packets)
    report = analyze(capture)
    unnamed = [r for r in report.summary if r["fqdn"] is None]
    assert sorted(a for r in unnamed for a in r["addresses"]) == sorted(addresses)
    for target in ("text", "cilium", "azure-bicep", "squid"):
        out = exports.render(report, target)
        for a in addresses:
            assert a in out, (target, a)


def test_importing_a_renderer_loads_no_engine() -> None:
    code = (
        "import sys, reports.jsondoc, reports.markdown, reports.table, reports.csvout, reports.exports, reports.html; "
        "bad = [m for m in ('analyzer.engine', 'analyzer.fastpath', 'analyzer.flows', 'parsers.tls', 'parsers.dns') "
        "if m in sys.modules]; print(bad); assert not bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lint_loads_no_packet_decoder(tmp_path: Path) -> None:
    code = (
        "import sys; from analyzer.api import read_allowlist, lint; "
        f"lint(read_allowlist({str(ALLOWLIST)!r})); "
        "bad = [m for m in sys.modules if m.startswith('parsers.') and m != 'parsers.errors' "
        "or m == 'analyzer.engine']; "
        "print(bad); assert not bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_allowlist_given_as_text_equals_the_file() -> None:
    from analyzer.api import AllowlistText

    by_file = read_allowlist(ALLOWLIST)
    by_text = read_allowlist(AllowlistText("upload:request.md", ALLOWLIST.read_text().replace("\n", "\r\n")))
    assert [(e.pattern, e.ports, e.protocols, e.line) for e in by_text.entries] == [
        (e.pattern, e.ports, e.protocols, e.line) for e in by_file.entries
    ]
    assert by_text.files == ["upload:request.md"] and by_text.formats == by_file.formats
    merged = read_allowlist([ALLOWLIST, AllowlistText("extra.txt", "extra.example.com:443\n")])
    assert len(merged.entries) == len(by_file.entries) + 1 and merged.files[-1] == "extra.txt"
    with pytest.raises(InputError, match=r"empty\.txt"):
        read_allowlist(AllowlistText("empty.txt", "# nothing\n"))
