"""What happened to a connection, in the words an operator uses with the network team.

``ok`` handshake completed (for TLS: the server answered with TLS); ``no-reply`` SYNs (or
UDP datagrams) never answered; ``reset`` RST before any data from the server;
``unreachable`` an ICMP destination-unreachable quoted this flow; ``tls-interrupted`` a
ClientHello went out and no TLS came back before a reset, a close or the end of the
capture (what SNI-filtering firewalls do); ``proxy-denied`` a proxy refused a CONNECT;
``mid-stream`` the connection was already open when the capture started (no client SYN seen; for
UDP, the server's datagram came first): a stateful firewall decides at the first packet, so what
follows proves neither allowed nor denied, and the action is ``Unknown``.
"""

from __future__ import annotations

from analyzer.flows import PROTO_TCP, AnyFlow

OK = "ok"
NO_REPLY = "no-reply"
RESET = "reset"
UNREACHABLE = "unreachable"
TLS_INTERRUPTED = "tls-interrupted"
PROXY_DENIED = "proxy-denied"
MID_STREAM = "mid-stream"
VERDICTS = (OK, NO_REPLY, RESET, UNREACHABLE, TLS_INTERRUPTED, PROXY_DENIED, MID_STREAM)
# What the summary's Action column says per verdict; anything not listed is a Deny.
ACTIONS = {OK: "Allow", MID_STREAM: "Unknown"}

_ICMP4_CODES = {
    0: "net unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    4: "fragmentation needed",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    13: "communication administratively prohibited",
}
_ICMP6_CODES = {
    0: "no route",
    1: "communication administratively prohibited",
    2: "beyond scope of source",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed policy",
    6: "reject route to destination",
}


def icmp_text(version: int, code: int) -> str:
    table = _ICMP4_CODES if version == 4 else _ICMP6_CODES
    return table.get(code, f"code {code}")


def verdict(flow: AnyFlow) -> tuple[str, str]:
    """Return ``(verdict, detail)`` for a finished flow."""
    icmp = flow.icmp
    if flow.proto != PROTO_TCP:
        if flow.server_first:
            return MID_STREAM, "the server's datagram came first: the exchange started before the capture"
        if flow.s_packets:
            return OK, "answered"
        if icmp is not None:
            return UNREACHABLE, f"ICMP{'' if icmp[0] == 4 else 'v6'} {icmp_text(icmp[0], icmp[2])} from {icmp[3]}"
        return NO_REPLY, f"{flow.c_packets} datagram(s), no answer"
    if flow.tunnel_granted is False:
        if flow.tunnel_kind == "http-connect":
            return PROXY_DENIED, f"proxy answered CONNECT with HTTP {flow.connect_status}"
        return PROXY_DENIED, f"{flow.tunnel_kind} proxy refused the request (code {flow.connect_status})"
    server_spoke = flow.synack or flow.s_packets > 0
    if not flow.syn_count:
        # No client SYN in the capture: the connection was open before it started (or its SYN was
        # not captured).  Whatever follows, an answer, silence or a reset, says nothing about
        # whether a new connection would pass: a stateful firewall decided at the SYN.  Only an
        # ICMP error about it, with the server silent, is a finding of its own.
        if icmp is not None and not server_spoke:
            return UNREACHABLE, f"ICMP{'' if icmp[0] == 4 else 'v6'} {icmp_text(icmp[0], icmp[2])} from {icmp[3]}"
        if server_spoke:
            return MID_STREAM, "no SYN seen: open before the capture started; the server answered"
        return MID_STREAM, "no SYN seen: open before the capture started; nothing from the server"
    if not flow.synack and flow.s_payload == 0:
        if icmp is not None:
            return UNREACHABLE, f"ICMP{'' if icmp[0] == 4 else 'v6'} {icmp_text(icmp[0], icmp[2])} from {icmp[3]}"
        if flow.rst_from == "server":
            return RESET, "RST in answer to SYN (connection refused)"
        if not server_spoke:
            if flow.syn_count:
                return NO_REPLY, f"{flow.syn_count} SYN(s), no answer"
            return NO_REPLY, "no packet from the server"
    if flow.tls_hello:
        if flow.server_answered_tls():
            return OK, "TLS answered"
        if flow.s_payload:
            return TLS_INTERRUPTED, "server answered the ClientHello with non-TLS data"
        if flow.rst_from is not None:
            return TLS_INTERRUPTED, f"RST from {flow.rst_from} after the ClientHello, no TLS answer"
        if flow.c_fin or flow.s_fin:
            return TLS_INTERRUPTED, "closed after the ClientHello, no TLS answer"
        return TLS_INTERRUPTED, "no TLS answer to the ClientHello before the capture ended"
    if flow.rst_from is not None and flow.s_payload == 0:
        return RESET, f"RST from {flow.rst_from} before any data from the server"
    return OK, "handshake completed" if flow.synack else "both directions seen"


def action(v: str) -> str:
    return ACTIONS.get(v, "Deny")
