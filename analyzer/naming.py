"""Which name a connection gets, which protocol it is, and where the name came from."""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from analyzer.flows import PROTO_TCP, AnyFlow


class Target(NamedTuple):
    """A name a connection reached.  A named tuple rather than a frozen dataclass: as immutable, and
    a third of the cost to make (a frozen dataclass sets each field through object.__setattr__),
    for one or more per connection."""

    protocol: str
    port: int
    fqdn: str | None
    source: str  # sni, host, connect, dns, none
    via: str | None
    requests: int  # connections count 1; HTTP counts requests
    # The destination's address when a proxy was asked for it by address (a SOCKS4 or SOCKS5
    # IPv4/IPv6 request, a CONNECT to an IP literal): the proxy's own address is in ``via``.
    address: str | None = None


def is_ip_literal(name: str) -> bool:
    if not (name[-1:].isdigit() or ":" in name or name.endswith("]")):
        return False  # a name ending in a letter is never an address: skip the costly parse
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _address(host: str) -> str | None:
    """An address literal in its canonical text (IPv6 compressed, brackets off), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def clean(name: str | None) -> str | None:
    """Lower-case, no trailing dot; None for empty names and IP literals (those are addresses)."""
    if not name:
        return None
    name = name.rstrip(".").lower()
    if not name or is_ip_literal(name):
        return None
    return name


def protocol_of(flow: AnyFlow) -> str:
    if flow.proto == PROTO_TCP:
        if flow.connect_target is not None:
            return "SOCKS" if flow.tunnel_kind and flow.tunnel_kind.startswith("socks") else "HTTP-CONNECT"
        if flow.tls_hello:
            return "TLS"
        if flow.http_targets:
            return "HTTP"
        if flow.service:
            return "DNS"
        return "TCP"
    if flow.service:
        return "DNS"
    return "QUIC" if flow.quic else "UDP"


# The target of a flow with no name at all, per protocol and port: every DNS conversation has one,
# and a capture holds thousands of those.  Few distinct (bounded all the same: a port scan).
_UNNAMED: dict[tuple[str, int], tuple[Target, ...]] = {}
MAX_UNNAMED = 4096


def targets(flow: AnyFlow) -> tuple[Target, ...]:
    """One target per distinct name a flow reached: one for most flows, several for HTTP keep-alive."""
    proto = protocol_of(flow)
    if proto not in ("HTTP", "HTTP-CONNECT", "SOCKS"):
        # Named by the SNI, else by the DNS answer for the server's address, else unnamed.
        name = clean(flow.sni)
        if name is not None:
            return (Target(proto, flow.sport, name, "sni", None, 1),)
        name = clean(flow.dns_name)
        if name is not None:
            return (Target(proto, flow.sport, name, "dns", None, 1),)
        key = (proto, flow.sport)
        unnamed = _UNNAMED.get(key)
        if unnamed is None:
            if len(_UNNAMED) >= MAX_UNNAMED:
                _UNNAMED.clear()
            unnamed = _UNNAMED[key] = (Target(proto, flow.sport, None, "none", None, 1),)
        return unnamed
    proxy = f"{flow.server}:{flow.sport}" if ":" not in flow.server else f"[{flow.server}]:{flow.sport}"
    if proto != "HTTP":
        assert flow.connect_target is not None
        host, port = flow.connect_target
        name = clean(host)
        sni = clean(flow.tunnel_sni)
        address = _address(host) if name is None else None
        # The proxy (and so the rule) sees the CONNECT target; a tunnelled SNI naming the same
        # host confirms it and takes precedence as the source, a different SNI does not rename it.
        # A target given by address (SOCKS4 always) has no name of its own: the tunnelled SNI names it.
        if name is None and sni is not None:
            return (Target(proto, port, sni, "sni", proxy, 1, address),)
        source = "sni" if name and sni == name else "connect" if name else "none"
        return (Target(proto, port, name, source, proxy, 1, address),)
    fallback = clean(flow.dns_name)
    out = []
    for (host, port, source, via_proxy), n in flow.http_targets.items():
        name = clean(host)
        if name is not None:
            out.append(Target(proto, port, name, source, proxy if via_proxy else None, n))
        elif via_proxy:
            out.append(Target(proto, port, None, "none", proxy, n))
        else:
            out.append(Target(proto, port, fallback, "dns" if fallback else "none", None, n))
    return tuple(out)
