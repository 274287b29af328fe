"""One model for every port-policy document: ordered rules with direction, protocol, port ranges, role
selectors on both ends and an action.

A rule belongs to a *policy* that applies to the host endpoints whose roles match ``applies``; an ingress
rule's ``source`` selects the peer and its ``destination`` further narrows the local end, an egress rule the
other way round.  Selectors speak of roles (what a roles file gives each address) or of networks.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from analyzer.errors import InputError

INGRESS = "ingress"
EGRESS = "egress"
ALLOW = "Allow"
DENY = "Deny"
PASS = "Pass"
LOG = "Log"
ACTIONS = (ALLOW, DENY, PASS, LOG)

# Named IP protocols the documents use instead of TCP/UDP (ARTESCA's "VRRP()", "112 (... VRRP)").
PROTOCOL_NUMBERS = {"ICMP": 1, "TCP": 6, "UDP": 17, "VRRP": 112, "SCTP": 132}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class PolicyError(InputError):
    """A port-policy or roles file that cannot be read: one line naming the file (and line) and the reason."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class Selector:
    """Which addresses an end of a rule accepts.

    ``any``: every address, in the cluster or not.  ``cluster``: every address with a role (Calico's
    ``all()`` over endpoints, ARTESCA's "In cluster").  ``roles``: an address holding every role in
    ``roles`` (``&&`` of labels) or, with ``any_of``, at least one.  ``nets``: an address inside one of
    the networks (Calico ``nets``, Kubernetes ``ipBlock``); may be combined with roles.
    """

    kind: str = "any"  # any, cluster, roles, nets
    roles: frozenset[str] = frozenset()
    any_of: bool = False
    nets: tuple[Network, ...] = ()

    def matches(self, address: str | None, roles: frozenset[str]) -> bool:
        if self.nets:
            if address is None:
                return False
            ip = ipaddress.ip_address(address)
            if not any(ip.version == n.version and ip in n for n in self.nets):
                return False
        if self.kind == "cluster":
            return bool(roles)
        if self.kind == "roles":
            return bool(self.roles & roles) if self.any_of else self.roles <= roles
        return True

    def label(self) -> str:
        """How the ARTESCA tables say it: (any), In cluster, Etcd nodes, 10.0.0.0/24."""
        parts = []
        if self.kind == "any" and not self.nets:
            return "(any)"
        if self.kind == "cluster":
            parts.append("In cluster")
        elif self.kind == "roles":
            names = sorted(self.roles)
            joined = (" or " if self.any_of else " and ").join(
                n.capitalize() if i == 0 else n for i, n in enumerate(names)
            )
            parts.append(f"{joined} nodes")
        if self.nets:
            parts.append(", ".join(str(n) for n in self.nets))
        return " in ".join(parts) if len(parts) == 2 else parts[0]


ANY = Selector()
CLUSTER = Selector("cluster")


def roles_selector(*roles: str, any_of: bool = False) -> Selector:
    return Selector("roles", frozenset(roles), any_of)


