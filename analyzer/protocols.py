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
