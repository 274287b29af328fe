"""The hot loop for pcap files: count packets of known connections without decoding them.

A multi-gigabyte install capture is almost all bulk TLS data in connections whose name and
verdict were settled in their first packets.  This loop walks the records straight out of
large read chunks and, from a handful of byte reads, recognises an untunnelled IPv4/IPv6
TCP or UDP packet of a connection the engine already knows, in a direction that needs no
more parsing, carrying no SYN/FIN/RST: such a packet only updates counters.  Ethernet and
Linux cooked (SLL, SLL2) frames may carry one or two VLAN tags (802.1Q, 802.1ad QinQ, the old
0x9100): trunk ports and hypervisor bridges tag a share of a capture's bulk traffic.  Everything
else (new connections, handshakes, DNS, ICMP, fragments, tunnels, IP options, flags, MPLS,
PPPoE, three or more tags) becomes a :class:`Frame` for the full decoder, so the results are
identical to the slow path's.
"""

from __future__ import annotations

import struct

from analyzer.engine import EVICT_EVERY, Engine, SettledCounter
from analyzer.progress import ProgressFn
from parsers.capture import PCAPNG_SHB, TS_MAX, TS_MIN, CaptureReader, Frame, PcapngSection
from parsers.framing import (
    EPB_HEADER,
    EPB_MIN,
    MAX_RECORD,
    PCAP_RECORD_HEADER,
    PCAPNG_BLOCK_HEADER,
    epb_struct,
    pcap_record_struct,
)
from parsers.ip import IPPacket
from parsers.link import ETH_QINQ, ETH_QINQ_OLD, ETH_VLAN, link_group
from parsers.tunnels import teredo_offset

# How to find the IP header per link type: (kind, where the type field is, where IP starts).
# kind 1: a big-endian EtherType (Ethernet at 12, SLL2 at 0, SLL at 14); 2: raw IP, read the version
# nibble; 3: BSD loopback, an address family in the writer's byte order; 4 and 5: IPv4 or IPv6 by link type.
_ETHERTYPE, _RAW, _NULL, _RAW4, _RAW6 = 1, 2, 3, 4, 5
_LINK = {
    1: (_ETHERTYPE, 12, 14),
    276: (_ETHERTYPE, 0, 20),
    113: (_ETHERTYPE, 14, 16),
    101: (_RAW, 0, 0),
    228: (_RAW4, 0, 0),  # LINKTYPE_IPV4: IPv4 whatever the version nibble says (the decoder then judges it)
    229: (_RAW6, 0, 0),
    12: (_RAW, 0, 0),
    14: (_RAW, 0, 0),
    0: (_NULL, 0, 4),
}
_NULL_V6 = frozenset((10, 24, 28, 30))
_TPIDS = frozenset((ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD))  # EtherTypes that say "a VLAN tag follows"
_MAX_TAGS = 2  # QinQ; a deeper stack is rare enough to leave to the full decoder
_TCP_NO_FAST_FLAGS = 0x07  # FIN, SYN, RST change connection state: always the full decoder
EVICT_MASK = EVICT_EVERY - 1  # EVICT_EVERY is a power of two


def _packet_fields(typeoff: int, ipoff: int) -> str:
    """One read for the common case: the EtherType, and the IPv4 and TCP fields the loop tests,
    read behind the record header (parsers.framing builds the whole struct) in a single
    ``unpack_from``.  Byte reads one at a time cost more than the rest of the per-packet work
    together.  Multi-byte packet fields come out in the file's byte order (the record header's),
    so the constants they are compared with are built the same way."""
    return (
        f"{typeoff}x"
        + "H"  # EtherType
        + f"{ipoff - typeoff - 2}x"
        + "B"  # version and IHL
        + "x"
        + "BB"  # total length, high and low byte
        + "2x"
        + "H"  # flags and fragment offset
        + "x"
        + "B"  # protocol
        + "2x"
        + "12s"  # addresses and ports: the fast-path key
        + "8x"
        + "BB"  # TCP data offset, TCP flags
    )


