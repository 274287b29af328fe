"""The two request documents of issue 16 read into their rules: every table row and every rule line,
written out here by hand from the documents (not from the reader's output).

Each rule is (policy, order, node role, direction, Protocol(Port), source, destination, service); the
source is "N/A" for an egress rule and the destination "N/A" for an ingress rule, as in the tables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.portpolicy.model import EGRESS, INGRESS, Rule
from analyzer.portpolicy.readers import detect, read
from tests.support.paths import SHARED

REQUESTS = SHARED / "requests"
ARTESCA = REQUESTS / "artesca-calico-host-firewall.md"
STACKATO = REQUESTS / "stackato-network-guide.md"
pytestmark = pytest.mark.skipif(not REQUESTS.is_dir(), reason="../shared/requests absent")

Row = tuple[str, float | None, str, str, str, str, str, str | None]


def _row(r: Rule) -> Row:
    src = r.source.label() if r.direction == INGRESS else "N/A"
    dst = r.destination.label() if r.direction == EGRESS else "N/A"
    return (r.policy, r.order, r.applies.label(), r.direction, r.protocol_port(), src, dst, r.service)


WP, BS, RG, MA, ET, IN, GE = (
    "workload-plane", "control-plane-bootstrap", "control-plane-registry", "control-plane-master",
    "control-plane-etcd", "control-plane-infra", "control-plane-general",
)  # fmt: skip
IN_, EG = INGRESS, EGRESS
ANYR, CL = "(any)", "In cluster"

# "The <name> policy:" blocks, in document order (41 rule lines).
RULE_LINES: list[Row] = [
    (WP, 200, CL, IN_, "TCP(:80, 443)", ANYR, "N/A", "workload plane ingress"),
    (WP, 200, CL, IN_, "112()", ANYR, "N/A", "keepalived VRRP"),
    (WP, 200, CL, IN_, "TCP(:179)", CL, "N/A", "Calico BGP"),
    (WP, 200, CL, EG, "112()", "N/A", ANYR, "keepalived VRRP"),
    (WP, 200, CL, EG, "TCP(*)", "N/A", ANYR, "all TCP egress"),
    (WP, 200, CL, EG, "UDP(*)", "N/A", ANYR, "all UDP egress"),
    (BS, 100, "Bootstrap nodes", IN_, "TCP(:4505, 4506, 4507)", CL, "N/A", "salt-master"),
    (BS, 100, "Bootstrap nodes", IN_, "TCP(:8428)", ANYR, "N/A", "artifacts-server"),
    (BS, 100, "Bootstrap nodes", IN_, "UDP(:123)", ANYR, "N/A", "NTP for hardware appliances"),
    (BS, 100, "Bootstrap nodes", EG, "TCP(:22)", "N/A", CL, "ssh"),
    (RG, 103, "Registry nodes", IN_, "TCP(:8080)", ANYR, "N/A", "registry"),
    (MA, 101, "Master nodes", IN_, "TCP(:6443)", CL, "N/A", "kube-apiserver"),
    (MA, 101, "Master nodes", IN_, "TCP(:8443)", ANYR, "N/A", "control-plane ingress"),
    (MA, 101, "Master nodes", IN_, "TCP(:10257)", "Infra nodes", "N/A", "kube-controller-manager metrics"),
    (MA, 101, "Master nodes", IN_, "TCP(:10259)", "Infra nodes", "N/A", "kube-scheduler metrics"),
    (ET, 102, "Etcd nodes", IN_, "TCP(:2379)", "Etcd nodes", "N/A", "etcd client"),
    (ET, 102, "Etcd nodes", IN_, "TCP(:2380)", CL, "N/A", "etcd peer"),
    (ET, 102, "Etcd nodes", IN_, "TCP(:2381)", "Infra nodes", "N/A", "etcd metrics"),
    # "allows egress traffic for: TCP to port(s) 2380 from control plane endpoints with role(s) etcd":
    # the page names no destination for this egress rule, only the (local) source.
    (ET, 102, "Etcd nodes", EG, "TCP(:2380)", "N/A", ANYR, "etcd peer"),
    (IN, 104, "Infra nodes", EG, "TCP(:10257)", "N/A", "Master nodes", "kube-controller-manager metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:10259)", "N/A", "Master nodes", "kube-scheduler metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:2381)", "N/A", "Etcd nodes", "etcd metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:9100)", "N/A", ANYR, "node-exporter"),
    (IN, 104, "Infra nodes", EG, "TCP(:10249)", "N/A", CL, "kube-proxy metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:10250)", "N/A", CL, "kubelet metrics"),
    (GE, 105, CL, IN_, "TCP(:10250)", CL, "N/A", "kubelet"),
    (GE, 105, CL, IN_, "TCP(:10256)", CL, "N/A", "kube-proxy healthcheck"),
    (GE, 105, CL, IN_, "TCP(:9100)", "Infra nodes", "N/A", "node-exporter"),
    (GE, 105, CL, IN_, "TCP(:10249)", "Infra nodes", "N/A", "kube-proxy metrics"),
    (GE, 105, CL, IN_, "TCP(:22)", "Bootstrap nodes", "N/A", "ssh"),
    (GE, 105, CL, EG, "TCP(:2379)", "N/A", ANYR, "etcd client"),
    (GE, 105, CL, EG, "TCP(:4505, 4506)", "N/A", "Bootstrap nodes", "saltstack"),
    (GE, 105, CL, EG, "TCP(:6443)", "N/A", CL, "kube-apiserver"),
    (GE, 105, CL, EG, "TCP(:8080)", "N/A", "Registry nodes", "registry"),
    (GE, 105, CL, EG, "TCP(:8428)", "N/A", "Bootstrap nodes", "artifacts-server"),
    (GE, 105, CL, EG, "TCP(:10250)", "N/A", ANYR, "kubelet"),
    (GE, 105, CL, EG, "TCP(:10256)", "N/A", ANYR, "kube-proxy healthcheck"),
    (GE, 105, CL, EG, "TCP(:8443)", "N/A", "Master nodes", "control-plane ingress"),
    (GE, 105, CL, EG, "UDP(:123)", "N/A", ANYR, "all NTP egress"),
    (GE, 105, CL, EG, "TCP(*)", "N/A", ANYR, "all TCP egress"),
    (GE, 105, CL, EG, "UDP(*)", "N/A", ANYR, "all UDP egress"),
]

# The "Policy <name>" summary tables (30 rows; a row "Ingress, Egress" is two rules: 43).
TABLE_ROWS: list[Row] = [
    (WP, 200, CL, IN_, "TCP(:80)", ANYR, "N/A", "Ingress HTTP"),
    (WP, 200, CL, IN_, "TCP(:443)", ANYR, "N/A", "Ingress HTTPS"),
    (WP, 200, CL, IN_, "TCP(:179)", CL, "N/A", "Calico BGP"),
    (WP, 200, CL, IN_, "VRRP()", ANYR, "N/A", "keepalived"),
    (WP, 200, CL, EG, "VRRP()", "N/A", ANYR, "keepalived"),
    (WP, 200, CL, EG, "TCP(*)", "N/A", ANYR, "All Egress TCP"),
    (WP, 200, CL, EG, "UDP(*)", "N/A", ANYR, "All Egress UDP"),
    (BS, 100, "Bootstrap nodes", IN_, "TCP(:4505)", ANYR, "N/A", "Salt publisher"),
    (BS, 100, "Bootstrap nodes", IN_, "TCP(:4506)", ANYR, "N/A", "Salt request server"),
    (BS, 100, "Bootstrap nodes", IN_, "TCP(:4507)", ANYR, "N/A", "Salt API"),
    (BS, 100, "Bootstrap nodes", IN_, "TCP(:8428)", ANYR, "N/A", "Artifacts server"),
    (BS, 100, "Bootstrap nodes", EG, "TCP(:22)", "N/A", CL, "SSH"),
    (RG, 103, "Registry nodes", IN_, "TCP(:8080)", ANYR, "N/A", "Registry (containers and OS packages)"),
    (RG, 103, "Registry nodes", EG, "TCP(:8428)", "N/A", "Bootstrap nodes", "Artifacts server"),
    (MA, 101, "Master nodes", IN_, "TCP(:6443)", ANYR, "N/A", "Kubernetes API server"),
    (MA, 101, "Master nodes", IN_, "TCP(:8443)", ANYR, "N/A", "Control plane Ingress controller"),
    (MA, 101, "Master nodes", IN_, "TCP(:10257)", "Infra nodes", "N/A", "Kubernetes controller manager metrics"),
    (MA, 101, "Master nodes", IN_, "TCP(:10259)", "Infra nodes", "N/A", "Kubernetes scheduler metrics"),
    (ET, 102, "Etcd nodes", IN_, "TCP(:2379)", "Etcd nodes", "N/A", "etcd client"),
    (ET, 102, "Etcd nodes", IN_, "TCP(:2380)", "Etcd nodes", "N/A", "etcd peer"),
    (ET, 102, "Etcd nodes", EG, "TCP(:2380)", "N/A", "Etcd nodes", "etcd peer"),
    (ET, 102, "Etcd nodes", IN_, "TCP(:2381)", "Infra nodes", "N/A", "etcd metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:10257)", "N/A", "Master nodes", "Kubernetes controller manager metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:10259)", "N/A", "Master nodes", "Kubernetes scheduler metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:2381)", "N/A", "Etcd nodes", "etcd metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:9100)", "N/A", CL, "Node exporter (metrics)"),
    (IN, 104, "Infra nodes", EG, "TCP(:10249)", "N/A", CL, "Kubernetes proxy metrics"),
    (IN, 104, "Infra nodes", EG, "TCP(:10250)", "N/A", CL, "Kubelet metrics"),
    (GE, 105, CL, IN_, "TCP(:22)", "Bootstrap nodes", "N/A", "SSH"),
    (GE, 105, CL, IN_, "TCP(:9100)", "Infra nodes", "N/A", "Node exporter (metrics)"),
    (GE, 105, CL, IN_, "TCP(:10249)", "Infra nodes", "N/A", "Kubernetes proxy metrics"),
    (GE, 105, CL, IN_, "TCP(:10250)", CL, "N/A", "Kubelet API"),
    (GE, 105, CL, EG, "TCP(:10250)", "N/A", ANYR, "Kubelet API"),
    (GE, 105, CL, IN_, "TCP(:10256)", CL, "N/A", "Kubernetes proxy healthcheck"),
    (GE, 105, CL, EG, "TCP(:10256)", "N/A", CL, "Kubernetes proxy healthcheck"),
    (GE, 105, CL, EG, "TCP(:2379)", "N/A", CL, "etcd client"),
    (GE, 105, CL, EG, "TCP(:6443)", "N/A", CL, "Kubernetes API server"),
    (GE, 105, CL, EG, "TCP(:4505)", "N/A", "Bootstrap nodes", "Salt publisher"),
    (GE, 105, CL, EG, "TCP(:4506)", "N/A", "Bootstrap nodes", "Salt request server"),
    (GE, 105, CL, EG, "TCP(:8080)", "N/A", "Registry nodes", "Registry (containers and OS packages)"),
    (GE, 105, CL, EG, "TCP(:8443)", "N/A", "Master nodes", "Control plane Ingress controller"),
    (GE, 105, CL, EG, "TCP(*)", "N/A", ANYR, "All Egress TCP"),
    (GE, 105, CL, EG, "UDP(*)", "N/A", ANYR, "All Egress UDP"),
]


def test_artesca_is_detected_by_content() -> None:
    assert detect(ARTESCA.read_text(encoding="utf-8")) == "artesca"
    assert detect(STACKATO.read_text(encoding="utf-8")) == "stackato"


def test_artesca_rule_lines_are_the_evaluated_rules() -> None:
    policy = read(ARTESCA)
    assert len(RULE_LINES) == 41
    assert [_row(r) for r in policy.rules] == RULE_LINES
    assert {r.origin for r in policy.rules} == {"rule-line"}
    assert {r.network for r in policy.rules} == {"workload plane", "control plane"}


def test_artesca_table_rows_are_kept_as_the_summary() -> None:
    policy = read(ARTESCA)
    assert len(TABLE_ROWS) == 43
    assert [_row(r) for r in policy.summary_rules] == TABLE_ROWS
    # Each table row carries the line of its first cell, inside the table of its policy.
    lines = ARTESCA.read_text(encoding="utf-8").split("\n")
    assert all(lines[(r.line or 0) - 1].strip() in ("workload plane", "control plane") for r in policy.summary_rules)


def test_artesca_rule_lines_point_at_their_line() -> None:
    lines = ARTESCA.read_text(encoding="utf-8").split("\n")
    for rule in read(ARTESCA).rules:
        assert rule.line is not None
        assert rule.service is not None and f"(used for {rule.service})" in lines[rule.line - 1]


# Port Range, Type, Config on, Inbound, Required by: each row an ingress rule on "Config on" from "Inbound".
STACKATO_ROWS = [
    ("Dea nodes", "TCP(*)", "Controller nodes", "stackato ssh"),
    ("Controller nodes", "TCP(:4222)", CL, "NATS"),
    ("Controller nodes", "TCP(:5454)", CL, "redis"),
    (CL, "TCP(:7000-7999)", CL, "kato log tail"),
    ("Controller nodes", "TCP(:8046)", CL, "doozerd"),
    (CL, "TCP(:9001)", "Controller nodes", "supervisord"),
    ("Controller nodes", "TCP(:9022)", "Dea nodes", "droplets"),
    ("Dea nodes", "TCP(:9022)", "Controller nodes", "droplets"),
]


def test_stackato_port_table() -> None:
    policy = read(STACKATO)
    got = [(r.applies.label(), r.protocol_port(), r.source.label(), r.service) for r in policy.rules]
    assert got == STACKATO_ROWS
    assert {r.direction for r in policy.rules} == {INGRESS}
    assert policy.rules[3].ports == ((7000, 7999),)
    assert policy.rules[0].ports == ()  # "0 - 65535 (all)"


def test_stackato_pipe_table_reads_the_same(tmp_path: Path) -> None:
    doc = tmp_path / "ports.md"
    doc.write_text(
        "| Port Range | Type | Config on | Inbound | Required by |\n|---|---|---|---|---|\n"
        "| 7000 - 7999 | tcp | all nodes | all nodes | kato log tail |\n"
        "| 4222 | tcp | controller | all nodes | NATS |\n"
    )
    got = [(r.applies.label(), r.protocol_port(), r.source.label(), r.service, r.line) for r in read(doc).rules]
    assert got == [(CL, "TCP(:7000-7999)", CL, "kato log tail", 3), ("Controller nodes", "TCP(:4222)", CL, "NATS", 4)]


def test_the_artesca_page_as_the_policy_of_the_fixture_cluster() -> None:
    """The page's own rules let the joining member's etcd peer SYN in ("TCP to port(s) 2380 from control plane
    endpoints"), so with the page as the policy the drop points elsewhere; and order decides which rule
    allows a flow: the infra policy (order 104) allows the bootstrap node's kubelet call before the general
    policy (order 105) would."""
    from analyzer.api import analyze, check_ports, read_port_policy, read_roles
    from tests.support.paths import CAPTURES, FIXTURES

    got = check_ports(
        [analyze(CAPTURES / "artesca-bootstrap.pcap")], read_port_policy(ARTESCA),
        read_roles(FIXTURES / "portpolicy" / "artesca-bootstrap-roles.yaml"), failsafe="none",
    )  # fmt: skip
    rows = {(r["src"], r["dst"], r["port"]): r for r in got.flows.rows}
    assert {r["policy"] for r in rows.values()} == {"allowed"}
    dropped = rows[("10.0.0.7", "10.0.0.5", 2380)]
    assert (dropped["ingress_rule"], dropped["status"]) == ("control-plane-etcd/ingress/2", "points-elsewhere")
    assert rows[("10.0.0.5", "10.0.0.6", 10250)]["egress_rule"] == "control-plane-infra/egress/6"
    assert rows[("10.0.0.6", "10.0.0.5", 4505)]["egress_rule"] == "control-plane-general/egress/2"
    assert len(got.unused()) == 33 and len(got.rules) == 41
