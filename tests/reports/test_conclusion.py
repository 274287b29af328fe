"""The answer first (issue 10, item 18): the conclusion, then the missing and blocked tables, lint as counts."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len

from analyzer.allowlist.readers import read_allowlist
from analyzer.api import analyze
from analyzer.api import read_allowlist as api_read_allowlist
from tests.support.cli import egress
from tests.support.paths import REPLAY, ROOT, SUNBEAM

REQUEST = REPLAY / "sunbeam.allowlist.md"


def _demo(*extra: str) -> list[str]:
    # `make demo`'s command, with its paths relative to the checkout (where the CLI runs): the title
    # line names the capture, and an absolute path as long as a CI runner's would wrap it at 80 columns.
    capture, request = (str(p.relative_to(ROOT)) for p in (SUNBEAM, REQUEST))
    proc = egress("analyze", capture, "--allowlist", request, *extra, env={"COLUMNS": "80", "TERM": "dumb"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_the_demo_at_80_columns_opens_with_the_answer() -> None:
    lines = _demo()
    assert all(cell_len(line) <= 80 for line in lines), [line for line in lines if cell_len(line) > 80]
    head = lines[: next(i for i, line in enumerate(lines) if "Egress summary" in line)]
    text = "\n".join(head)
    assert head[2].startswith("Conclusion: 4 destinations blocked")
    report = analyze(SUNBEAM, allowlist=api_read_allowlist(REQUEST))
    for row in report.blocked():
        assert row["fqdn"] in text
    for title in ("Add to the request", "Remove from the request", "Missing from the allowlist", "Allowed but blocked"):
        assert title in text, title
    # Before, the 41 lint rows wrapped at 80 columns buried everything in ~400 lines.
    assert len(lines) < 150
    assert "evilcanonical.com" not in "\n".join(lines)  # a lint row's detail: only counts by default
    assert "over-broad" in "\n".join(lines)


def test_lint_rows_on_request() -> None:
    assert "evilcanonical.com" in "\n".join(_demo("--lint"))


def test_markdown_conclusion_comes_first_and_its_request_reads_back(tmp_path: Path) -> None:
    proc = egress("analyze", str(SUNBEAM), "--allowlist", str(REQUEST), "--format", "md")
    assert proc.returncode == 0, proc.stderr
    md = proc.stdout
    assert md.index("## Conclusion") < md.index("## Summary")
    block = md.split("Add to the request", 1)[1].split("```", 2)[1]
    request = tmp_path / "add.md"
    request.write_text("## Key points about the firewall rule\n" + block)
    added = {e.pattern for e in read_allowlist(request).entries}
    report = analyze(SUNBEAM, allowlist=api_read_allowlist(REQUEST))
    want = {m["fqdn"] or a for m in report.missing() for a in (m["addresses"] if m["fqdn"] is None else [None])}
    assert added == want


def test_nothing_blocked_says_so() -> None:
    proc = egress("analyze", str(SUNBEAM.parent / "sll.pcap"), env={"COLUMNS": "80"})
    assert proc.returncode == 0
    assert "Conclusion: No connection was blocked" in proc.stdout


def test_a_dns_firewall_block_is_blocked_but_asks_for_no_port(tmp_path: Path) -> None:
    """A name a DNS firewall blocked (Route 53 Resolver query log) is in the blocked list and missing, but
    the request lines to paste name no port for it: none is known (a rule for UDP 53 would be wrong)."""
    import json

    from reports.conclusion import conclude

    record = {"query_timestamp": "2024-06-10T06:13:20Z", "query_name": "ghcr.io.", "query_type": "A",
              "rcode": "NOERROR", "answers": [], "srcaddr": "10.0.0.5", "firewall_rule_action": "BLOCK",
              "firewall_rule_group_id": "rslvr-frg-1"}  # fmt: skip
    log = tmp_path / "resolver.log"
    log.write_text(json.dumps(record) + "\n")
    rules = tmp_path / "request.txt"
    rules.write_text("esm.ubuntu.com:443\n")
    c = conclude(analyze(log, allowlist=api_read_allowlist(rules)))
    assert [(b.name, b.where, b.verdict, b.why) for b in c.blocked] == [
        ("ghcr.io", "DNS/53", "denied", "missing from the request")
    ]
    assert c.missing == 1 and c.add == ()
