"""```--roles FILE``: which roles each node has, by address or network.

    10.0.0.1: [bootstrap, master, etcd]
    10.0.0.0/24: [node]              # every address inside

Host names are refused with their line for now: node-to-node flows rarely carry a resolved name in a
capture (peers are configured by address), so a name could silently match nothing.

An address with a role is *in cluster*; every other address is outside.  An address inside several
entries has the union of their roles.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field

from analyzer.portpolicy.model import Network, PolicyError
from analyzer.portpolicy.readers import load_text
from analyzer.yamlnodes import yline, yscalar, yseq

_ROLE_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,62}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")


@dataclass(slots=True)
class Roles:
    addresses: dict[str, frozenset[str]] = field(default_factory=dict)
    networks: list[tuple[Network, frozenset[str]]] = field(default_factory=list)
    file: str = ""

    def of(self, address: str | None) -> frozenset[str]:
        if address is None:
            return frozenset()
        out = set(self.addresses.get(_canonical(address), frozenset()))
        if self.networks:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:  # not an address (a flow row of another source): outside
                return frozenset(out)
            for net, roles in self.networks:
                if ip.version == net.version and ip in net:
                    out |= roles
        return frozenset(out)

    def all_roles(self) -> frozenset[str]:
        out: set[str] = set()
        for roles in (*self.addresses.values(), *(r for _, r in self.networks)):
            out |= roles
        return frozenset(out)


def _canonical(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def read_roles(path: str | os.PathLike[str]) -> Roles:
    file = str(path)
    return parse_roles(load_text(file), file)


def parse_roles(text: str, file: str) -> Roles:
    import yaml

    from analyzer.portpolicy.calico import compose_all

    documents = compose_all(text, file)
    if len(documents) != 1:
        raise PolicyError(file, None, "expected one YAML document: address, network or host name -> roles")
    node = documents[0]
    if not isinstance(node, yaml.MappingNode) or not node.value:
        raise PolicyError(file, None, "expected a mapping of address, network or host name to roles")
    roles = Roles(file=file)
    for key_node, value_node in node.value:
        key = yscalar(key_node) or ""
        line = yline(key_node)
        items = yseq(value_node) if isinstance(value_node, yaml.SequenceNode) else [value_node]
        names = [(yscalar(i) or "").strip() for i in items]
        names = [piece.strip() for part in names for piece in part.split(",") if piece.strip()]
        if not names:
            raise PolicyError(file, line, f"{key[:60]!r} has no roles")
        for n in names:
            if not _ROLE_RE.match(n):
                raise PolicyError(file, line, f"not a role name: {n[:40]!r}")
        got = frozenset(n.lower() for n in names)
        try:
            if "/" in key:
                net = ipaddress.ip_network(key, strict=False)
                roles.networks.append((net, got))
            else:
                addr = str(ipaddress.ip_address(key))
                roles.addresses[addr] = roles.addresses.get(addr, frozenset()) | got
            continue
        except ValueError:
            pass
        if _HOST_RE.match(key):
            raise PolicyError(file, line, f"host name {key[:60]!r}: give the node's address or network instead")
        raise PolicyError(file, line, f"not an address or network: {key[:60]!r}")
    return roles
