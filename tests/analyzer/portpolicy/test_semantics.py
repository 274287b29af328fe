"""Calico's evaluation semantics, each from Calico's documentation (the page is cited per test), and the
Kubernetes NetworkPolicy and CSV readers, on flows built by hand."""

from __future__ import annotations

from analyzer.portpolicy.check import evaluate, nearest, ordered
from analyzer.portpolicy.model import CALICO_FAILSAFE, EGRESS, INGRESS, NO_FAILSAFE, Failsafe, PortPolicy
from analyzer.portpolicy.readers import parse

ETCD = frozenset({"etcd"})
MASTER = frozenset({"master"})
A, B, OUT = ("10.0.0.1", ETCD), ("10.0.0.2", ETCD), ("192.0.2.9", frozenset[str]())


def _calico(body: str) -> PortPolicy:
    return parse(body, "policy.yaml")


def _ingress(policy: PortPolicy, src: tuple[str, frozenset[str]], dst: tuple[str, frozenset[str]], port: int,
             failsafe: Failsafe = NO_FAILSAFE, protocol: str = "TCP") -> tuple[bool, str | None, str]:  # fmt: skip
    d = evaluate(ordered(policy), {INGRESS, EGRESS}, failsafe, INGRESS, src, dst, protocol, port)
    return d.allowed, d.rule.policy if d.rule else None, d.how


GNP = """apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {{name: {name}}}
spec:
  selector: has(node-role.kubernetes.io/etcd)
  {order}
  ingress:
    - action: {action}
      protocol: TCP
      destination: {{ports: [2380]}}
"""


def test_lowest_order_first_and_no_order_last() -> None:
    """docs.tigera.io/calico/latest/reference/resources/globalnetworkpolicy, field ``order``: "Controls the
    order of precedence. Calico applies the policy with the lowest value first"; policies without an order
    are applied last; the first Allow or Deny ends the evaluation
    (docs.tigera.io/calico/latest/reference/resources/tier, "How Policy Is Evaluated")."""
    deny_first = _calico(
        GNP.format(name="b-allow", order="order: 200", action="Allow") + "---\n"
        + GNP.format(name="a-deny", order="order: 100", action="Deny")
    )  # fmt: skip
    assert _ingress(deny_first, A, B, 2380) == (False, "a-deny", "rule")
    unordered_deny = _calico(
        GNP.format(name="a-deny", order="", action="Deny") + "---\n"
        + GNP.format(name="b-allow", order="order: 1000", action="Allow")
    )  # fmt: skip
    assert _ingress(unordered_deny, A, B, 2380) == (True, "b-allow", "rule")
    same_order = _calico(
        GNP.format(name="zz-allow", order="order: 5", action="Allow") + "---\n"
        + GNP.format(name="aa-deny", order="order: 5", action="Deny")
    )  # fmt: skip
    assert _ingress(same_order, A, B, 2380) == (False, "aa-deny", "rule")  # ties: by name


def test_default_deny_once_a_host_endpoint_exists() -> None:
    """docs.tigera.io/calico/latest/reference/resources/hostendpoint: "If a host endpoint is created and
    network policy is not in place, the Calico default is to deny traffic to/from that endpoint (except for
    traffic allowed by failsafe rules)"."""
    policy = _calico(GNP.format(name="etcd", order="order: 1", action="Allow"))
    assert _ingress(policy, A, B, 2379) == (False, None, "default-deny")  # a port no rule allows
    assert _ingress(policy, A, ("10.0.0.3", MASTER), 2380) == (False, None, "default-deny")  # no policy applies