def _native(byte_order: str, value: int) -> int:
    """A big-endian 16-bit wire value as an ``H`` read in the file's byte order gives it."""
    return value if byte_order == ">" else int.from_bytes(value.to_bytes(2, "big"), "little")


def run_pcap(
    reader: CaptureReader, engine: Engine, progress: ProgressFn | None = None, size: int | None = None
) -> None:
    first = reader.take_first()
    if first is not None:
        engine.frame(first)
    linktype = reader.pcap_linktype
    assert linktype is not None
    kind, typeoff, ipoff = _LINK.get(linktype, (0, 0, 0))
    min_caplen = ipoff + 20  # at least a minimal IP header after the link header
    bo = reader.info.byte_order
    rec = pcap_record_struct(bo)
    unpack = rec.unpack_from
    # The one-read path needs an EtherType link and the whole struct inside the buffer; on other
    # links, and near the end of a chunk, the byte-by-byte path below runs instead.
    head = pcap_record_struct(bo, _packet_fields(typeoff, ipoff)) if kind == _ETHERTYPE else rec
    unpack_head = head.unpack_from
    head_size = head.size if kind == _ETHERTYPE else 1 << 62
    # Every field the one read took, and a whole TCP header.
    head_caplen = max(head.size - PCAP_RECORD_HEADER, ipoff + 40)
    eth_ipv4 = _native(bo, 0x0800)
    frag_mask = _native(bo, 0x3FFF)  # MF flag and fragment offset: any set means a fragment
    tags = _Tags(bo, kind, typeoff, ipoff, engine)
    tpids, tagged = tags.tpids, tags.lookup
    mul = 1 if reader.info.nanosecond else 1000
    settled_tcp, settled_udp = engine.settled_tcp, engine.settled_udp
    stats = engine.stats
    frame = engine.frame
    index = first.index if first is not None else 0
    packets = bytes_total = 0
    last_ns = stats.last_ns if stats.last_ns is not None else TS_MIN
    first_ns = stats.first_ns if stats.first_ns is not None else 1 << 63
    walk = reader.walk  # where the reader's first record left it
    corrupt: int | None = None
    while True:  # the window the reader's first record left, then each further one
        buf = walk.buf
        pos = walk.pos
        n = len(buf)
        stop_head = n - head_size
        while pos + 16 <= n:
            count = None
            # Where an option-less, unfragmented IPv4 header read by a struct read starts; 0: none.
            plain = 0
            if pos <= stop_head:
                (sec, frac, caplen, wirelen, etype, vihl, len_hi, len_lo, frag, proto, key, tcp_off, tcp_flags) = (
                    unpack_head(buf, pos)
                )
                if caplen > MAX_RECORD:
                    corrupt = caplen
                    break
                d = pos + 16
                end = d + caplen
                if end > n:
                    break
                index += 1
                pos = end
                if etype == eth_ipv4 and caplen >= head_caplen:
                    plain = ipoff if vihl == 0x45 and not frag & frag_mask else 0
                    if plain:
                        total = (len_hi << 8) | len_lo
                        if proto == 6 and 20 <= total <= caplen - ipoff:  # the usual: the whole packet captured
                            count = settled_tcp(key)
                            if count is not None:
                                hlen = (tcp_off >> 4) << 2
                                payload = total - 20 - hlen
                                if tcp_flags & _TCP_NO_FAST_FLAGS or hlen < 20 or payload < 0:
                                    count = None  # state changes, or a header the decoder refuses
                        elif proto == 17 and settled_udp(key) is None:
                            pass  # no known conversation (DNS never has one): nothing to test byte by byte
                        elif proto == 6 or proto == 17:
                            count, payload = _slow_lookup(buf, d, end, caplen, kind, typeoff, ipoff, min_caplen, engine)
                elif etype in tpids:
                    count, payload, plain, key, proto, len_hi, len_lo = tagged(buf, d, end, caplen)
                else:
                    count, payload = _slow_lookup(buf, d, end, caplen, kind, typeoff, ipoff, min_caplen, engine)
            else:
                sec, frac, caplen, wirelen = unpack(buf, pos)
                if caplen > MAX_RECORD:
                    corrupt = caplen
                    break
                d = pos + 16
                end = d + caplen
                if end > n:
                    break
                index += 1
                pos = end
                count, payload = _slow_lookup(buf, d, end, caplen, kind, typeoff, ipoff, min_caplen, engine)
            ts = sec * 1_000_000_000 + frac * mul
            # The flow decides whether it needs the packet; counted packets only add to the totals here.
            if count is not None and count(wirelen, payload, ts):
                if ts > last_ns:
                    last_ns = ts
                elif ts < first_ns:
                    first_ns = ts  # timestamps out of order (merged interfaces): still the capture's start
                packets += 1
                bytes_total += wirelen
                if not index & EVICT_MASK:  # the full decoder's schedule: by record number
                    engine.evict(ts)
                continue
            if plain:
                _hand_over_ipv4(engine, index, ts, linktype, caplen, wirelen, buf, d, plain, key, proto, len_hi, len_lo)
            elif caplen:
                frame(Frame(index, ts, linktype, caplen, wirelen, buf[d:end]))
            else:  # no packet bytes: it, and the identical copies behind it, as the reader takes them
                as_packet, run = reader.empty_run(buf, d - PCAP_RECORD_HEADER, n, PCAP_RECORD_HEADER)
                if as_packet:
                    frame(Frame(index, ts, linktype, 0, wirelen, b""))
                index += run - 1
                pos = d + (run - 1) * PCAP_RECORD_HEADER
        walk.pos = pos
        if progress is not None:
            progress(reader.file_bytes_read, size, index)
        if corrupt is not None or not walk.more():
            break
    reader.record_tail(0 if corrupt is not None else walk.leftover, index, corrupt)
    engine.add_counted(packets, bytes_total, first_ns, last_ns)


