"""IPv4 and IPv6 fragment reassembly, bounded in datagrams held and in capture time."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from parsers.ip import IPPacket

MAX_DATAGRAMS = 1024
MAX_DATAGRAM = 65535 + 40
TIMEOUT_NS = 60 * 1_000_000_000


@dataclass
class _Pending:
    first_ns: int
    parts: dict[int, bytes] = field(default_factory=dict)
    total: int | None = None
    head: IPPacket | None = None  # the offset-0 fragment, whose header the datagram keeps


class Reassembler:
    def __init__(self) -> None:
        self._pending: OrderedDict[tuple[int, bytes, bytes, int, int], _Pending] = OrderedDict()
        self.dropped = 0  # datagrams given up on (timeout, overflow, hostile overlap)

    def add(self, pkt: IPPacket, ts_ns: int) -> IPPacket | None:
        """Add a fragment; return the whole datagram once every byte has arrived."""
        key = (pkt.version, pkt.src, pkt.dst, pkt.proto, pkt.frag_id)
        entry = self._pending.get(key)
        if entry is None or ts_ns - entry.first_ns > TIMEOUT_NS:
            if entry is not None:
                self.dropped += 1
            entry = _Pending(ts_ns)
            self._pending[key] = entry
            while len(self._pending) > MAX_DATAGRAMS:
                self._pending.popitem(last=False)
                self.dropped += 1
        end = pkt.frag_offset + len(pkt.payload)
        if end > MAX_DATAGRAM:
            del self._pending[key]
            self.dropped += 1
            return None
        entry.parts.setdefault(pkt.frag_offset, pkt.payload)
        if pkt.frag_offset == 0:
            entry.head = pkt
        if not pkt.more_fragments:
            entry.total = end
        if entry.total is None or entry.head is None:
            return None
        data = bytearray()
        for off in sorted(entry.parts):
            if off > len(data):
                return None  # a gap remains
            seg = entry.parts[off]
            if off + len(seg) > len(data):
                data += seg[len(data) - off :]
        if len(data) < entry.total:
            return None
        del self._pending[key]
        head = entry.head
        return IPPacket(head.version, head.src, head.dst, head.proto, bytes(data[: entry.total]), ttl=head.ttl)
