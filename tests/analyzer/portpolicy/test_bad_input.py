"""Malformed and hostile policy and roles files: one line naming the file (and the line) and the reason,
InputError from the library and exit 2 from the CLI; nothing read half-way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.api import InputError, read_port_policy, read_roles
from tests.support.paths import CAPTURES, FIXTURES

GNP = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec:\n"
BAD_POLICIES = {
    "prose.md": ("Just some notes about the cluster.\n", "no port rules found"),
    "yaml-syntax.yaml": (GNP + "  ingress: [\n", "YAML syntax error"),
    "alias-bomb.yaml": (
        "kind: GlobalNetworkPolicy\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
        "alias bomb",
    ),
    "deep.yaml": ("kind: NetworkPolicy\nx: " + "[" * 500 + "]" * 500 + "\n", "nested more than"),
    "negated.yaml": (GNP + '  selector: "!has(etcd)"\n  ingress: [{action: Allow}]\n', "selector term not supported"),
    "named-port.yaml": (GNP + "  ingress: [{action: Allow, destination: {ports: [http]}}]\n", "named ports"),
    "port-range.yaml": (GNP + "  ingress: [{action: Allow, destination: {ports: ['9000:80']}}]\n", "out of order"),
    "action.yaml": (GNP + '  ingress: [{action: "<script>"}]\n', "action must be one of"),
    "not-nets.yaml": (GNP + "  ingress: [{action: Allow, source: {notNets: [10.0.0.0/8]}}]\n", "notNets"),
    "artesca-rule.md": (
        "The x policy:\n\n  • applies to control plane endpoints\n  • allows ingress traffic for:\n"
        "    • TCP to port(s) 99999 from control plane endpoints (used for x)\n",
        "above 65535",
    ),
    "artesca-line.md": (
        "The x policy:\n\n  • allows ingress traffic for:\n"
        "    • everything from everywhere (used for =cmd|' /C calc'!A0)\n",
        "not understood",
    ),
    "artesca-table.md": (
        "Policy p\n\n| Network | Role | Protocol(Port) | Traffic Type | Direction(s) | Source | Destination |\n"
        "|---|---|---|---|---|---|---|\n| control plane | etcd | TCP(:2380) | x | Sideways | (any) | N/A |\n",
        "not a direction",
    ),
    "rules.csv": ("direction,protocol,ports\ningress,TCP,80-\n", "not a port"),
    "binary.bin": ("\udcff", "not UTF-8"),
}


def _write(path: Path, text: str) -> None:
    if text == "\udcff":
        path.write_bytes(b"kind: NetworkPolicy\n\xff\xfe\n")
    else:
        path.write_text(text)


@pytest.mark.parametrize("name", sorted(BAD_POLICIES))
def test_bad_policy_is_one_line(name: str, tmp_path: Path) -> None:
    text, reason = BAD_POLICIES[name]
    path = tmp_path / name
    _write(path, text)
    with pytest.raises(InputError) as exc:
        read_port_policy(path)
    message = str(exc.value)
    assert message.startswith(str(path)) and reason in message, message
    assert "\n" not in message and len(message) < 400


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_port_policy(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match="is a directory"):
        read_port_policy(tmp_path)


BAD_ROLES = {
    "list.yaml": ("- 10.0.0.1\n", "expected a mapping"),
    "hostname.yaml": ("node-1.example: [etcd]\n", "host name"),
    "role.yaml": ("10.0.0.1: ['<script>']\n", "not a role name"),
    "key.yaml": ("'=cmd|x': [etcd]\n", "not an address or network"),
    "empty-roles.yaml": ("10.0.0.1: []\n", "has no roles"),
}


@pytest.mark.parametrize("name", sorted(BAD_ROLES))
def test_bad_roles_file_is_one_line(name: str, tmp_path: Path) -> None:
    text, reason = BAD_ROLES[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        read_roles(path)
    assert str(exc.value).startswith(str(path)) and reason in str(exc.value), str(exc.value)


def _egress(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_bad_policy_exit_2_one_line(tmp_path: Path) -> None:
    path = tmp_path / "\x1b[31mred.yaml"
    path.write_text(BAD_POLICIES["action.yaml"][0])
    proc = _egress("analyze", str(CAPTURES / "artesca-bootstrap.pcap"), "--port-policy", str(path), "--roles",
                   str(FIXTURES / "portpolicy" / "artesca-bootstrap-roles.yaml"))  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "action must be one of" in lines[0], proc.stderr
    assert "\x1b" not in proc.stderr and "\\x1b[31mred.yaml" in lines[0]  # the escape is shown, not sent


def test_cli_port_policy_needs_roles() -> None:
    proc = _egress("analyze", str(CAPTURES / "artesca-bootstrap.pcap"), "--port-policy",
                   str(FIXTURES / "portpolicy" / "artesca-bootstrap-policy.yaml"))  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == "egress: error: the port check needs both --port-policy and --roles"