def _hand_over_ipv4(
    engine: Engine,
    index: int,
    ts: int,
    linktype: int,
    caplen: int,
    wirelen: int,
    buf: bytes,
    d: int,
    ipoff: int,
    key: bytes,
    proto: int,
    len_hi: int,
    len_lo: int,
    interface: int = 0,
) -> None:
    """A packet not counted, whose link and option-less IPv4 headers the one read already took:
    the engine gets the IP packet and skips its link and IP decoders.  A total length the record
    does not hold whole (0 from segmentation offload, short, or cut by the snap length) goes
    through the full decoder, which words those cases."""
    total = (len_hi << 8) | len_lo
    if 20 <= total <= caplen - ipoff:
        ip = d + ipoff
        if proto == 6 and total >= 40:
            # TCP with a header the decoder takes: the engine's TCP step straight from the bytes.
            sport, dport, seq, off, flags = _TCP_HEAD.unpack_from(buf, ip + 20)
            hlen = (off >> 4) << 2
            if 20 <= hlen <= total - 20:
                payload = buf[ip + 20 + hlen : ip + total]
                # The engine reads the link header (link_group) only if the segment opens a flow.
                engine.tcp4(index, ts, wirelen, linktype, buf, d, key[:4], key[4:8], sport, dport, seq, flags, payload)
                return
        elif proto == 17 and total >= 28:
            # UDP whose length field the decoder takes as it is (a DNS query or answer, mostly).
            sport, dport, ulen = _UDP_HEAD.unpack_from(buf, ip + 20)
            if 8 <= ulen <= total - 20:
                group = link_group(linktype, buf, d)
                payload = buf[ip + 28 : ip + 20 + ulen]
                engine.udp4(index, ts, wirelen, linktype, group, key[:4], key[4:8], sport, dport, payload)
                return
        ident = (buf[ip + 4] << 8) | buf[ip + 5]
        pkt = IPPacket(4, key[:4], key[4:8], proto, buf[ip + 20 : ip + total], ident, 0, False, False, buf[ip + 8])
        engine.ipv4_packet(index, ts, wirelen, linktype, pkt, link_group(linktype, buf, d))
    else:
        engine.frame(Frame(index, ts, linktype, caplen, wirelen, buf[d : d + caplen], interface))


