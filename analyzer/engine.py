"""The packet loop: frames -> IP -> flows, DNS log and parse errors.

Memory is bounded: finished flows are handed to ``on_flow_done`` (which turns them into rows and
writes them out, see analyzer.pipeline) and dropped, flow buffers are capped and released once a
flow is settled, fragment and DNS state are capped, and at most ``MAX_OPEN_FLOWS`` flows are open
at once: past that, the longest idle are finished early (a SYN scan never closes its flows).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from mypy_extensions import mypyc_attr

from analyzer.dnslog import DnsLog
from analyzer.flows import DNS_PORTS, PROTO_TCP, PROTO_UDP, UDP_IDLE_SPLIT_NS, AnyFlow, DnsFlow, Flow
from analyzer.fragments import Reassembler
from parsers import dns as dnsp
from parsers.capture import Frame
from parsers.errors import ParseError
from parsers.ip import (
    PROTO_GRE,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_IPIP,
    PROTO_IPV6,
    IPPacket,
    decode_ipv4,
    decode_ipv6,
)
from parsers.link import ETH_IPV4, ETH_IPV6, SUPPORTED_LINKTYPES, decode_ethernet, decode_link, link_group
from parsers.transport import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, decode_icmp, decode_tcp, decode_udp
from parsers.tunnels import (
    TEREDO_FIRST_OCTETS,
    decode_geneve,
    decode_gre,
    decode_gtpu,
    decode_l2tp,
    decode_vxlan,
    teredo_offset,
)

MAX_PARSE_ERRORS = 10_000
MAX_TUNNEL_DEPTH = 4
# A finished TCP connection (RST, or FIN both ways) is evicted after this much capture time;
# any flow idle this long is evicted too, so a multi-hour capture never holds every flow.
CLOSED_LINGER_NS = 30 * 1_000_000_000
IDLE_EVICT_NS = 600 * 1_000_000_000
EVICT_EVERY = 1 << 14
# Open flows held at once.  An open flow costs about 2 KB (the Flow, its keys in the flow and
# fast-path maps, its counters); a SYN scan opens a flow per probe and never closes one, and short
# connections linger CLOSED_LINGER_NS after they close, so without a cap memory grows with the
# capture.  Past the cap the flows idle longest are finished, down to SHED_TO of it.
MAX_OPEN_FLOWS = 32_768
# DNS conversations (a DnsFlow, about 450 bytes with its keys) are capped apart: a stub resolver
# reusing a few ports keeps tens of thousands of them busy at once, and they must not push out
# connections.
MAX_OPEN_DNS_FLOWS = 131_072
SHED_TO = 0.75
VXLAN_PORTS = (4789, 8472)  # IANA, and the Linux kernel default that flannel uses
GENEVE_PORT = 6081
GRE_UDP_PORT = 4754  # RFC 8086 GRE-in-UDP
GTPU_PORT = 2152
L2TP_PORT = 1701
# What a decoder bug raises, as opposed to the ParseError of bad input. TypeError too: in the compiled
# build (mypyc) a value of the wrong type reaching a typed argument or attribute raises it at once.
_DECODER_BUGS = (ValueError, IndexError, KeyError, struct.error, TypeError)
# A UDP flow on a tunnel port may carry tunnelled packets the decoder must open: never counted blind.
_TUNNEL_PORTS = frozenset((*VXLAN_PORTS, GENEVE_PORT, GRE_UDP_PORT, GTPU_PORT, L2TP_PORT))
TEREDO_PORT = 3544
# Ports below WELL_KNOWN_PORTS are services' (IANA system ports); clients' ephemeral ports start at
# EPHEMERAL_PORTS (Linux 32768, Windows and BSD 49152).  Both must hold to take a first datagram for
# a reply: a client bound to a privileged port (an NFS client to 2049) still sends first.
WELL_KNOWN_PORTS = 1024
EPHEMERAL_PORTS = 32768

FlowKey = tuple[int, bytes, int, bytes, int]
# A flow's bound counting method for one direction (Flow.count_settled_client and its kin).
SettledCounter = Callable[[int, int, int], bool]
_PORTS = struct.Struct("!HH")


@dataclass(frozen=True, slots=True)
class ParseErrorRow:
    frame: int
    layer: str
    reason: str


@dataclass
class EngineStats:
    packets: int = 0
    bytes: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    non_ip: int = 0
    skipped_linktype: int = 0
    parse_errors: int = 0
    link_types: set[int] = field(default_factory=set)


# The tests subclass the engine to watch or break its steps; compiled (mypyc), that must be allowed.
@mypyc_attr(allow_interpreted_subclasses=True)
class Engine:
    def __init__(
        self,
        on_flow_done: Callable[[AnyFlow], None] | None = None,
        max_open: int = MAX_OPEN_FLOWS,
        max_open_dns: int = MAX_OPEN_DNS_FLOWS,
    ) -> None:
        self.flows: dict[FlowKey, tuple[Flow, bool]] = {}
        # UDP conversations on a DNS port (53, 5353, 5355): the light DnsFlow, in a map of their own.
        self.dns_flows: dict[FlowKey, tuple[DnsFlow, bool]] = {}
        # Finished flows are kept here only when nobody takes them (``on_flow_done`` None: tests
        # that look at Flow objects); the pipeline takes each as it finishes, and none is kept.
        self.done: list[AnyFlow] = []
        self.on_flow_done = on_flow_done
        self.finished = 0
        self.max_open = max_open
        self.max_open_dns = max_open_dns
        self.shed = 0  # open (not closed) flows finished early to keep under max_open
        self.dns = DnsLog()
        self.errors: list[ParseErrorRow] = []
        self.stats = EngineStats()
        self.fragments = Reassembler()
        self.warnings: list[str] = []
        self._addr: dict[bytes, str] = {}
        self._uid = 0
        self._frame = 0
        self._ts = 0
        self._wirelen = 0
        self._link_group = False  # the current frame went to a link-layer broadcast/multicast address
        self._unsupported: set[int] = set()
        self._closed: dict[int, tuple[Flow, bytes, bytes]] = {}  # uid -> closed TCP flow and its packed ends
        # No closed flow's last packet is older than this (last_ns only grows, and a finished flow
        # leaving _closed only raises the true oldest): while it is within the linger, evict need
        # not walk _closed at all.  A handshake capture holds ~9k closed flows at its later evictions.
        self._closed_oldest = 1 << 63
        self._last_idle_scan = 0
        # Raw src+dst+ports bytes -> the flow's counting method for that direction.
        self._settled_tcp: dict[bytes, SettledCounter] = {}
        self._settled_udp: dict[bytes, SettledCounter] = {}
        # The contract with analyzer.fastpath, all it may touch besides the public entry points
        # (frame, ipv4_packet, evict, add_counted): from the raw bytes of source address,
        # destination address and ports of an untunnelled packet, the counting method of a known
        # connection in that direction, or None.  Bound dict lookups, because they run for nearly
        # every packet of a large capture; the counting itself is the flow's own code.
        self.settled_tcp: Callable[[bytes], SettledCounter | None] = self._settled_tcp.get
        self.settled_udp: Callable[[bytes], SettledCounter | None] = self._settled_udp.get

    # ------------------------------------------------------------------ helpers

    def addr(self, packed: bytes) -> str:
        text = self._addr.get(packed)
        if text is None:
            text = socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)
            if len(self._addr) < 100_000:
                self._addr[packed] = text
        return text

    def _internal_error(self, exc: Exception) -> None:
        """A decoder bug must not end the run: count it where a test will see it."""
        self.error(ParseError(f"internal: {type(exc).__name__}: {exc}", "internal"))

    def error(self, exc: ParseError) -> None:
        self.stats.parse_errors += 1
        if len(self.errors) < MAX_PARSE_ERRORS:
            self.errors.append(ParseErrorRow(self._frame, exc.layer, exc.reason))

    # ------------------------------------------------------------------ frames

    def feed(self, frames: Iterable[Frame]) -> None:
        for frame in frames:
            self.frame(frame)

    def _account(self, index: int, ts: int, wirelen: int, linktype: int) -> None:
        """Per-packet bookkeeping shared by every entry point: counts, time span, current packet."""
        st = self.stats
        st.packets += 1
        st.bytes += wirelen
        if st.first_ns is None or ts < st.first_ns:
            st.first_ns = ts
        if st.last_ns is None or ts > st.last_ns:
            st.last_ns = ts
        self._frame = index
        self._ts = ts
        self._wirelen = wirelen
        st.link_types.add(linktype)

    def frame(self, frame: Frame) -> None:
        self._account(frame.index, frame.ts_ns, frame.wirelen, frame.linktype)
        if frame.linktype not in SUPPORTED_LINKTYPES:
            self.stats.skipped_linktype += 1
            if frame.linktype not in self._unsupported:
                self._unsupported.add(frame.linktype)
                self.warnings.append(
                    f"link type {frame.linktype} is not supported: its frames were counted but not decoded"
                )
            return
        self._link_group = link_group(frame.linktype, frame.data)
        try:
            ethertype, off = decode_link(frame.linktype, frame.data)
            self.network(ethertype, frame.data, off, 0)
        except ParseError as exc:
            self.error(exc)
        except _DECODER_BUGS as exc:
            self._internal_error(exc)
        if frame.index % EVICT_EVERY == 0:  # by record number: the fast path evicts on the same records
            self.evict(frame.ts_ns)

    def ipv4_packet(self, index: int, ts: int, wirelen: int, linktype: int, pkt: IPPacket, group: bool = False) -> None:
        """A frame whose link header and plain IPv4 header the caller has already read (the fast
        path's one struct read): the same as :meth:`frame` from the IP layer on.  ``group``: the
        frame went to a link-layer broadcast/multicast address (:func:`parsers.link.link_group`)."""
        self._account(index, ts, wirelen, linktype)
        self._link_group = group
        try:
            self.ip(pkt, 0)
        except ParseError as exc:
            self.error(exc)
        except _DECODER_BUGS as exc:
            self._internal_error(exc)
        if index % EVICT_EVERY == 0:
            self.evict(ts)

    def add_counted(self, packets: int, wirelen_total: int, first_ns: int, last_ns: int) -> None:
        """The capture totals of packets the fast path counted through the settled counters:
        ``first_ns``/``last_ns`` are the earliest and latest of their timestamps."""
        if not packets:
            return
        st = self.stats
        st.packets += packets
        st.bytes += wirelen_total
        if st.first_ns is None or first_ns < st.first_ns:
            st.first_ns = first_ns
        if st.last_ns is None or last_ns > st.last_ns:
            st.last_ns = last_ns

    def network(self, ethertype: int, data: bytes, off: int, depth: int) -> None:
        if ethertype == ETH_IPV4:
            self.ip(decode_ipv4(data, off), depth)
        elif ethertype == ETH_IPV6:
            self.ip(decode_ipv6(data, off), depth)
        elif depth == 0:
            self.stats.non_ip += 1

    def ip(self, pkt: IPPacket, depth: int) -> None:
        if pkt.is_fragment:
            whole = self.fragments.add(pkt, self._ts)
            if whole is None:
                return
            pkt = whole
        proto = pkt.proto
        if proto == PROTO_TCP:
            self.tcp(pkt, depth)
        elif proto == PROTO_UDP:
            self.udp(pkt, depth)
        elif proto in (PROTO_ICMP, PROTO_ICMPV6):
            self.icmp(pkt)
        elif depth < MAX_TUNNEL_DEPTH:
            if proto == PROTO_IPIP:
                self.ip(decode_ipv4(pkt.payload), depth + 1)
            elif proto == PROTO_IPV6:
                self.ip(decode_ipv6(pkt.payload), depth + 1)
            elif proto == PROTO_GRE:
                ethertype, off, inner = decode_gre(pkt.payload)
                self.network(ethertype, inner, off, depth + 1)

    # ------------------------------------------------------------------ flows

    def _create(
        self, proto: int, version: int, client: bytes, cport: int, server: bytes, sport: int, depth: int = 0
    ) -> Flow:
        self._uid += 1
        client_text, server_text = self.addr(client), self.addr(server)
        flow = Flow(self._uid, proto, version, client_text, cport, server_text, sport, self._ts)
        flow.dns_name = self.dns.name_for(server_text)
        if depth == 0 and flow.service is None and not (proto == PROTO_UDP and _TUNNEL_PORTS & {cport, sport}):
            # The fast path finds outer (untunnelled) packets by the raw bytes of src, dst and ports;
            # DNS flows are always parsed, so they never need a key.
            c2s = client + server + _PORTS.pack(cport, sport)
            s2c = server + client + _PORTS.pack(sport, cport)
            if proto == PROTO_TCP:
                self._settled_tcp[c2s] = flow.count_settled_client
                self._settled_tcp[s2c] = flow.count_settled_server
            else:
                self._settled_udp[c2s] = flow.count_settled_client_udp
                self._settled_udp[s2c] = flow.count_settled_server_udp
            flow.fast_keys = (c2s, s2c)
        self.flows[(proto, client, cport, server, sport)] = (flow, True)
        self.flows[(proto, server, sport, client, cport)] = (flow, False)
        return flow

    def _finish(self, flow: AnyFlow, client: bytes, server: bytes) -> None:
        if isinstance(flow, DnsFlow):
            self.dns_flows.pop((PROTO_UDP, client, flow.cport, server, flow.sport), None)
            self.dns_flows.pop((PROTO_UDP, server, flow.sport, client, flow.cport), None)
            self.finished += 1
            if self.on_flow_done is not None:
                self.on_flow_done(flow)
            else:
                self.done.append(flow)
            return
        self._closed.pop(flow.uid, None)
        self.flows.pop((flow.proto, client, flow.cport, server, flow.sport), None)
        self.flows.pop((flow.proto, server, flow.sport, client, flow.cport), None)
        if flow.fast_keys is not None:
            settled = self._settled_tcp if flow.proto == PROTO_TCP else self._settled_udp
            for key in flow.fast_keys:
                counter = settled.get(key)
                if counter is not None and getattr(counter, "__self__", None) is flow:
                    del settled[key]
            flow.fast_keys = None
        flow.release()
        self.finished += 1
        if self.on_flow_done is not None:
            self.on_flow_done(flow)
        else:
            self.done.append(flow)

    def tcp4(
        self,
        index: int,
        ts: int,
        wirelen: int,
        linktype: int,
        frame: bytes,
        link_off: int,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        seq: int,
        flags: int,
        payload: bytes,
    ) -> None:
        """:meth:`ipv4_packet` for an untunnelled IPv4 TCP segment whose IP and TCP headers the
        fast path has read and checked (plain, unfragmented IPv4; a TCP header the decoder takes):
        the handshake and teardown packets of short connections, with no packet or segment records.
        ``frame[link_off:]`` is the link header, read only when the segment may open a connection.

        :meth:`_tcp`'s steps are written out here, the link header read only for a SYN or an unknown
        connection: passing the link to :meth:`_tcp` instead cost 19 ms of the handshake capture's
        0.48 s packet loop (55.8k such packets, five per connection).  :meth:`_account` stays a call:
        writing it out here and in :meth:`udp4` measured no difference (0.484 against 0.486 s)."""
        self._account(index, ts, wirelen, linktype)
        try:
            hit = self.flows.get((PROTO_TCP, src, sport, dst, dport))
            if hit is None or flags & TCP_SYN:
                # Where the link header is read: only a flow's first packet keeps what it says.
                self._link_group = link_group(linktype, frame, link_off)
                hit = self._tcp_open(hit, 4, src, dst, sport, dport, seq, flags, payload, 0)
            flow, from_client = hit
            flow.tcp_packet(from_client, seq, flags, payload, wirelen, ts, self.error, self.dns_message)
            if flags & (TCP_RST | TCP_FIN) and (flow.rst_from is not None or (flow.c_fin and flow.s_fin)):
                self._closed[flow.uid] = (flow, src, dst) if from_client else (flow, dst, src)
                if flow.last_ns < self._closed_oldest:
                    self._closed_oldest = flow.last_ns
        except ParseError as exc:
            self.error(exc)
        except _DECODER_BUGS as exc:
            self._internal_error(exc)
        if index % EVICT_EVERY == 0:
            self.evict(ts)

    def tcp(self, pkt: IPPacket, depth: int = 0) -> None:
        seg = decode_tcp(pkt.payload)
        self._tcp(pkt.version, pkt.src, pkt.dst, seg.sport, seg.dport, seg.seq, seg.flags, seg.payload, depth)

    def _tcp(
        self,
        version: int,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        seq: int,
        flags: int,
        payload: bytes,
        depth: int,
    ) -> None:
        # (Engine.tcp4 has these steps inline: keep the two alike.)
        hit = self.flows.get((PROTO_TCP, src, sport, dst, dport))
        if hit is None or flags & TCP_SYN:  # only a SYN or an unknown connection may start one
            hit = self._tcp_open(hit, version, src, dst, sport, dport, seq, flags, payload, depth)
        flow, from_client = hit
        flow.tcp_packet(from_client, seq, flags, payload, self._wirelen, self._ts, self.error, self.dns_message)
        if flags & (TCP_RST | TCP_FIN) and (flow.rst_from is not None or (flow.c_fin and flow.s_fin)):
            c, s = (src, dst) if from_client else (dst, src)
            self._closed[flow.uid] = (flow, c, s)
            if flow.last_ns < self._closed_oldest:
                self._closed_oldest = flow.last_ns

    def _tcp_open(
        self,
        hit: tuple[Flow, bool] | None,
        version: int,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        seq: int,
        flags: int,
        payload: bytes,
        depth: int,
    ) -> tuple[Flow, bool]:
        """The flow of a segment that may open a connection (``hit``: the one its addresses and
        ports already name, if any), and whether it came from the client."""
        if hit is not None:
            flow, from_client = hit
            if (
                from_client
                and flags & TCP_SYN
                and not flags & TCP_ACK
                and seq != flow.syn_isn  # None when the connection was joined mid-stream
                and (flow.rst_from is not None or (flow.c_fin and flow.s_fin) or flow.synack)
            ):
                # The client reused the port for a new connection (new ISN after the old one ended).
                self._finish(flow, src, dst)
            else:
                return hit
        if flags & TCP_SYN and not flags & TCP_ACK:
            client = True
        elif flags & TCP_SYN:
            client = False  # a SYN-ACK: its receiver is the client
        else:
            # Joined mid-connection: the lower port is the service.
            client = dport < sport or (dport == sport and src > dst)
            if flags & TCP_RST and not payload:
                client = dport <= sport
        if client:
            flow = self._create(PROTO_TCP, version, src, sport, dst, dport, depth)
            flow.link_group = self._link_group and depth == 0 and version == 4
        else:
            flow = self._create(PROTO_TCP, version, dst, dport, src, sport, depth)
        return flow, client

    def udp4(
        self,
        index: int,
        ts: int,
        wirelen: int,
        linktype: int,
        group: bool,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        payload: bytes,
    ) -> None:
        """:meth:`tcp4` for UDP: an untunnelled IPv4 datagram whose headers the fast path has read
        and checked (a UDP length the decoder takes as it is), with no packet or datagram records."""
        self._account(index, ts, wirelen, linktype)
        self._link_group = group
        try:
            self._udp(4, src, dst, sport, dport, payload, 0)
        except ParseError as exc:
            self.error(exc)
        except _DECODER_BUGS as exc:
            self._internal_error(exc)
        if index % EVICT_EVERY == 0:
            self.evict(ts)

    def udp(self, pkt: IPPacket, depth: int) -> None:
        dgram = decode_udp(pkt.payload)
        self._udp(pkt.version, pkt.src, pkt.dst, dgram.sport, dgram.dport, dgram.payload, depth)

    def _udp(self, version: int, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, depth: int) -> None:
        if depth < MAX_TUNNEL_DEPTH:
            # Every port test below names a port of _TUNNEL_PORTS: one set test on each port spares
            # the rest of a datagram on no tunnel port (DNS, nearly all UDP), with the same outcome.
            if dport in _TUNNEL_PORTS or sport in _TUNNEL_PORTS:
                if dport in VXLAN_PORTS and len(payload) >= 8 and payload[0] & 0x08:
                    inner = decode_vxlan(payload)
                    ethertype, off = decode_ethernet(inner)
                    self.network(ethertype, inner, off, depth + 1)
                    return
                if dport == GENEVE_PORT:
                    ethertype, off, inner = decode_geneve(payload)
                    self.network(ethertype, inner, off, depth + 1)
                    return
                if dport == GRE_UDP_PORT:
                    ethertype, off, inner = decode_gre(payload)
                    self.network(ethertype, inner, off, depth + 1)
                    return
                if GTPU_PORT in (sport, dport) and payload[:1] and payload[0] >> 5 == 1 and payload[1:2] == b"\xff":
                    off = decode_gtpu(payload)
                    if off < len(payload):
                        inner_version = payload[off] >> 4
                        self.network(ETH_IPV4 if inner_version == 4 else ETH_IPV6, payload, off, depth + 1)
                    return
                if L2TP_PORT in (sport, dport):
                    l2tp = decode_l2tp(payload)
                    if l2tp is not None:
                        self.network(l2tp[0], payload, l2tp[1], depth + 1)
                    return
            if len(payload) >= 40 and payload[0] in TEREDO_FIRST_OCTETS:  # most datagrams spare the call
                teredo = teredo_offset(payload)
                if teredo is not None:
                    self.ip(decode_ipv6(payload, teredo), depth + 1)
                    return
        if sport in DNS_PORTS or dport in DNS_PORTS:
            # The light path (a DnsFlow), with the sides, the idle split and the link-layer group
            # decided exactly as below for any UDP flow.  Written out here, not a method of its own:
            # it runs for every DNS datagram (a call with seven arguments less each).
            ts = self._ts
            dns_hit = self.dns_flows.get((PROTO_UDP, src, sport, dst, dport))
            if dns_hit is not None and ts - dns_hit[0].last_ns > UDP_IDLE_SPLIT_NS:
                self._finish(dns_hit[0], *(self._ends(dns_hit[0], src, dst, dns_hit[1])))
                dns_hit = None
            if dns_hit is None:
                if sport < WELL_KNOWN_PORTS and dport >= EPHEMERAL_PORTS:
                    dns_flow = self._create_dns(version, dst, dport, src, sport)
                    dns_flow.server_first = True
                    from_client = False
                else:
                    dns_flow = self._create_dns(version, src, sport, dst, dport)
                    dns_flow.link_group = self._link_group and depth == 0 and version == 4
                    from_client = True
            else:
                dns_flow, from_client = dns_hit
            dns_flow.udp_packet(from_client, payload, self._wirelen, ts, self.error, self.dns.flow_message)
            return
        hit = self.flows.get((PROTO_UDP, src, sport, dst, dport))
        if hit is not None and self._ts - hit[0].last_ns > UDP_IDLE_SPLIT_NS:
            self._finish(hit[0], *(self._ends(hit[0], src, dst, hit[1])))
            hit = None
        if hit is None:
            if sport < WELL_KNOWN_PORTS and dport >= EPHEMERAL_PORTS:
                # A well-known port answering an ephemeral one: a reply whose request the capture
                # missed (a DNS or NTP answer).  The client is the side with the ephemeral port.
                flow = self._create(PROTO_UDP, version, dst, dport, src, sport, depth)
                flow.server_first = True
                from_client = False
            else:
                flow = self._create(PROTO_UDP, version, src, sport, dst, dport, depth)
                # Decided by the packet that creates the flow, which the full decoder always sees: the
                # fast path may count later ones, so they must not change it.  A tunnelled packet's
                # link header is the outer one, not its own.  IPv4 only: IPv6 has no broadcast and its
                # multicast is known by address, while a group MAC in front of a unicast IPv6 address
                # is an anonymised capture (33:33:... everywhere), not a broadcast.
                flow.link_group = self._link_group and depth == 0 and version == 4
                from_client = True
        else:
            flow, from_client = hit
        flow.udp_packet(from_client, payload, self._wirelen, self._ts, self.error, self.dns_message)

    def _create_dns(self, version: int, client: bytes, cport: int, server: bytes, sport: int) -> DnsFlow:
        self._uid += 1
        service = DNS_PORTS.get(sport) or DNS_PORTS[cport]
        client_text, server_text = self.addr(client), self.addr(server)
        flow = DnsFlow(self._uid, version, client_text, cport, server_text, sport, self._ts, service)
        flow.dns_name = self.dns.address_names.get(server_text)  # self.dns.name_for, in place
        self.dns_flows[(PROTO_UDP, client, cport, server, sport)] = (flow, True)
        self.dns_flows[(PROTO_UDP, server, sport, client, cport)] = (flow, False)
        return flow

    @staticmethod
    def _ends(flow: AnyFlow, src: bytes, dst: bytes, from_client: bool) -> tuple[bytes, bytes]:
        return (src, dst) if from_client else (dst, src)

    def icmp(self, pkt: IPPacket) -> None:
        err = decode_icmp(pkt.payload, pkt.version)
        if err is None or not err.unreachable:
            return
        key = (err.quoted_proto, err.quoted_src, err.quoted_sport, err.quoted_dst, err.quoted_dport)
        hit: tuple[AnyFlow, bool] | None = self.flows.get(key)
        if hit is None and err.quoted_proto == PROTO_UDP:
            hit = self.dns_flows.get(key)
        if hit is not None and hit[1]:
            flow = hit[0]
            if flow.icmp is None:
                flow.icmp = (err.version, err.type, err.code, self.addr(pkt.src))

    def dns_message(self, flow: AnyFlow, msg: dnsp.DnsMessage, ts: int) -> None:
        self.dns.flow_message(flow, msg, ts)

    # ------------------------------------------------------------------ eviction

    def evict(self, now: int) -> None:
        """Finish closed connections after a linger, and any flow idle for long.

        Closed connections are tracked as they close, so the common case touches only them; the
        scan of every flow for idleness runs at most once per IDLE_EVICT_NS of capture time.
        """
        if now - self._closed_oldest > CLOSED_LINGER_NS:
            oldest = 1 << 63
            for uid, (flow, client, server) in list(self._closed.items()):
                if now - flow.last_ns > CLOSED_LINGER_NS:
                    del self._closed[uid]
                    if self.flows.get((flow.proto, client, flow.cport, server, flow.sport), (None,))[0] is flow:
                        self._finish(flow, client, server)
                elif flow.last_ns < oldest:
                    oldest = flow.last_ns
            self._closed_oldest = oldest
        if len(self.flows) > 2 * self.max_open:  # two keys per flow
            self._shed(self.flows, self.max_open)
        if len(self.dns_flows) > 2 * self.max_open_dns:
            self._shed(self.dns_flows, self.max_open_dns)
        if now - self._last_idle_scan < IDLE_EVICT_NS:
            return
        self._last_idle_scan = now
        for key, (flow, from_client) in list(self.flows.items()):
            if from_client and now - flow.last_ns > IDLE_EVICT_NS:
                self._finish(flow, key[1], key[3])
        for key, (dns_flow, from_client) in list(self.dns_flows.items()):
            if from_client and now - dns_flow.last_ns > IDLE_EVICT_NS:
                self._finish(dns_flow, key[1], key[3])

    def open_flows(self) -> int:
        return (len(self.flows) + len(self.dns_flows)) // 2

    def _shed(self, flows: Mapping[FlowKey, tuple[AnyFlow, bool]], cap: int) -> None:
        """Too many flows open in ``flows``: finish the ones idle longest (oldest last packet first)
        until ``SHED_TO`` of the cap remain.  A later packet of one of them starts a new flow, so
        the report warns when a flow not yet closed is finished this way."""
        open_flows = [(flow, key[1], key[3]) for key, (flow, from_client) in flows.items() if from_client]
        excess = len(open_flows) - int(cap * SHED_TO)
        if excess <= 0:
            return
        open_flows.sort(key=lambda item: (item[0].last_ns, item[0].uid))
        for flow, client, server in open_flows[:excess]:
            if flow.uid not in self._closed:
                self.shed += 1
            self._finish(flow, client, server)

    def shed_warnings(self) -> list[str]:
        if not self.shed:
            return []
        return [
            f"more connections were open at once than memory allows ({self.max_open}, or {self.max_open_dns} DNS "
            f"exchanges): {self.shed} of them, idle longest, "
            "were ended early to bound memory (a later packet of one counts as a new connection)"
        ]

    def close(self) -> list[AnyFlow]:
        """End of capture: finish every open flow; return the flows kept (none when ``on_flow_done``
        takes them) in start order."""
        # Every open connection finishes now, so the maps are emptied whole rather than one flow's
        # keys at a time as _finish does (four dict keys and two fast-path counters per flow).  The
        # flows finish in the order _finish would have taken them, each already out of the maps.
        open_flows = [flow for flow, from_client in self.flows.values() if from_client]
        self.flows.clear()
        self._closed.clear()
        self._settled_tcp.clear()
        self._settled_udp.clear()
        done = self.on_flow_done if self.on_flow_done is not None else self.done.append
        for flow in open_flows:
            flow.fast_keys = None
            flow.release()
            self.finished += 1
            done(flow)
        # DNS conversations likewise (one per query: 10.9k on the handshake capture, where finishing
        # them one _finish at a time cost about 5 ms): same order, each out of the map when it finishes.
        open_dns = [dns_flow for dns_flow, from_client in self.dns_flows.values() if from_client]
        self.dns_flows.clear()
        self.finished += len(open_dns)
        for dns_flow in open_dns:
            done(dns_flow)
        self.done.sort(key=lambda f: (f.first_ns, f.uid))
        return self.done
