"""The protocols the summary names, and the transport each travels on.

A module of its own, free of the packet code, so that the allowlist review and the renderers
can ask what a network rule has to open without loading the engine.
"""

from __future__ import annotations

# The transport each summary protocol travels on: what a network rule has to open.
TRANSPORT = {
    "TLS": "TCP",
    "HTTP": "TCP",
    "HTTP-CONNECT": "TCP",
    "SOCKS": "TCP",
    "TCP": "TCP",
    "QUIC": "UDP",
    "UDP": "UDP",
}


def transport_of(protocol: str) -> str:
    return TRANSPORT.get(protocol, protocol)


# A summary row of this protocol is a name, not a connection: a lookup a DNS firewall blocked (only logs
# make such rows; a capture's lookups stay in the dns table).  The name is what to allow; no port is known.
NAME_ONLY = "DNS"


def name_only(protocol: str) -> bool:
    return protocol == NAME_ONLY


def rule_label(protocol: str, port: int) -> str:
    """What a rule for a summary row opens: ``TCP/443``; for a name-only row, ``DNS`` (no port)."""
    return NAME_ONLY if name_only(protocol) else f"{transport_of(protocol)}/{port}"