_NOT_COUNTED: tuple[None, int] = (None, 0)
# Source port, destination port, sequence number, data offset, flags: the TCP header in one read.
_TCP_HEAD = struct.Struct("!HHI4xBB")
_UDP_HEAD = struct.Struct("!HHH")  # source port, destination port, length


class _Tags:
    """The one read for frames whose EtherType is a VLAN tag, on the link layouts the loops read
    in one struct (Ethernet, SLL, SLL2).

    Each tag puts four bytes (priority and VLAN id, then the next EtherType) between the link
    header and the IP header, so the same packet fields sit four bytes further per tag: one
    struct per depth reads them from the start of the packet.  A tagged packet then gets exactly
    the untagged packet's tests; what these structs cannot read (a record too short for them, a
    tag stack deeper than :data:`_MAX_TAGS`, IPv6, anything but a plain IPv4 TCP packet) goes to
    :func:`_slow_lookup`, which walks the tags byte by byte, and from there to the decoder.
    """

    __slots__ = ("_eth_ipv4", "_frag_mask", "_kind", "_reads", "_typeoff", "engine", "ipoff", "tpids")

    def __init__(self, byte_order: str, kind: int, typeoff: int, ipoff: int, engine: Engine) -> None:
        self.engine = engine
        self._kind, self._typeoff, self.ipoff = kind, typeoff, ipoff
        self.tpids = frozenset(_native(byte_order, t) for t in _TPIDS)
        self._eth_ipv4 = _native(byte_order, 0x0800)
        self._frag_mask = _native(byte_order, 0x3FFF)
        # Per depth: the struct, where IP starts, and the captured length it needs (every field it
        # reads, and a whole TCP header), as the untagged one read needs its head_caplen.
        reads = []
        for depth in range(1, _MAX_TAGS + 1):
            ip = ipoff + 4 * depth
            read = struct.Struct(byte_order + _packet_fields(ip - 2, ip))
            reads.append((read.unpack_from, ip, max(read.size, ip + 40)))
        self._reads = tuple(reads)

    def lookup(
        self, buf: bytes, d: int, end: int, caplen: int
    ) -> tuple[SettledCounter | None, int, int, bytes, int, int, int]:
        """(the settled counter or None, payload length, where a plain IPv4 header starts or 0, and
        its address-and-ports key, protocol and total length bytes) for the tagged packet at ``d``."""
        for unpack, ip, need in self._reads:
            if caplen < need:
                break
            etype, vihl, len_hi, len_lo, frag, proto, key, tcp_off, tcp_flags = unpack(buf, d)
            if etype == self._eth_ipv4:
                if vihl != 0x45 or frag & self._frag_mask:
                    return None, 0, 0, b"", 0, 0, 0  # IP options or a fragment: the decoder's
                total = (len_hi << 8) | len_lo
                if proto == 6 and 20 <= total <= caplen - ip:
                    count = self.engine.settled_tcp(key)
                    payload = 0
                    if count is not None:
                        hlen = (tcp_off >> 4) << 2
                        payload = total - 20 - hlen
                        if tcp_flags & _TCP_NO_FAST_FLAGS or hlen < 20 or payload < 0:
                            count = None
                    return count, payload, ip, key, proto, len_hi, len_lo
                if proto == 6 or proto == 17:
                    count, payload = self._slow_lookup(buf, d, end, caplen)
                    return count, payload, ip, key, proto, len_hi, len_lo
                return None, 0, ip, key, proto, len_hi, len_lo
            if etype not in self.tpids:
                break
        count, payload = self._slow_lookup(buf, d, end, caplen)
        return count, payload, 0, b"", 0, 0, 0

    def _slow_lookup(self, buf: bytes, d: int, end: int, caplen: int) -> tuple[SettledCounter | None, int]:
        ipoff = self.ipoff
        return _slow_lookup(buf, d, end, caplen, self._kind, self._typeoff, ipoff, ipoff + 20, self.engine)