def test_failsafe_ports_are_allowed_before_policy() -> None:
    """docs.tigera.io/calico/latest/reference/host-endpoints/failsafe: the failsafe ports are allowed to host
    endpoints whatever the policy says; the defaults include TCP 22, 2379, 2380 and 6443 inbound.  A
    FelixConfiguration's failsafeInboundHostPorts replaces them."""
    deny_all = _calico(GNP.format(name="deny", order="order: 1", action="Deny"))
    assert _ingress(deny_all, A, B, 2380, CALICO_FAILSAFE) == (True, None, "failsafe")
    assert _ingress(deny_all, A, B, 2380, NO_FAILSAFE) == (False, "deny", "rule")
    felix = _calico(
        "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\n"
        "spec:\n  failsafeInboundHostPorts: [{protocol: TCP, port: 22}]\n"
    )
    assert felix.failsafe == Failsafe(inbound=(("TCP", 22),), outbound=())


def test_selectors_nets_and_port_ranges() -> None:
    policy = _calico(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec:\n"
        "  selector: metalk8s.scality.com/role-etcd == 'true' || role == 'master'\n  ingress:\n"
        "    - action: Allow\n      protocol: TCP\n      source: {selector: all(), nets: [10.0.0.0/30]}\n"
        "      destination: {ports: ['7000:7999']}\n"
    )
    (rule,) = policy.rules
    assert rule.applies.roles == {"etcd", "master"} and rule.applies.any_of
    assert rule.ports == ((7000, 7999),)
    assert _ingress(policy, A, ("10.0.0.9", MASTER), 7500) == (True, "p", "rule")
    assert _ingress(policy, ("10.0.0.7", ETCD), B, 7500)[0] is False  # outside the nets
    assert _ingress(policy, ("10.0.0.2", frozenset()), B, 7500)[0] is False  # in the nets, but no role: not all()


def test_nearest_rule_right_port_wrong_role_or_right_role_wrong_port() -> None:
    policy = _calico(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec:\n"
        "  selector: has(etcd)\n  ingress:\n"
        "    - {action: Allow, protocol: TCP, source: {selector: has(infra)}, destination: {ports: [2381]}}\n"
        "    - {action: Allow, protocol: TCP, source: {selector: has(etcd)}, destination: {ports: [2379]}}\n"
    )
    rules = ordered(policy)
    got = nearest(rules, INGRESS, A, B, "TCP", 2381)
    assert got is not None and got[0].ports == ((2381, 2381),) and got[1] == "wrong-source"
    got = nearest(rules, INGRESS, A, B, "TCP", 2390)
    assert got is not None and got[0].ports == ((2379, 2379),) and got[1] == "wrong-port"
    assert nearest(rules, INGRESS, OUT, ("10.0.0.3", MASTER), "TCP", 9999) is None


def test_kubernetes_network_policy() -> None:
    policy = parse(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: etcd-peers}\nspec:\n"
        "  podSelector: {matchLabels: {role: etcd}}\n  policyTypes: [Ingress]\n  ingress:\n"
        "    - from: [{podSelector: {matchLabels: {role: etcd}}}, {ipBlock: {cidr: 192.0.2.0/24}}]\n"
        "      ports: [{protocol: TCP, port: 2380, endPort: 2381}]\n",
        "np.yaml",
    )
    assert policy.kinds == ["kubernetes"]
    assert [(r.applies.roles, r.source.kind, r.ports) for r in policy.rules] == [
        (frozenset({"etcd"}), "roles", ((2380, 2381),)),
        (frozenset({"etcd"}), "any", ((2380, 2381),)),
    ]
    assert _ingress(policy, OUT, B, 2381) == (True, "etcd-peers", "rule")


def test_csv_rules() -> None:
    policy = parse(
        "policy,order,role,direction,protocol,ports,source,destination,action,service\n"
        "etcd,102,etcd,ingress,TCP,2380,Etcd nodes,,Allow,etcd peer\n"
        "general,105,,egress,UDP,*,,(any),Allow,all UDP\n",
        "rules.csv",
    )
    assert [(r.policy, r.order, r.applies.label(), r.direction, r.protocol_port(), r.line) for r in policy.rules] == [
        ("etcd", 102.0, "Etcd nodes", INGRESS, "TCP(:2380)", 2),
        ("general", 105.0, "In cluster", EGRESS, "UDP(*)", 3),
    ]
