"""The fixture cluster of issue 16: a 3-node ARTESCA-like bootstrap captured on the bootstrap node
(fixtures/build_fixtures.py, case artesca-bootstrap.pcap), checked against a Calico policy whose etcd
peer rule forgot the joining node.  The expected result is fixtures/portpolicy/artesca-bootstrap.expected.json,
written by hand from the capture's story."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.api import analyze, check_ports, read_port_policy, read_roles
from analyzer.portpolicy import export
from analyzer.portpolicy.readers import parse
from analyzer.portpolicy.report import PortPolicyReport
from reports import portpolicy as portpolicy_report
from tests.support.paths import CAPTURES, FIXTURES

CAPTURE = CAPTURES / "artesca-bootstrap.pcap"
POLICY = FIXTURES / "portpolicy" / "artesca-bootstrap-policy.yaml"
ROLES = FIXTURES / "portpolicy" / "artesca-bootstrap-roles.yaml"
EXPECTED = json.loads((FIXTURES / "portpolicy" / "artesca-bootstrap.expected.json").read_text())


@pytest.fixture(scope="module")
def result() -> PortPolicyReport:
    return check_ports([analyze(CAPTURE)], read_port_policy(POLICY), read_roles(ROLES))


def test_every_flow_as_expected(result: PortPolicyReport) -> None:
    assert result.failsafe == EXPECTED["failsafe"]
    keys = EXPECTED["port_flows"][0].keys()
    assert [{k: r[k] for k in keys} for r in result.flows.rows] == EXPECTED["port_flows"]


def test_the_dropped_etcd_peer_flow_is_denied_by_policy_with_the_rule_that_would_allow_it(
    result: PortPolicyReport,
) -> None:
    (denied,) = result.denied()
    assert (denied["src"], denied["dst"], denied["port"], denied["verdict"]) == (
        "10.0.0.7",
        "10.0.0.5",
        2380,
        "no-reply",
    )
    assert denied["status"] == "likely-cause" and denied["denied_at"] == "ingress"
    # the rule it needs is data (columns); the reports word it
    assert (denied["needed_direction"], denied["needed_roles"], denied["needed_peer_roles"]) == (
        "ingress",
        ["etcd"],
        ["etcd", "master"],
    )
    assert "needs: ingress TCP/2380 on etcd from etcd,master" in "\n".join(portpolicy_report.denial_lines(result))
    near = next(r for r in result.rules.rows if r["rule"] == denied["nearest"])
    assert (near["protocol_port"], near["source"]) == ("TCP(:2380)", "10.0.0.5/32, 10.0.0.6/32")
    # The rule it needs, added to the policy, lets it through (and nothing else changes).
    fixed = read_port_policy(POLICY)
    fixed.extend(parse(
        "direction,role,protocol,ports,source,policy,order\ningress,etcd,TCP,2380,etcd nodes,fix,102\n", "fix.csv"
    ))  # fmt: skip
    again = check_ports([analyze(CAPTURE)], fixed, read_roles(ROLES))
    assert not again.denied()


def test_rules_never_exercised_are_listed(result: PortPolicyReport) -> None:
    assert [r["rule"] for r in result.unused()] == EXPECTED["unused_rules"]
    used = {r["rule"]: r["flows"] for r in result.rules.rows if r["used"]}
    assert used["control-plane-general/egress/1"] == 8  # every TCP flow's egress but etcd peers'
    assert used["control-plane-etcd/ingress/2"] == 2


def test_failsafe_defaults_would_have_let_the_etcd_peer_through() -> None:
    """Calico's default failsafe ports include TCP 2380 inbound (docs.tigera.io/calico/latest/reference/
    host-endpoints/failsafe): without the FelixConfiguration that narrows them, the policy is not the cause."""
    got = check_ports([analyze(CAPTURE)], read_port_policy(POLICY), read_roles(ROLES), failsafe="calico")
    row = next(r for r in got.flows.rows if r["src"] == "10.0.0.7" and r["port"] == 2380)
    assert (row["policy"], row["ingress_rule"], row["status"]) == ("allowed", "failsafe", "points-elsewhere")


@pytest.mark.parametrize("writer", [export.calico_yaml, export.markdown_table])
def test_export_round_trips(result: PortPolicyReport, writer: object, tmp_path: Path) -> None:
    """The policy the observed flows justify, fed back as the policy: no flow denied, every rule used."""
    assert callable(writer)
    text = writer(result.flows)
    path = tmp_path / "justified.txt"  # no extension to go by: detected from the content
    path.write_text(text)
    again = check_ports([analyze(CAPTURE)], read_port_policy(path), read_roles(ROLES), failsafe="none")
    assert len(again.flows) == len(result.flows)
    assert not again.denied()
    assert not again.unused()


def test_calico_export_names_the_roles() -> None:
    flows = check_ports([analyze(CAPTURE)], read_port_policy(POLICY), read_roles(ROLES)).flows
    text = export.calico_yaml(flows)
    assert 'name: observed-tcp-2380\nspec:\n  selector: "has(node-role.kubernetes.io/etcd) && ' in text
    assert text.count("kind: GlobalNetworkPolicy") == 10  # 5 ports, ingress and egress each


def test_captures_of_several_nodes_merge_and_a_connection_counts_once(result: PortPolicyReport) -> None:
    """The same capture given twice stands for two nodes' captures of the same connections: nothing doubles."""
    twice = check_ports([analyze(CAPTURE), analyze(CAPTURE)], read_port_policy(POLICY), read_roles(ROLES))
    assert twice.flows.rows == result.flows.rows
    assert twice.captures == (str(CAPTURE), str(CAPTURE))


def test_a_flow_from_outside_is_checked_at_ingress_only(tmp_path: Path) -> None:
    """Without a role, 10.0.0.7 is outside: its flows to the bootstrap node get the ingress check alone."""
    roles = tmp_path / "roles.yaml"
    roles.write_text("10.0.0.5: [bootstrap, master, etcd, infra]\n10.0.0.6: [master, etcd]\n")
    got = check_ports([analyze(CAPTURE)], read_port_policy(POLICY), read_roles(roles))
    outside = [r for r in got.flows.rows if r["src"] == "10.0.0.7"]
    assert {r["scope"] for r in outside} == {"from-outside"} and {r["egress_rule"] for r in outside} == {None}
    salt = next(r for r in outside if r["port"] == 4505)
    assert (salt["policy"], salt["nearest"]) == ("denied", "control-plane-bootstrap/ingress/1")  # all(): roles only
    assert not any(r["dst"] == "10.0.0.7" for r in got.flows.rows)  # to outside: egress, the main report's
