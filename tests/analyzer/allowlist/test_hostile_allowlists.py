"""Hostile allowlists end in one clear AllowlistError, quickly (issue 10, items 8 and 11).

Nesting thousands deep in every nested format (JSON, YAML block and flow style, Bicep, and the
Bicep/JSON blocks of a request document) used to end in a RecursionError; YAML aliases used to
multiply a 4 KB policy into 90,000 entries.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer.allowlist import document
from analyzer.allowlist.model import AllowlistError
from analyzer.allowlist.readers import read_allowlist

DEEP = 5000
CNP = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n"

NESTED = {
    "arrays.json": ("[" * DEEP + "]" * DEEP, 1),
    "objects.json": ('{"a":\n' * DEEP + "1" + "}" * DEEP, 101),
    "strings-do-not-count.json": ('{"targetFqdns": ["[[[[{{{{"],\n"x": ' + "[" * DEEP + "]" * DEEP + "}", 2),
    "block.yaml": (CNP + "spec:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(DEEP)), 105),
    "flow.yaml": (CNP + "spec: " + "[" * DEEP + "]" * DEEP + "\n", 5),
    "mixed.yaml": (CNP + "spec:\n  egress:\n    - toFQDNs: " + "[{a: " * DEEP + "1" + "}]" * DEEP + "\n", 7),
    "objects.bicep": ("resource r 'x' = {\n  targetFqdns: []\n  p: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n}\n", 3),
    "arrays.bicep": ("var y = {\n  targetFqdns: []\n}\nvar x = " + "[" * DEEP + "]" * DEEP + "\n", 4),
    "bicep-block.md": (
        "# Request\n```bicep\nvar y = {\n  targetFqdns: []\n}\nvar x = " + "[" * DEEP + "]" * DEEP + "\n```\n", 6
    ),
    "json-block.md": ('# Request\n```json\n{"targetFqdns": [],\n"x": ' + "[" * DEEP + "]" * DEEP + "}\n```\n", 4),
}  # fmt: skip


@pytest.mark.parametrize("name", NESTED)
def test_deep_nesting_is_one_clear_error_with_its_line(tmp_path: Path, name: str) -> None:
    text, line = NESTED[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert caught.value.problem == "nested more than 100 levels deep: not a firewall rule set"
    assert caught.value.line == line


@pytest.mark.parametrize("depth", [10, 90])
def test_nesting_within_the_bound_is_read(tmp_path: Path, depth: int) -> None:
    rule = '{"name": "r", "targetFqdns": ["api.snapcraft.io"]}'
    json_path = tmp_path / "fw.json"
    json_path.write_text('{"a": ' * depth + rule + "}" * depth)
    assert [e.pattern for e in read_allowlist(json_path).entries] == ["api.snapcraft.io"]
    yaml_path = tmp_path / "cnp.yaml"
    yaml_path.write_text(
        CNP + "spec:\n  egress:\n    - toFQDNs: [{matchName: a.io}]\n  x: " + "[" * depth + "]" * depth
    )
    assert [e.pattern for e in read_allowlist(yaml_path).entries] == ["a.io"]


def test_the_cli_turns_deep_nesting_into_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * DEEP + "]" * DEEP)
    proc = subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", "lint", str(path)],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.decode().strip()
        == f"egress: error: {path}:1: nested more than 100 levels deep: not a firewall rule set"
    )


def _cnp_bomb(rules: int, names: int) -> str:
    """The issue's 4 KB policy: ``rules`` aliases of one rule whose toFQDNs alias ``names`` names."""
    fqdns = ", ".join(f"{{matchName: a{i}.example.com}}" for i in range(names))
    return CNP + f"x: &f [{fqdns}]\nr: &r {{toFQDNs: *f}}\nspec:\n  egress: [" + ", ".join(["*r"] * rules) + "]\n"


def _laughs(levels: int) -> str:
    """Each anchor lists ten aliases of the one before: 10**levels nodes, with one real entry."""
    lines = [
        CNP + "spec:\n  egress:\n    - toFQDNs: [{matchName: api.snapcraft.io}]\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]"
    ]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [_cnp_bomb(300, 300), _laughs(9)], ids=["300x300", "laughs"])
def test_alias_bombs_are_refused_quickly(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cnp.yaml"
    path.write_text(text)
    assert len(text) < 12_000
    start = time.perf_counter()
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert time.perf_counter() - start < 5
    assert caught.value.problem == "YAML aliases add more than 100,000 nodes to the document (an alias bomb?)"


def test_modest_alias_reuse_is_read(tmp_path: Path) -> None:
    # An anchored toPorts block reused by each rule, and a small aliased name list: ordinary YAML.
    path = tmp_path / "cnp.yaml"
    path.write_text(_cnp_bomb(3, 4))
    entries = read_allowlist(path).entries
    assert len(entries) == 12
    assert sorted({e.pattern for e in entries}) == [f"a{i}.example.com" for i in range(4)]


def test_one_file_holds_at_most_max_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document, "MAX_ENTRIES", 50)
    path = tmp_path / "list.txt"
    path.write_text("".join(f"h{i}.example.com\n" for i in range(50)))
    assert len(read_allowlist(path).entries) == 50
    path.write_text("".join(f"h{i}.example.com\n" for i in range(51)))
    with pytest.raises(AllowlistError) as caught:
        read_allowlist(path)
    assert caught.value.line == 51
    assert caught.value.problem == "more than 50 entries in one file: split it, or check how it was made"
    # aliases under the alias cap still count, entry by entry
    bomb = tmp_path / "cnp.yaml"
    bomb.write_text(_cnp_bomb(10, 10))
    with pytest.raises(AllowlistError, match="more than 50 entries in one file"):
        read_allowlist(bomb)


def test_the_entry_cap_is_two_hundred_thousand() -> None:
    assert document.MAX_ENTRIES == 200_000