def _slow_lookup(
    buf: bytes, d: int, end: int, caplen: int, kind: int, typeoff: int, ipoff: int, min_caplen: int, engine: Engine
) -> tuple[SettledCounter | None, int]:
    """The byte-by-byte test for records the usual path does not cover: IPv6, UDP, raw-IP and
    loopback links, packets not wholly captured, the end of a chunk, and behind up to
    :data:`_MAX_TAGS` VLAN tags on EtherType links.

    Returns (the connection's settled counter, payload length) for a packet of a known
    connection that the fast path may offer to it, with the payload length the full decoder
    would count: the captured bytes when the snap length cut the packet, all of them when the
    length field is 0 (segmentation offload).  Anything the decoders would refuse or treat
    otherwise (a bad header, a Teredo tunnel) is left to them: (None, 0).
    """
    ip = d + ipoff
    version = 0
    if caplen >= min_caplen:
        if kind == _ETHERTYPE:
            t = d + typeoff
            etype = (buf[t] << 8) | buf[t + 1]
            # Each tag: priority and VLAN id, then the next EtherType, in front of the IP header.  The
            # min_caplen test above leaves room for both tags' bytes; the version tests below then
            # test what is left behind them.
            for _ in range(_MAX_TAGS):
                if etype not in _TPIDS:
                    break
                etype = (buf[ip + 2] << 8) | buf[ip + 3]
                ip += 4
            if etype == 0x0800:
                version = 4
            elif etype == 0x86DD:
                version = 6
        elif kind == _RAW:
            version = buf[d] >> 4
        elif kind == _RAW4:
            version = 4
        elif kind == _RAW6:
            version = 6
        elif kind == _NULL:
            # The family is in the writer's byte order: read as parsers.link does.
            fam = buf[d] | buf[d + 1] << 8 | buf[d + 2] << 16 | buf[d + 3] << 24
            if fam > 0xFFFF:
                fam = buf[d] << 24 | buf[d + 1] << 16 | buf[d + 2] << 8 | buf[d + 3]
            version = 4 if fam == 2 else 6 if fam in _NULL_V6 else 0
    avail = end - ip  # IP bytes captured
    if version == 4:
        # Option-less and unfragmented, with room for a whole TCP header.
        if avail < 40 or buf[ip] != 0x45 or buf[ip + 6] & 0x3F or buf[ip + 7]:
            return _NOT_COUNTED
        total = (buf[ip + 2] << 8) | buf[ip + 3]
        if total == 0 or total > avail:
            ip_len = avail
        elif total < 20:
            return _NOT_COUNTED
        else:
            ip_len = total
        hdr, proto, key = 20, buf[ip + 9], buf[ip + 12 : ip + 24]
    elif version == 6:
        if avail < 60 or buf[ip] >> 4 != 6:
            return _NOT_COUNTED
        plen = (buf[ip + 4] << 8) | buf[ip + 5]
        ip_len = avail if plen == 0 else min(40 + plen, avail)
        hdr, proto, key = 40, buf[ip + 6], buf[ip + 8 : ip + 44]
    else:
        return _NOT_COUNTED
    t = ip + hdr
    seg = ip_len - hdr
    if proto == 6:
        count = engine.settled_tcp(key)
        if count is None or buf[t + 13] & _TCP_NO_FAST_FLAGS or seg < 20:
            return _NOT_COUNTED
        hlen = (buf[t + 12] >> 4) << 2
        if hlen < 20 or hlen > seg:
            return _NOT_COUNTED
        return count, seg - hlen
    if proto == 17:
        count = engine.settled_udp(key)
        if count is None or seg < 8:
            return _NOT_COUNTED
        ulen = (buf[t + 4] << 8) | buf[t + 5]
        if 8 <= ulen <= seg:
            payload = ulen - 8
        elif ulen != 0 and ulen < 8:
            return _NOT_COUNTED
        else:
            payload = seg - 8
        if payload >= 40:
            # Teredo runs on any port and is known by its content only: the engine decodes it as a tunnel.
            b0 = buf[t + 8]
            if (b0 == 0 or b0 >> 4 == 6) and teredo_offset(bytes(buf[t + 8 : t + 8 + payload])) is not None:
                return _NOT_COUNTED
        return count, payload
    return _NOT_COUNTED