@dataclass(frozen=True, slots=True)
class Rule:
    """One allow/deny line of a policy, in evaluation order within its policy."""

    policy: str
    order: float | None  # the policy's order (Calico: lowest first; None: after every ordered policy)
    applies: Selector  # the endpoints the policy is attached to
    direction: str  # ingress, egress
    protocol: str | None  # TCP, UDP, VRRP, "112"...; None: any protocol
    ports: tuple[tuple[int, int], ...]  # inclusive ranges of the destination port; () any port
    source: Selector
    destination: Selector
    action: str = ALLOW
    service: str | None = None  # what the document says the rule is for
    network: str | None = None  # control plane, workload plane (ARTESCA)
    file: str = ""
    line: int | None = None
    origin: str = ""  # which part of the document: table, rule-line, port-table, yaml, csv

    def ports_label(self) -> str:
        if not self.ports:
            return "*"
        return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ports)

    def protocol_port(self) -> str:
        """ARTESCA's Protocol(Port) column: TCP(:2380), TCP(*), VRRP()."""
        proto = self.protocol or "any"
        if self.protocol is not None and self.protocol.upper() not in ("TCP", "UDP", "SCTP"):
            return f"{proto}()"
        return f"{proto}({'*' if not self.ports else ':' + self.ports_label()})"

    def matches_protocol(self, protocol: str) -> bool:
        return self.protocol is None or _proto_number(self.protocol) == _proto_number(protocol)

    def matches_port(self, port: int | None) -> bool:
        if not self.ports:
            return True
        return port is not None and any(lo <= port <= hi for lo, hi in self.ports)

    def describe(self) -> str:
        """One line naming the rule: policy, direction, protocol and ports, peer, and where it was read."""
        peer = f"from {self.source.label()}" if self.direction == INGRESS else f"to {self.destination.label()}"
        where = f" ({self.file}:{self.line})" if self.line else ""
        return f"{self.policy}: {self.action} {self.direction} {self.protocol_port()} {peer}{where}"


def _proto_number(protocol: str) -> int | str:
    p = protocol.upper()
    if p in PROTOCOL_NUMBERS:
        return PROTOCOL_NUMBERS[p]
    return int(p) if p.isdigit() else p


@dataclass(frozen=True, slots=True)
class Failsafe:
    """Calico's failsafe ports: allowed to and from host endpoints whatever the policy says."""

    inbound: tuple[tuple[str, int], ...]  # (protocol, port)
    outbound: tuple[tuple[str, int], ...]


# Felix's defaults (docs.tigera.io/calico/latest/reference/felix/configuration, FailsafeInboundHostPorts
# and FailsafeOutboundHostPorts): SSH, DHCP, BGP, etcd, Typha and the API server stay reachable.
CALICO_FAILSAFE = Failsafe(
    inbound=(("TCP", 22), ("UDP", 68), ("TCP", 179), ("TCP", 2379), ("TCP", 2380), ("TCP", 5473), ("TCP", 6443),
             ("TCP", 6666), ("TCP", 6667)),
    outbound=(("UDP", 53), ("UDP", 67), ("TCP", 179), ("TCP", 2379), ("TCP", 2380), ("TCP", 5473), ("TCP", 6443),
              ("TCP", 6666), ("TCP", 6667)),
)  # fmt: skip
NO_FAILSAFE = Failsafe((), ())


@dataclass(slots=True)
class PortPolicy:
    """Every rule read from one or more documents, plus what the documents said about failsafe ports."""

    rules: list[Rule] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    # Rules read but not evaluated: ARTESCA's summary tables when the same policy is also spelt out
    # rule by rule (the rule lines are the precise ones; the document says so).
    summary_rules: list[Rule] = field(default_factory=list)
    failsafe: Failsafe | None = None  # from a FelixConfiguration in the file; None: not said

    def extend(self, other: PortPolicy) -> None:
        self.rules += other.rules
        self.files += other.files
        self.kinds += other.kinds
        self.summary_rules += other.summary_rules
        if other.failsafe is not None:
            self.failsafe = other.failsafe


def parse_ports(text: str, file: str, line: int | None) -> tuple[tuple[int, int], ...]:
    """``80, 443``, ``7000 - 7999``, ``7000:7999``; every port 0-65535, ranges low to high."""
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        lo_s, sep, hi_s = part.replace(":", "-").partition("-")
        lo_s, hi_s = lo_s.strip(), hi_s.strip()
        if not lo_s.isdigit() or (sep and not hi_s.isdigit()):
            raise PolicyError(file, line, f"not a port or port range: {part!r}")
        lo, hi = int(lo_s), int(hi_s) if sep else int(lo_s)
        if hi > 65535 or lo > hi:
            raise PolicyError(file, line, f"port range out of order or above 65535: {part!r}")
        out.append((lo, hi))
    return tuple(out)
