"""A bad line in an allowlist is listed with its line and the reading goes on (issue 10, item 12).

Every format gets the same class of bad destinations: an empty label, a mistyped IPv4 address
(out-of-range octet, too few octets, all-numeric name), an out-of-range port and spaces inside.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.allowlist.lint import lint
from analyzer.allowlist.model import AllowlistError
from analyzer.allowlist.readers import read_allowlist

BAD = ["foo..bar.com", "999.1.1.1", "10.0.0.256", "1.2.3", "sub.example.123"]


def _text(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    lines = ["# request", "api.snapcraft.io:443"]
    bad: dict[int, str] = {}
    for name in BAD:
        lines.append(name)
        bad[len(lines)] = name
    lines += ["registry.k8s.io:99999", "ok.example.com", "1.2.3.4", "two words.example.com", "charmhub.io"]
    bad[len(lines) - 4] = "registry.k8s.io:99999"
    bad[len(lines) - 1] = "two words.example.com"
    path = tmp_path / "list.txt"
    path.write_text("\n".join(lines) + "\n")
    return path, bad


def test_text_every_bad_line_is_listed_and_the_good_ones_read(tmp_path: Path) -> None:
    path, bad = _text(tmp_path)
    allowlist = read_allowlist(path)
    assert [e.pattern for e in allowlist.entries] == ["api.snapcraft.io", "ok.example.com", "1.2.3.4", "charmhub.io"]
    assert [(b.line, b.text) for b in allowlist.invalid] == sorted(bad.items())
    assert all(b.file == str(path) for b in allowlist.invalid)


def test_mistyped_addresses_are_not_names(tmp_path: Path) -> None:
    path, _ = _text(tmp_path)
    problems = {b.text: b.problem for b in read_allowlist(path).invalid}
    for name in ("999.1.1.1", "10.0.0.256", "1.2.3", "sub.example.123"):
        assert problems[name] == f"{name!r} is not a valid IP address, and a host name cannot end in a number"


def test_lint_lists_each_invalid_line_with_file_and_line(tmp_path: Path) -> None:
    path, bad = _text(tmp_path)
    findings = [f for f in lint(read_allowlist(path), "azure") if f["problem"] == "invalid"]
    assert [(f["file"], f["line"], f["entry"]) for f in findings] == [(str(path), n, t) for n, t in sorted(bad.items())]
    assert all(f["detail"] for f in findings)


@pytest.mark.parametrize(
    ("name", "text", "bad_line"),
    [
        (
            "r.md",
            "# Request\n- Port: 443\n- Destinations:\n  - ok.example.com\n  - foo..bar.com\n  - b.example.com\n",
            5,
        ),
        (
            "r.md",
            "| Destination | Port |\n|---|---|\n| ok.example.com | 443 |\n| 999.1.1.1 | 443 |\n| b.io | 443 |\n",
            4,
        ),
        ("r.csv", "fqdn,port\nok.example.com,443\nfoo..bar.com,443\nb.example.com,443\n", 3),
        ("r.csv", "fqdn,port\nok.example.com,443\nx.example.com,99999\nb.example.com,443\n", 3),
        (
            "cnp.yaml",
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\nspec:\n  egress:\n"
            "    - toFQDNs:\n        - matchName: ok.example.com\n        - matchName: foo..bar.com\n"
            "        - matchName: b.example.com\n",
            9,
        ),
        (
            "fw.bicep",
            "resource r 'x' = {\n  properties: {\n    rules: [\n      {\n        name: 'r'\n"
            "        targetFqdns: [\n          'ok.example.com'\n          '999.1.1.1'\n          'b.example.com'\n"
            "        ]\n      }\n    ]\n  }\n}\n",
            8,
        ),
        ("fw.json", '{"name": "r", "targetFqdns": [\n"ok.example.com",\n"foo..bar.com",\n"b.example.com"]}\n', 3),
        ("squid.txt", ".ok.example.com\n.foo..bar.com\n.b.example.com\n", 2),
    ],
)
def test_every_format_skips_a_bad_destination_and_goes_on(tmp_path: Path, name: str, text: str, bad_line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    allowlist = read_allowlist(path)
    assert len(allowlist.entries) >= 2
    assert [b.line for b in allowlist.invalid] == [bad_line]
    assert [f["line"] for f in lint(allowlist, "azure") if f["problem"] == "invalid"] == [bad_line]


def test_a_file_of_only_bad_lines_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("foo..bar.com\n999.1.1.1\n")
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert caught.value.line == 1
    assert caught.value.problem.endswith("(and 1 more invalid; no allowlist entries found)")


def test_lint_command_lists_the_bad_lines_and_exits_0(tmp_path: Path) -> None:
    path, bad = _text(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", "lint", str(path), "--format", "json"],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["line"], f["entry"]) for f in doc["lint"] if f["problem"] == "invalid"] == sorted(bad.items())
    assert any("skipped 7 invalid entries" in note for note in doc["notes"])
