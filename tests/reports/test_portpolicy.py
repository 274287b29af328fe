"""The port check in every format, from the fixture cluster and from a policy whose names are hostile."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from analyzer.api import analyze, check_ports, read_port_policy, read_roles
from analyzer.portpolicy.report import PortPolicyReport
from analyzer.schema import column_names
from reports import portpolicy
from tests.support.paths import CAPTURES, FIXTURES

CAPTURE = CAPTURES / "artesca-bootstrap.pcap"
POLICY = FIXTURES / "portpolicy" / "artesca-bootstrap-policy.yaml"
ROLES = FIXTURES / "portpolicy" / "artesca-bootstrap-roles.yaml"
HOSTILE_POLICY = "<script>alert(1)</script>"
HOSTILE_SERVICE = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> PortPolicyReport:
    path = tmp_path_factory.mktemp("p") / "rules.csv"
    path.write_text(
        "policy,role,direction,protocol,ports,source,service\n"
        f'"{HOSTILE_POLICY}",etcd,ingress,TCP,2380,In cluster,"{HOSTILE_SERVICE}"\n'
        "a|b\x1b[2J,bootstrap,ingress,TCP,4505-4506,In cluster,salt\n"
    )
    return check_ports([analyze(CAPTURE)], read_port_policy(path), read_roles(ROLES), failsafe="none")


def test_json_has_both_tables_in_schema_order(hostile: PortPolicyReport) -> None:
    buf = io.StringIO()
    portpolicy.write_json(hostile, buf)
    doc = json.loads(buf.getvalue())
    assert list(doc["port_flows"][0]) == list(column_names("port_flows"))
    assert list(doc["port_rules"][0]) == list(column_names("port_rules"))
    assert doc["port_rules"][0]["policy"] == HOSTILE_POLICY  # data stays data in JSON
    assert doc["port_flows"][0]["first_seen"].endswith("Z")


def test_markdown_cells_are_inert(hostile: PortPolicyReport) -> None:
    text = portpolicy.markdown(hostile)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\x1b" not in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "a\\|b" in line]
    assert len(rows) == 5  # the four salt flows it allowed and the rule itself
    widths = {len(portpolicy.FLOW_COLUMNS), len(portpolicy.RULE_COLUMNS)}
    for line in rows:  # the escaped | breaks no column
        assert len(re.split(r"(?<!\\)\|", line)) - 2 in widths, line


def test_csv_formula_cells_are_quoted(hostile: PortPolicyReport) -> None:
    rows = list(csv.DictReader(io.StringIO(portpolicy.csv(hostile, "port_rules"))))
    assert rows[0]["traffic_type"] == "'" + HOSTILE_SERVICE
    flows = list(csv.DictReader(io.StringIO(portpolicy.csv(hostile))))
    assert flows[0]["src_roles"] == "etcd master"


def test_html_has_no_live_markup(hostile: PortPolicyReport) -> None:
    page = portpolicy.html(hostile)
    tags: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append(tag)

    Tags().feed(page)
    assert "script" not in tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "\x1b" not in page


def test_terminal_table_sends_no_escape(hostile: PortPolicyReport) -> None:
    buf = io.StringIO()
    portpolicy.terminal_table(hostile, Console(file=buf, width=300, force_terminal=False))
    out = buf.getvalue()
    assert "\x1b" not in out and "\\x1b[2J" in out


def test_rule_table_is_artesca_shaped_with_observed_columns() -> None:
    result = check_ports([analyze(CAPTURE)], read_port_policy(POLICY), read_roles(ROLES))
    text = portpolicy.markdown(result)
    header = next(line for line in text.splitlines() if line.startswith("| Network |"))
    assert header.startswith(
        "| Network | Role | Protocol(Port) | Traffic Type | Direction(s) | Source | Destination | Action |"
    )
    assert header.endswith("| Flows | Connections | Blocked | Used |")
    assert "| Etcd nodes | TCP(:2380) |  | ingress | 10.0.0.5/32, 10.0.0.6/32 | N/A | Allow |" in text


def _egress(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["table", "json", "md", "html", "csv"])
def test_cli_every_format(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"out.{fmt}"
    proc = _egress(
        "analyze", str(CAPTURE), "--port-policy", str(POLICY), "--roles", str(ROLES), "-f", fmt, "-o", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "10.0.0.7" in text and "likely-cause" in text


def test_cli_export_round_trips(tmp_path: Path) -> None:
    exported = tmp_path / "observed.yaml"
    args = ["analyze", str(CAPTURE), "--roles", str(ROLES)]
    proc = _egress(*args, "--port-policy", str(POLICY), "--port-export", "calico", "-o", str(exported))
    assert proc.returncode == 0, proc.stderr
    proc = _egress(*args, "--port-policy", str(exported), "--failsafe", "none", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {r["policy"] for r in doc["port_flows"]} == {"allowed"} and len(doc["port_flows"]) == 11
