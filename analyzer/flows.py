"""Connections: one :class:`Flow` per TCP connection or UDP conversation.

The client is the SYN sender (TCP) or, for UDP, the first sender unless it answers from a
well-known port to an unprivileged one (a reply whose query was not captured).  Each direction feeds a
small protocol sniffer that looks at the first bytes only: a TLS ClientHello, HTTP request
heads, a SOCKS handshake, DNS messages, a QUIC long header.  Once a flow has what it needs it drops its
buffers and afterwards only counts packets and bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar

from mypy_extensions import mypyc_attr

from analyzer.reassembly import Stream
from parsers import dns as dnsp
from parsers import http as httpp
from parsers import quic as quicp
from parsers import socks as socksp
from parsers import tls as tlsp
from parsers.errors import ParseError
from parsers.transport import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN

PROTO_TCP = 6
PROTO_UDP = 17

DNS_PORTS = {53: "dns", 5353: "mdns", 5355: "llmnr"}
CLIENT_BUFFER = 64 * 1024
SERVER_BUFFER = 16 * 1024
MAX_HTTP_TARGETS = 16

# Client-side sniffer states; CHUNKED steps over a chunked request body, CHUNK_TRAILERS over its trailers,
# QUIC_INITIAL gathers the CRYPTO frames of a QUIC client's Initial packets.
DETECT, TLS, HTTP, TUNNEL_WAIT, TUNNEL, DNS, SOCKS, DONE, CHUNKED, CHUNK_TRAILERS, QUIC_INITIAL = range(11)
CHUNK_DATA_END = 11  # the line ending after a chunk's data
# The client states in which the server's bytes are read as an HTTP response.
_HTTP_STATES = frozenset((HTTP, TUNNEL_WAIT, CHUNKED, CHUNK_DATA_END, CHUNK_TRAILERS))
_SEQ_MASK = 0xFFFFFFFF
# A QUIC client sends its ClientHello in its first few Initial packets; after this many Initials, or
# this many datagrams (a Version Negotiation round first, say), we stop looking.
MAX_QUIC_INITIALS = 8
MAX_QUIC_DATAGRAMS = 16
# The CRYPTO pieces kept while a ClientHello is gathered: a real one comes in a handful.
MAX_CRYPTO_PIECES = 64
MAX_CRYPTO_BYTES = 1 << 16
# A UDP tuple silent this long starts a new conversation (a new flow) when it speaks again.
UDP_IDLE_SPLIT_NS = 120 * 1_000_000_000
# Ports where a leading 0x04/0x05 byte means a SOCKS handshake rather than some binary protocol;
# on any other port parsers.socks.sniff_request must find a whole, well-formed handshake.
SOCKS_PORTS = frozenset((1080, 1081, 1085, 9050, 9150))


ErrorSink = Callable[[ParseError], None]
DnsSink = Callable[["Flow | DnsFlow", dnsp.DnsMessage, int], None]


# The tests subclass Flow to hold its short cuts to the buffered path; compiled (mypyc), that must be allowed.
@mypyc_attr(allow_interpreted_subclasses=True)
class Flow:
    __slots__ = (
        "c_bytes",
        "c_fin",
        "c_packets",
        "c_payload",
        "c_state",
        "c_stream",
        "client",
        "connect_status",
        "connect_target",
        "cport",
        "dns_name",
        "ech",
        "fast_keys",
        "first_ns",
        "host_headers",
        "http_status",
        "http_targets",
        "icmp",
        "ip_version",
        "last_ns",
        "link_group",
        "proto",
        "quic",
        "quic_crypto",
        "quic_datagrams",
        "quic_initials",
        "quic_keys",
        "requests",
        "rst_from",
        "s_base",
        "s_bytes",
        "s_fin",
        "s_first",
        "s_packets",
        "s_payload",
        "s_state",
        "s_stream",
        "server",
        "server_first",
        "service",
        "sni",
        "sport",
        "syn_count",
        "syn_isn",
        "synack",
        "tls_hello",
        "tunnel_granted",
        "tunnel_kind",
        "tunnel_sni",
        "uid",
    )

    def __init__(
        self, uid: int, proto: int, ip_version: int, client: str, cport: int, server: str, sport: int, ts: int
    ) -> None:
        self.uid = uid
        self.proto = proto
        self.ip_version = ip_version
        self.client = client
        self.cport = cport
        self.server = server
        self.sport = sport
        self.first_ns = ts
        self.last_ns = ts
        self.c_packets = self.s_packets = 0
        self.c_bytes = self.s_bytes = 0  # wire bytes
        self.c_payload = self.s_payload = 0  # transport payload bytes
        self.syn_count = 0
        # A UDP exchange whose first datagram in the capture is the server's (the engine decides
        # the sides by port): it began before the capture, so its outcome is unknown.
        self.server_first = False
        # The flow's first packet, a client's, went to a link-layer broadcast or multicast address
        # (Ethernet group bit, SLL packet type): decided once, at creation, by the full decoder.
        self.link_group = False
        self.syn_isn: int | None = None
        self.synack = False
        self.rst_from: str | None = None
        self.c_fin = self.s_fin = False
        self.icmp: tuple[int, int, int, str] | None = None  # (ip version, type, code, reporter)
        self.service: str | None
        if proto == PROTO_UDP:
            self.service = DNS_PORTS.get(sport) or DNS_PORTS.get(cport)
        else:  # DNS over TCP is port 53 only; mDNS and LLMNR are UDP protocols
            self.service = "dns" if sport == 53 else None
        self.sni: str | None = None
        self.ech = False
        self.tunnel_sni: str | None = None
        self.connect_target: tuple[str, int] | None = None
        self.connect_status: int | None = None  # HTTP status (CONNECT) or SOCKS reply code
        self.tunnel_kind: str | None = None  # "http-connect", "socks4" or "socks5"
        self.tunnel_granted: bool | None = None
        self.http_status: int | None = None
        # (host, port, source, via proxy) -> requests; source is "host", "connect" or "none"
        self.http_targets: dict[tuple[str, int, str, bool], int] = {}
        self.requests = 0
        self.host_headers: list[str] = []  # distinct Host header values as sent, in order
        self.quic = False
        self.quic_keys: quicp.InitialKeys | None = None  # from the client's first Initial
        self.quic_crypto: dict[int, bytes] | None = None  # CRYPTO stream offset -> data
        self.quic_initials = 0
        self.quic_datagrams = 0
        self.tls_hello = False  # a complete ClientHello was seen (TLS on any port)
        self.s_first: bytes | None = None
        self.dns_name: str | None = None
        self.c_state = DETECT
        # Nothing is read from a UDP server's datagrams (DNS has its own path): that side is settled.
        self.s_state = DONE if proto == PROTO_UDP else DETECT
        # The reassembly buffers are made when a side's payload first needs one (see tcp_packet):
        # until then the client's starts at syn_isn + 1, the server's at s_base (its SYN-ACK's + 1).
        self.c_stream: Stream | None = None
        self.s_stream: Stream | None = None
        self.s_base: int | None = None
        self.fast_keys: tuple[bytes, bytes] | None = None  # the engine's settled-packet keys, while registered

    # ------------------------------------------------------------------ settled packets
    # The counting half of the engine's contract with analyzer.fastpath (see Engine.settled_tcp):
    # one bound method per direction, handed out by the engine, called for an untunnelled packet
    # of this flow that carries no SYN/FIN/RST and whose headers the fast path has checked.  The
    # packet is counted, and True returned, only when the flow needs nothing from it: no payload,
    # or that direction's parser is done (and, for UDP, the tuple was not idle long enough to start
    # a new conversation).  Otherwise nothing changes and the packet goes to the full decoder.

    def count_settled_client(self, wirelen: int, payload: int, ts: int) -> bool:
        if payload and self.c_state != DONE:
            return False
        self.c_packets += 1
        self.c_bytes += wirelen
        self.c_payload += payload
        if ts > self.last_ns:
            self.last_ns = ts
        return True

    def count_settled_server(self, wirelen: int, payload: int, ts: int) -> bool:
        if payload and self.s_state != DONE:
            return False
        self.s_packets += 1
        self.s_bytes += wirelen
        self.s_payload += payload
        if ts > self.last_ns:
            self.last_ns = ts
        return True

    def count_settled_client_udp(self, wirelen: int, payload: int, ts: int) -> bool:
        if ts - self.last_ns > UDP_IDLE_SPLIT_NS:
            return False
        return self.count_settled_client(wirelen, payload, ts)

    def count_settled_server_udp(self, wirelen: int, payload: int, ts: int) -> bool:
        if ts - self.last_ns > UDP_IDLE_SPLIT_NS:
            return False
        return self.count_settled_server(wirelen, payload, ts)

    # ----------------------------------------------------------------------------- TCP

    def _count(self, from_client: bool, wirelen: int, payload: int, ts: int) -> None:
        if ts > self.last_ns:  # the latest time seen: packets of merged interfaces come out of order
            self.last_ns = ts
        if from_client:
            self.c_packets += 1
            self.c_bytes += wirelen
            self.c_payload += payload
        else:
            self.s_packets += 1
            self.s_bytes += wirelen
            self.s_payload += payload

    def tcp_packet(
        self,
        from_client: bool,
        seq: int,
        flags: int,
        payload: bytes,
        wirelen: int,
        ts: int,
        on_error: ErrorSink,
        on_dns: DnsSink,
    ) -> None:
        self._count(from_client, wirelen, len(payload), ts)
        if flags & TCP_SYN:
            if from_client and not flags & TCP_ACK:
                self.syn_count += 1
                if self.syn_isn is None:
                    self.syn_isn = seq
                    # Bytes gathered before the SYN (a capture joined mid-stream) are dropped: the
                    # stream starts again, at the ISN, with the next payload.
                    self.c_stream = None
            elif not from_client and flags & TCP_ACK:
                self.synack = True
                if self.s_stream is None and self.s_base is None and self.s_state == DETECT:
                    self.s_base = (seq + 1) & _SEQ_MASK
        if flags & TCP_RST and self.rst_from is None:
            self.rst_from = "client" if from_client else "server"
        if flags & TCP_FIN:
            if from_client:
                self.c_fin = True
            else:
                self.s_fin = True
        if not payload:
            return
        if from_client:
            if self.c_state == DONE:
                return
            stream = self.c_stream
            if stream is None:
                isn = self.syn_isn
                base = None if isn is None else (isn + 1) & _SEQ_MASK
                # A side's first segment at the start of its stream (or any first segment, when the
                # stream's start is unknown) is, in a new buffer, exactly the buffer's bytes: read
                # it in place when that alone settles the side (analyzer/reassembly.py's Stream is
                # made only when bytes must wait for more).
                if (base is None or seq == base) and self._client_first(base, seq, payload, on_error):
                    return
                stream = self.c_stream = Stream(base, CLIENT_BUFFER)
            if stream.add(seq, payload):
                self._client_bytes(on_error, on_dns, ts)
        else:
            stream = self.s_stream
            if stream is None:
                if self.s_state != DETECT or self.s_first is not None:
                    return
                base = self.s_base
                if (base is None or seq == base) and self._server_first(payload):
                    return
                stream = self.s_stream = Stream(base, SERVER_BUFFER)
            elif self.s_state == DONE:
                return
            if stream.add(seq, payload):
                self._server_bytes(on_error, on_dns, ts)

    def _client_first(self, base: int | None, seq: int, payload: bytes, on_error: ErrorSink) -> bool:
        """The client's first in-order bytes, when they hold a whole ClientHello: read it as
        :meth:`_client_bytes` reads a buffer holding just these bytes, and True.  False (nothing
        changed) for anything else, which then goes through a buffer.  The short cut spares a
        TLS connection its Stream, a copy of the hello and a copy back (handshake capture: 8.5k
        ClientHellos; with :meth:`_server_first`, 45 ms of the packet loop's 0.53 s CPU)."""
        if (
            self.c_state != DETECT
            or self.service is not None
            or self.sport in SOCKS_PORTS
            or not 6 <= len(payload) <= CLIENT_BUFFER
            or not tlsp.looks_like_client_hello(payload)
        ):
            return False
        try:
            hello = tlsp.parse_client_hello(payload)
        except ParseError as exc:
            self._client_done()
            on_error(exc)
            return True
        except Exception:
            # A decoder bug, which the engine counts: leave the state the buffered path leaves (the
            # bytes kept, the hello awaited), so the next segment meets what it would have met.
            self.c_state = TLS
            self.c_stream = Stream(base, CLIENT_BUFFER)
            self.c_stream.add(seq, payload)
            raise
        if hello is None:
            return False  # cut short: the buffer gathers the rest
        self.tls_hello = True
        self.sni = hello.sni
        self.ech = hello.ech
        self._client_done()
        return True

    def _server_first(self, payload: bytes) -> bool:
        """The server's first in-order bytes, when the client's side leaves nothing to read from
        them beyond their first eight (a TLS or unknown client: no DNS, HTTP, proxy or tunnel):
        what :meth:`_server_bytes` does with a buffer holding just these bytes, and True; else
        False with nothing changed.  (A payload past the buffer's size is no exception: the buffer
        would keep its first SERVER_BUFFER bytes and settle the side all the same.)"""
        c_state = self.c_state
        if (
            self.service is not None
            or self.tunnel_kind is not None
            or c_state in _HTTP_STATES
            or (c_state == DONE and self.requests)
            or (c_state == DETECT and len(payload) < 8)
        ):
            return False
        self.s_first = payload[:8]
        self.s_state = DONE
        return True

    @property
    def settled(self) -> bool:
        return self.c_state == DONE and self.s_state == DONE

    def _client_done(self) -> None:
        self.c_state = DONE
        self.quic_crypto = None
        if self.c_stream is not None:
            self.c_stream.release()
            self.c_stream = None

    def _server_done(self) -> None:
        self.s_state = DONE
        if self.s_stream is not None:
            self.s_stream.release()
            self.s_stream = None

    def _client_bytes(self, on_error: ErrorSink, on_dns: DnsSink, ts: int) -> None:
        stream = self.c_stream
        assert stream is not None
        try:
            while stream.data and self.c_state != DONE:
                buf = stream.data
                if self.c_state == DETECT:
                    if self.service == "dns":
                        self.c_state = DNS
                    elif self.sport in SOCKS_PORTS and socksp.looks_like_socks(buf):
                        self.c_state = SOCKS
                        self.tunnel_kind = f"socks{buf[0]}"
                    elif len(buf) >= 6 and tlsp.looks_like_client_hello(buf):
                        self.c_state = TLS
                    elif httpp.looks_like_request(buf):
                        if len(buf) < 8:
                            return
                        self.c_state = HTTP
                    elif len(buf) < 6 and tlsp.looks_like_client_hello(buf):
                        return
                    elif buf[0] in (4, 5) and (socks := socksp.sniff_request(buf)) is not False:
                        # SOCKS on a port not known for it, recognised by the whole handshake (the
                        # ports above take it from its first byte, as they always have).
                        if socks is None:
                            if stream.overflow:
                                self._client_done()
                            return  # the greeting alone, or a request cut short: wait for the rest
                        self.c_state = SOCKS
                        self.tunnel_kind = f"socks{buf[0]}"
                    else:
                        self._client_done()
                        return
                if self.c_state in (TLS, TUNNEL):
                    hello = tlsp.parse_client_hello(bytes(buf))
                    if hello is None:
                        if stream.overflow:
                            raise ParseError("ClientHello larger than the reassembly buffer", "tls")
                        return
                    if self.c_state == TLS:
                        self.tls_hello = True
                        self.sni = hello.sni
                        self.ech = hello.ech
                    else:  # the ClientHello inside a CONNECT tunnel
                        self.tunnel_sni = hello.sni
                        self.sni = hello.sni
                        self.ech = hello.ech
                    self._client_done()
                    return
                if self.c_state == HTTP:
                    if not self._http_request(stream):
                        return
                    continue
                if self.c_state in (CHUNKED, CHUNK_DATA_END, CHUNK_TRAILERS):
                    if not self._chunked_body(stream):
                        return
                    continue
                if self.c_state == TUNNEL_WAIT:
                    return  # the tunnel starts after the proxy's answer
                if self.c_state == DNS and not self._dns_tcp(stream, on_dns, ts):
                    return
                if self.c_state == SOCKS:
                    req = socksp.parse_request(buf)
                    if req is None:
                        return
                    self.connect_target = (req.host.lower(), req.port)
                    self._count_target(req.host, req.port, "connect", True)
                    stream.consume(req.length)
                    self.c_state = TUNNEL_WAIT
                    if self.tunnel_granted:  # the proxy's reply was already read
                        self.c_state = TUNNEL
        except ParseError as exc:
            self._client_done()
            on_error(exc)

    def _dns_tcp(self, stream: Stream, on_dns: DnsSink, ts: int) -> bool:
        """Take one length-prefixed DNS message off the stream; False when more bytes are needed."""
        split = dnsp.split_tcp_message(stream.data)
        if split is None:
            return False
        message, used = split
        stream.consume(used)  # consume first: a malformed message must not be re-read
        self._deliver_dns(message, on_dns, ts)
        return True

    def _deliver_dns(self, message: bytes, on_dns: DnsSink, ts: int) -> None:
        """Parse one DNS message; a message broken after its questions still delivers what was read."""
        try:
            on_dns(self, dnsp.parse_message(message), ts)
        except dnsp.DnsParseError as exc:
            if exc.partial is not None:
                on_dns(self, exc.partial, ts)
            raise

    def _http_request(self, stream: Stream) -> bool:
        """Parse one request head; False when more bytes are needed."""
        buf = stream.data
        if self.requests and not httpp.looks_like_request(buf):
            # After a valid request, other bytes (an upgrade, a body we could not frame) end our interest.
            self._client_done()
            return False
        req = httpp.parse_request(bytes(buf))
        if req is None:
            if stream.overflow:
                raise ParseError("HTTP request head larger than the reassembly buffer", "http")
            return False
        self.requests += 1
        if req.host is not None and req.host not in self.host_headers and len(self.host_headers) < MAX_HTTP_TARGETS:
            self.host_headers.append(req.host)
        if req.method == "CONNECT":
            host, port = httpp.split_host_port(req.target, 443)
            if not httpp.is_authority(host) and req.host:
                host, port = httpp.split_host_port(req.host, 443)
            self.connect_target = (host.lower(), port)
            self.tunnel_kind = "http-connect"
            self._count_target(host, port, "connect", True)
            stream.consume(req.head_length)
            self.c_state = TUNNEL_WAIT
            return True
        authority = httpp.absolute_target_authority(req.target)
        if authority is not None:  # forward proxy: the target names the real destination
            host, port = httpp.split_host_port(authority, 443 if req.target.lower().startswith("https") else 80)
            if req.host:
                host = httpp.split_host_port(req.host, port)[0]
            self._count_target(host, port, "host", True)
        elif req.host:
            host, _port = httpp.split_host_port(req.host, self.sport)
            self._count_target(host, self.sport, "host", False)
        else:
            self._count_target("", self.sport, "none", False)
        if req.chunked:
            # The body is stepped over chunk by chunk: only size lines are read, the data is skipped
            # as it arrives, and the next request on the connection is counted too.
            stream.consume(req.head_length)
            self.c_state = CHUNKED
            return True
        stream.consume(req.head_length + (req.content_length or 0))
        return True

    def _chunked_body(self, stream: Stream) -> bool:
        """Step over one chunk, the line ending after its data, or the trailers after the last;
        False when more bytes are needed."""
        buf = stream.data
        if self.c_state == CHUNK_TRAILERS:
            used = httpp.chunked_trailer_length(buf)
            if used is None:
                return False
            stream.consume(used)
            self.c_state = HTTP
            return True
        if self.c_state == CHUNK_DATA_END:
            used = httpp.chunk_data_end(buf)
            if used is None:
                return False
            stream.consume(used)
            self.c_state = CHUNKED
            return True
        step = httpp.parse_chunk_size(buf)
        if step is None:
            return False
        size, used = step
        if size == 0:
            stream.consume(used)
            self.c_state = CHUNK_TRAILERS
        else:
            stream.consume(used + size)  # the data, skipped as it arrives
            self.c_state = CHUNK_DATA_END
        return True

    def _count_target(self, host: str, port: int, source: str, via_proxy: bool) -> None:
        key = (host.lower().rstrip("."), port, source, via_proxy)
        if key in self.http_targets or len(self.http_targets) < MAX_HTTP_TARGETS:
            self.http_targets[key] = self.http_targets.get(key, 0) + 1

    def _server_bytes(self, on_error: ErrorSink, on_dns: DnsSink, ts: int) -> None:
        stream = self.s_stream
        assert stream is not None
        try:
            if self.s_first is None:
                self.s_first = bytes(stream.data[:8])
            if self.service == "dns":
                while stream.data and self._dns_tcp(stream, on_dns, ts):
                    pass
                return
            if self.tunnel_kind is not None and self.tunnel_kind.startswith("socks"):
                reply = socksp.parse_reply(stream.data, 4 if self.tunnel_kind == "socks4" else 5)
                if reply is None:
                    if stream.overflow:
                        self._server_done()
                    return
                self.connect_status = reply.code
                self.tunnel_granted = reply.granted
                if self.c_state == TUNNEL_WAIT:
                    self._open_tunnel(on_error, on_dns, ts)
                self._server_done()
                return
            if self.c_state in _HTTP_STATES or (self.c_state == DONE and self.requests):
                resp = httpp.parse_response(bytes(stream.data))
                if resp is None:
                    if stream.overflow:
                        self._server_done()
                    return
                self.http_status = resp.status
                if self.c_state == TUNNEL_WAIT:
                    self.connect_status = resp.status
                    self.tunnel_granted = 200 <= resp.status < 300
                    self._open_tunnel(on_error, on_dns, ts)
                self._server_done()
                return
            if self.c_state == DETECT and len(stream.data) < 8:
                return  # wait: the client's first bytes decide how to read the server
            self._server_done()
        except ParseError as exc:
            self._server_done()
            on_error(exc)

    def _open_tunnel(self, on_error: ErrorSink, on_dns: DnsSink, ts: int) -> None:
        """The proxy answered: read the tunnelled ClientHello, or stop if it refused."""
        if not self.tunnel_granted:
            self._client_done()
            return
        self.c_state = TUNNEL
        if self.c_stream is not None and self.c_stream.data:
            self._client_bytes(on_error, on_dns, ts)

    # ----------------------------------------------------------------------------- UDP

    def udp_packet(
        self, from_client: bool, payload: bytes, wirelen: int, ts: int, on_error: ErrorSink, on_dns: DnsSink
    ) -> None:
        self._count(from_client, wirelen, len(payload), ts)
        try:
            if self.service is not None:
                self._deliver_dns(payload, on_dns, ts)
            elif from_client and self.c_state == DETECT and payload:
                if payload[0] & 0xC0 == 0xC0:  # a long header: QUIC, perhaps
                    self.c_state = QUIC_INITIAL
                    self._quic_datagram(payload, on_error)
                else:
                    self.c_state = DONE
            elif from_client and self.c_state == QUIC_INITIAL and payload:
                self._quic_datagram(payload, on_error)
        except ParseError as exc:
            if self.service is None:
                return  # a UDP payload that is not QUIC is simply not QUIC, not an error
            on_error(exc)

    def _quic_datagram(self, datagram: bytes, on_error: ErrorSink) -> None:
        """Gather the CRYPTO data of the client's Initial packets until the ClientHello is whole.

        A datagram may coalesce several long-header packets; a short-header (1-RTT) packet means
        the handshake is over.  Keys come from the first Initial's Destination Connection ID and
        stay for the connection (RFC 9001 section 5.2); after a Retry the client's new Initial
        carries a new one, so a packet that does not open with the first keys is tried with its own.
        A version we cannot read (a Version Negotiation probe, say) ends only that datagram: the
        client may start over with one we can, on the same ports.
        """
        self.quic_datagrams += 1
        pos = 0
        try:
            while pos < len(datagram) and datagram[pos] & 0xC0 == 0xC0:
                rest = datagram[pos:]
                if len(rest) < 5 or not quicp.is_known_version(int.from_bytes(rest[1:5], "big")):
                    break
                header = quicp.parse_long_header(rest)
                if header is None:
                    raise ParseError("QUIC long header cut short", "quic")
                self.quic = True
                if header.packet_type != quicp.INITIAL:
                    pos += quicp.long_packet_length(rest)
                    continue
                if self.quic_keys is None:
                    self.quic_keys = quicp.client_initial_keys(header.version, header.dcid)
                    if self.quic_keys is None:  # Google QUIC: its own crypto, no SNI to be had here
                        self._client_done()
                        return
                if self.quic_initials >= MAX_QUIC_INITIALS:
                    self._client_done()
                    return
                self.quic_initials += 1
                try:
                    packet = quicp.open_initial(rest, self.quic_keys)
                except ParseError:
                    packet = quicp.open_initial(rest)  # after a Retry: the packet's own DCID
                pos += packet.length
                for offset, data in quicp.crypto_frames(packet.payload):
                    self._add_crypto(offset, data)
                if self.quic_crypto and 0 in self.quic_crypto:
                    hello = tlsp.parse_client_hello_message(_contiguous(self.quic_crypto))
                    if hello is not None:
                        self.sni = hello.sni
                        self.ech = hello.ech
                        self._client_done()
                        return
            short_header = pos < len(datagram) and datagram[pos] & 0xC0 == 0x40  # 1-RTT: the handshake is over
            if short_header or self.quic_initials >= MAX_QUIC_INITIALS or self.quic_datagrams >= MAX_QUIC_DATAGRAMS:
                self._client_done()
        except ParseError as exc:
            self._client_done()
            on_error(exc)

    def _add_crypto(self, offset: int, data: bytes) -> None:
        """Keep one CRYPTO piece; a shorter re-send at an offset already held does not replace it."""
        if not data:
            return
        pieces = self.quic_crypto if self.quic_crypto is not None else {}
        self.quic_crypto = pieces
        held = pieces.get(offset)
        if held is None or len(data) > len(held):
            pieces[offset] = data
        if len(pieces) > MAX_CRYPTO_PIECES or sum(map(len, pieces.values())) > MAX_CRYPTO_BYTES:
            raise ParseError("QUIC CRYPTO data in too many pieces for a ClientHello", "quic")

    # ----------------------------------------------------------------------------- results

    def release(self) -> None:
        """Drop the byte buffers: a finished flow keeps only its counters and findings."""
        self.c_stream = None
        self.s_stream = None

    def server_answered_tls(self) -> bool:
        return self.s_first is not None and tlsp.looks_like_tls_record(self.s_first)


class DnsFlow:
    """A DNS, mDNS or LLMNR conversation over UDP: what a :class:`Flow` on those ports ever uses.

    Every datagram is a whole DNS message, read at once and handed to the DNS log, so none of a
    Flow's sniffers, buffers or fast-path keys apply: a resolver-heavy capture makes one of these
    per query, at about a third of a Flow's size and set-up time.  The Flow attributes that verdicts,
    naming and the flow row read but a DNS conversation never sets are constants of the class, with
    a Flow's initial values, so the row is the one a Flow would have given.
    """

    __slots__ = (
        "c_bytes",
        "c_packets",
        "c_payload",
        "client",
        "cport",
        "dns_name",
        "first_ns",
        "icmp",
        "ip_version",
        "last_ns",
        "link_group",
        "s_bytes",
        "s_packets",
        "s_payload",
        "server",
        "server_first",
        "service",
        "sport",
        "uid",
    )

    proto: ClassVar[int] = PROTO_UDP
    fast_keys: ClassVar[None] = None
    sni: ClassVar[None] = None
    ech: ClassVar[bool] = False
    tunnel_sni: ClassVar[None] = None
    tls_hello: ClassVar[bool] = False
    quic: ClassVar[bool] = False
    connect_target: ClassVar[None] = None
    connect_status: ClassVar[None] = None
    tunnel_kind: ClassVar[None] = None
    tunnel_granted: ClassVar[None] = None
    http_status: ClassVar[None] = None
    http_targets: ClassVar[Mapping[tuple[str, int, str, bool], int]] = MappingProxyType({})
    host_headers: ClassVar[Sequence[str]] = ()
    requests: ClassVar[int] = 0
    syn_count: ClassVar[int] = 0
    syn_isn: ClassVar[None] = None
    synack: ClassVar[bool] = False
    rst_from: ClassVar[None] = None
    c_fin: ClassVar[bool] = False
    s_fin: ClassVar[bool] = False
    s_first: ClassVar[None] = None

    def __init__(
        self, uid: int, ip_version: int, client: str, cport: int, server: str, sport: int, ts: int, service: str
    ) -> None:
        self.uid = uid
        self.ip_version = ip_version
        self.client = client
        self.cport = cport
        self.server = server
        self.sport = sport
        self.first_ns = self.last_ns = ts
        self.c_packets = self.s_packets = 0
        self.c_bytes = self.s_bytes = 0
        self.c_payload = self.s_payload = 0
        self.server_first = False
        self.link_group = False
        self.icmp: tuple[int, int, int, str] | None = None
        self.dns_name: str | None = None
        self.service = service

    def udp_packet(
        self, from_client: bool, payload: bytes, wirelen: int, ts: int, on_error: ErrorSink, on_dns: DnsSink
    ) -> None:
        """Count the datagram and hand its DNS message to ``on_dns``, as :meth:`Flow.udp_packet` does
        for a flow on a DNS port."""
        if ts > self.last_ns:
            self.last_ns = ts
        if from_client:
            self.c_packets += 1
            self.c_bytes += wirelen
            self.c_payload += len(payload)
        else:
            self.s_packets += 1
            self.s_bytes += wirelen
            self.s_payload += len(payload)
        try:
            on_dns(self, dnsp.parse_message(payload), ts)
        except dnsp.DnsParseError as exc:
            if exc.partial is not None:
                on_dns(self, exc.partial, ts)
            on_error(exc)
        except ParseError as error:  # not `exc`: compiled (mypyc), one name has one type
            on_error(error)

    def release(self) -> None:
        """Nothing to drop: a DNS conversation holds no buffers."""

    def server_answered_tls(self) -> bool:
        return False


AnyFlow = Flow | DnsFlow


def _contiguous(pieces: dict[int, bytes]) -> bytes:
    """The bytes from offset 0 on, as far as they run without a gap (pieces may overlap)."""
    out = bytearray()
    for offset in sorted(pieces):
        if offset > len(out):
            break
        data = pieces[offset]
        if offset + len(data) > len(out):
            out += data[len(out) - offset :]
    return bytes(out)