class _NgLayout:
    """What the pcapng walk needs per interface, rebuilt whenever a section or interface block arrives.

    One struct reads an Enhanced Packet Block header and, at the link offsets of the first
    EtherType interface, the same IPv4/TCP fields as the pcap loop (and :class:`_Tags` those
    behind VLAN tags); packets of interfaces with another link layout take the byte-by-byte test
    instead.
    """

    def __init__(self, section: PcapngSection, engine: Engine) -> None:
        bo = section.byte_order
        self.byte_order = bo
        ether = [_LINK[i.linktype] for i in section.interfaces if _LINK.get(i.linktype, (0,))[0] == _ETHERTYPE]
        _, self.typeoff, self.ipoff = ether[0] if ether else _LINK[1]
        fields = _packet_fields(self.typeoff, self.ipoff)
        # The EPB header replaces the pcap record header in front of the packet fields.
        self.struct = epb_struct(bo, fields)
        self.head_caplen = max(struct.calcsize(bo + fields), self.ipoff + 40)
        self.eth_ipv4 = _native(bo, 0x0800)
        self.frag_mask = _native(bo, 0x3FFF)
        self.tags = _Tags(bo, _ETHERTYPE, self.typeoff, self.ipoff, engine)
        # Per interface: link type, link layout, whether the struct's offsets fit it, and the
        # timestamp conversion (ticks * mul // div + offset).
        self.interfaces = []
        for i in section.interfaces:
            kind, typeoff, ipoff = _LINK.get(i.linktype, (0, 0, 0))
            same = kind == _ETHERTYPE and (typeoff, ipoff) == (self.typeoff, self.ipoff)
            self.interfaces.append((i.linktype, kind, typeoff, ipoff, same, i.ts_mul, i.ts_div, i.ts_offset_ns))


