"""What the port check returns: the two typed tables and the facts a renderer states above them."""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.frames import Table


@dataclass(frozen=True, slots=True)
class PortPolicyReport:
    policy_files: tuple[str, ...]
    kinds: tuple[str, ...]  # artesca, stackato, calico, kubernetes, csv
    roles_file: str
    captures: tuple[str, ...]
    failsafe: str  # calico-defaults, from-policy, none
    flows: Table  # port_flows
    rules: Table  # port_rules
    tables: dict[str, Table] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", {"port_flows": self.flows, "port_rules": self.rules})

    def denied(self) -> list[dict[str, object]]:
        return [r for r in self.flows.rows if r["policy"] == "denied"]

    def unused(self) -> list[dict[str, object]]:
        return [r for r in self.rules.rows if not r["used"]]