def run_pcapng(
    reader: CaptureReader, engine: Engine, progress: ProgressFn | None = None, size: int | None = None
) -> None:
    """The pcapng counterpart of :func:`run_pcap` (Wireshark and dumpcap write pcapng by default).

    Enhanced Packet Blocks are walked straight out of the read chunks; every other block, and any
    packet block that is not plainly well-formed, goes through the reader's own block steps
    (``CaptureReader.pcapng_block``), so interfaces, byte-order changes and warnings are the reader's.
    """
    first = reader.take_first()
    if first is not None:
        engine.frame(first)
    section = reader.pcapng_section
    settled_tcp, settled_udp = engine.settled_tcp, engine.settled_udp
    stats = engine.stats
    frame = engine.frame
    index = section.packets
    packets = bytes_total = 0
    last_ns = stats.last_ns if stats.last_ns is not None else TS_MIN
    first_ns = stats.first_ns if stats.first_ns is not None else 1 << 63
    layout: _NgLayout | None = None
    walk = reader.walk  # where the reader's first packet left it
    # parsers.framing's sizes as locals: a local read is cheaper than a global one in this loop.
    block_header, epb_header, epb_min, max_record = PCAPNG_BLOCK_HEADER, EPB_HEADER, EPB_MIN, MAX_RECORD
    stopped = False
    while True:  # the window the reader's first packet left, then each further one
        buf = walk.buf
        pos = walk.pos
        n = len(buf)
        while pos + block_header <= n:
            if layout is None:
                layout = _NgLayout(section, engine)
                unpack_epb = layout.struct.unpack_from
                epb_size = layout.struct.size
                interfaces = layout.interfaces
                n_ifaces = len(interfaces)
                head_caplen, eth_ipv4, frag_mask, ipoff = (
                    layout.head_caplen,
                    layout.eth_ipv4,
                    layout.frag_mask,
                    layout.ipoff,
                )
                tpids, tagged = layout.tags.tpids, layout.tags.lookup
                last_if = -1  # the interface whose layout is unpacked below: none yet for this layout
            epb = False
            if pos + epb_size <= n:
                (
                    btype,
                    blen,
                    if_id,
                    ts_hi,
                    ts_lo,
                    caplen,
                    wirelen,
                    etype,
                    vihl,
                    len_hi,
                    len_lo,
                    frag,
                    proto,
                    key,
                    tcp_off,
                    tcp_flags,
                ) = unpack_epb(buf, pos)
                epb = (
                    btype == 6
                    and epb_min <= blen <= max_record
                    and not blen & 3
                    and if_id < n_ifaces
                    and caplen + epb_min <= blen
                )
            if not epb:
                # Any other block, or a packet block the reader must judge: its own steps, its own words.
                section.packets = index
                head = reader.pcapng_block_header(buf, pos)
                if head is None:
                    stopped = True
                    break
                btype, blen = head
                if btype == PCAPNG_SHB:
                    layout = None
                if pos + blen > n:
                    break
                got, pos = reader.pcapng_step(btype, blen, buf, pos, n)
                index = section.packets
                if btype == 1:
                    layout = None
                if got is not None:
                    frame(got)
                continue
            if pos + blen > n:
                break
            if if_id != last_if:  # a capture's packets nearly all come from one interface: unpack its layout once
                linktype, kind, typeoff, ipoff_i, same, mul, div, offset = interfaces[if_id]
                last_if = if_id
            # Without the floor division when it divides by one (µs and ns resolutions): 4 % of the
            # loop's time on a bulk pcapng.
            ts = ((ts_hi << 32) | ts_lo) * mul + offset if div == 1 else ((ts_hi << 32) | ts_lo) * mul // div + offset
            if not TS_MIN <= ts <= TS_MAX:
                ts = reader.clamp_timestamp(ts, index + 1)
            d = pos + epb_header
            end = d + caplen
            pos += blen
            index += 1
            count = None
            plain = 0  # as in run_pcap: where a plain IPv4 header starts
            payload = 0
            if same and caplen >= head_caplen:
                if etype == eth_ipv4:
                    plain = ipoff if vihl == 0x45 and not frag & frag_mask else 0
                    if plain:
                        total = (len_hi << 8) | len_lo
                        if proto == 6 and 20 <= total <= caplen - ipoff:
                            count = settled_tcp(key)
                            if count is not None:
                                hlen = (tcp_off >> 4) << 2
                                payload = total - 20 - hlen
                                if tcp_flags & _TCP_NO_FAST_FLAGS or hlen < 20 or payload < 0:
                                    count = None
                        elif proto == 17 and settled_udp(key) is None:
                            pass  # as in run_pcap
                        elif proto == 6 or proto == 17:
                            count, payload = _slow_lookup(
                                buf, d, end, caplen, kind, typeoff, ipoff_i, ipoff_i + 20, engine
                            )
                elif etype in tpids:
                    count, payload, plain, key, proto, len_hi, len_lo = tagged(buf, d, end, caplen)
                else:
                    count, payload = _slow_lookup(buf, d, end, caplen, kind, typeoff, ipoff_i, ipoff_i + 20, engine)
            elif kind:
                count, payload = _slow_lookup(buf, d, end, caplen, kind, typeoff, ipoff_i, ipoff_i + 20, engine)
            if count is not None and count(wirelen, payload, ts):
                if ts > last_ns:
                    last_ns = ts
                elif ts < first_ns:
                    first_ns = ts
                packets += 1
                bytes_total += wirelen
                if not index & EVICT_MASK:
                    engine.evict(ts)
                continue
            if plain:
                _hand_over_ipv4(
                    engine, index, ts, linktype, caplen, wirelen, buf, d, plain, key, proto, len_hi, len_lo, if_id
                )
            elif caplen:
                frame(Frame(index, ts, linktype, caplen, wirelen, buf[d:end], if_id))
            else:  # no packet bytes: it, and the identical copies behind it, as the reader takes them
                as_packet, run = reader.empty_run(buf, pos - blen, n, blen)
                if as_packet:
                    frame(Frame(index, ts, linktype, 0, wirelen, b"", if_id))
                index += run - 1
                pos += (run - 1) * blen
        walk.pos = pos
        if progress is not None:
            progress(reader.file_bytes_read, size, index)
        if stopped or not walk.more():
            break
    section.packets = index
    if stopped:
        reader.pcapng_stopped()
    else:
        reader.pcapng_tail(walk.leftover)
    engine.add_counted(packets, bytes_total, first_ns, last_ns)
