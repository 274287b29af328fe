"""Live capture: raw frames from scapy's Linux listen socket straight into the engine.

No packet is dissected by scapy: ``_recv_raw`` hands over the frame's bytes (VLAN tags put back from
the kernel's auxiliary data, timestamps from ``SO_TIMESTAMPNS``), the frame goes to
:meth:`analyzer.engine.Engine.frame` (the path every record of a capture file takes) and, when asked,
to the pcap being written.  The capture filter is compiled by libpcap (through scapy) and runs in
the kernel, so filtered-out packets never cost a system call.

``-i any`` works like ``tcpdump -i any``: one unbound ``SOCK_DGRAM`` packet socket, each packet's
link header replaced by a Linux SLL2 header built from its ``sockaddr_ll`` (protocol, interface,
hardware type, packet type, source address).  Its filter is compiled for raw IP (the data a
``SOCK_DGRAM`` socket sees starts at the network header), so link-level filter terms are refused
there.  On loopback each packet is seen twice by a packet socket (going out and coming in); the
outgoing copy is skipped, as libpcap does.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from analyzer.engine import Engine
from analyzer.errors import CaptureError, OptionsError
from analyzer.flows import AnyFlow
from analyzer.naming import targets
from analyzer.report import Report
from analyzer.sources.segments import SegmentWriter
from analyzer.verdicts import action, verdict
from parsers.capture import CaptureInfo as ReaderInfo
from parsers.capture import Frame
from parsers.link import LINKTYPE_LINUX_SLL2

ETH_P_ALL: Final = 0x0003
SOL_PACKET: Final = 263
PACKET_STATISTICS: Final = 6
PACKET_AUXDATA: Final = 8
SO_TIMESTAMPNS: Final = 35
SO_RCVBUFFORCE: Final = 33
ARPHRD_LOOPBACK: Final = 772
LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
SNAPLEN: Final = 262144
# A big kernel queue is what keeps a burst from being dropped while Python decodes a slow packet.
RCVBUF: Final = 64 << 20
DRAIN_MAX: Final = 65536  # packets discarded at most when a filter goes on (see drain)
_STATS: Final = struct.Struct("=II")  # struct tpacket_stats: packets, drops (reset by each read)
_SLL2: Final = struct.Struct("!HHIHBB8s")
_ARPHRD_LINKTYPE: Final = {1: LINKTYPE_ETHERNET, ARPHRD_LOOPBACK: LINKTYPE_ETHERNET}


@dataclass(frozen=True, slots=True)
class LiveRow:
    """One line of the live view: a destination and what happened to its connections so far."""

    name: str
    protocol: str
    port: int
    verdict: str
    action: str  # Allow or Deny
    connections: int


@dataclass(frozen=True, slots=True)
class LiveStatus:
    interface: str
    seconds: float
    packets: int
    rate: float  # packets per second over the last interval
    drops: int
    rows: tuple[LiveRow, ...]


class _Socket:
    """The listen socket: scapy's ``L2ListenSocket`` on one interface, or an unbound cooked one for ``any``."""

    def __init__(self, interface: str, bpf: str | None) -> None:
        from scapy.arch.linux import L2ListenSocket
        from scapy.error import Scapy_Exception

        self.interface = interface
        self._names: dict[str, int] = {}
        self._lo: set[str] = set()
        if interface != "any":
            try:
                socket.if_nametoindex(interface)
            except OSError:
                raise OptionsError(f"no such interface {interface!r}") from None
        try:
            if interface == "any":
                self.sock: Any = _AnyListenSocket(bpf)
                self.linktype = LINKTYPE_LINUX_SLL2
            else:
                # scapy warns that it cannot pick a dissector for loopback: it dissects nothing here.
                logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
                self.sock = L2ListenSocket(iface=interface, filter=bpf, promisc=False)
                self.linktype = _ARPHRD_LINKTYPE.get(self.sock.ins.getsockname()[3], LINKTYPE_ETHERNET)
                if self.sock.ins.getsockname()[3] == ARPHRD_LOOPBACK:
                    self._lo.add(interface)
        except PermissionError:
            raise CaptureError(f"capturing on {interface} needs root or CAP_NET_RAW") from None
        except Scapy_Exception as exc:
            raise OptionsError(f"capture filter {bpf!r}: {str(exc).splitlines()[0]}") from None
        ins: socket.socket = self.sock.ins
        try:
            ins.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except OSError:
            ins.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        ins.setblocking(False)
        self.drops = 0
        self.kernel_packets = 0
        self._any = interface == "any"

    def fileno(self) -> int:
        return int(self.sock.ins.fileno())

    def recv(self) -> tuple[int, bytes] | None:
        """The next frame (timestamp in ns, bytes), or None for one to skip; BlockingIOError when none is queued."""
        data, sa_ll, ts = self.sock._recv_raw(self.sock.ins, SNAPLEN)
        ifname, proto, pkttype, hatype, addr = sa_ll
        if pkttype == socket.PACKET_OUTGOING and (hatype == ARPHRD_LOOPBACK or ifname in self._lo):
            return None  # the same packet comes in again on loopback
        if ts is None:
            ts = time.time()
        ts_ns = round(ts * 1_000_000) * 1000  # scapy's float seconds are exact to the microsecond only
        if self._any:
            index = self._names.get(ifname)
            if index is None:
                index = self._names[ifname] = socket.if_nametoindex(ifname)
            data = _SLL2.pack(proto, 0, index, hatype, pkttype, len(addr), addr[:8]) + data
        return ts_ns, data

    def statistics(self) -> None:
        """Add the kernel's counts since the last read (PACKET_STATISTICS resets them)."""
        packets, drops = _STATS.unpack(self.sock.ins.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size))
        self.kernel_packets += packets
        self.drops += drops

    def close(self) -> None:
        self.sock.close()


def drain(sock: socket.socket, most: int = DRAIN_MAX) -> int:
    """Discard what a packet socket holds: those packets came before its filter was on.  A packet socket
    takes every frame from the moment it is made (for ``any``, Python cannot make it unbound and bind it
    after the filter, as libpcap does), so another program's traffic got in ahead of the filter and a
    capture with ``--filter`` showed flows the filter excludes.  Bounded: traffic the filter takes may keep
    coming.  Returns how many were discarded."""
    sock.setblocking(False)
    dropped = 0
    try:
        while dropped < most:
            sock.recv(1)  # one datagram; the rest of it is discarded with it
            dropped += 1
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return dropped


def _any_socket_class() -> type[Any]:
    from scapy.arch.common import compile_filter
    from scapy.arch.linux import L2ListenSocket
    from scapy.data import SO_ATTACH_FILTER
    from scapy.libs.structures import sock_fprog

    class AnyListenSocket(L2ListenSocket):
        """Every interface, cooked (no link header): what ``tcpdump -i any`` opens."""

        def __init__(self, bpf: str | None) -> None:
            self.iface = "any"
            self.type = ETH_P_ALL
            self.promisc = False
            self.outs = None  # type: ignore[assignment]
            self.ins = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
            if bpf:
                prog = compile_filter(bpf, linktype=LINKTYPE_RAW)
                self.ins.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, sock_fprog(prog.bf_len, prog.bf_insns))
                drain(self.ins)
            # Timestamps from the kernel, but no PACKET_AUXDATA: scapy would insert a VLAN tag at byte
            # 12 of the frame, which for a cooked socket is inside the IP header.
            self.ins.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.auxdata_available = True

    return AnyListenSocket


def _AnyListenSocket(bpf: str | None) -> Any:  # a class made when scapy is first needed
    return _any_socket_class()(bpf)


class LiveCapture:
    """A capture running on ``interface``: frames into an engine, and into ``write`` when given."""

    def __init__(
        self,
        interface: str = "any",
        *,
        bpf: str | None = None,
        write: str | os.PathLike[str] | None = None,
        rotate: int | None = None,
    ) -> None:
        if rotate is not None and rotate < 1024:
            raise OptionsError(f"--rotate {rotate}: a segment must hold at least 1024 bytes")
        if rotate is not None and write is None:
            raise OptionsError("--rotate needs a file to write (-w)")
        if write is not None:
            folder = Path(write).parent
            if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
                raise OptionsError(f"-w {write}: cannot write in {folder}")
            if Path(write).is_dir():
                raise OptionsError(f"-w {write}: is a directory; give a file name")
        self._socket = _Socket(interface, bpf or None)
        self.interface = interface
        self.path = None if write is None else str(write)
        self.linktype = self._socket.linktype
        self._writer = None if write is None else SegmentWriter(write, self.linktype, rotate)
        self._done: dict[tuple[str, str, int, str], int] = {}
        # The import is here because analyzer.pipeline loads the offline fast path, which a live
        # capture never runs; the rows are built as flows finish, exactly as for a file.
        from analyzer.pipeline import FlowRows
        from analyzer.spill import SpillDir

        self._rows = FlowRows(SpillDir())
        self.engine = Engine(on_flow_done=self._flow_done)
        self.packets = 0
        self._started = time.monotonic()
        self._closed = False

    # ------------------------------------------------------------------ running

    def run(
        self, stop: Callable[[], bool], tick: Callable[[LiveStatus], None] | None = None, every: float = 1.0
    ) -> None:
        """Capture until ``stop()`` says so (asked at least every 0.1 s), then take what the kernel still holds.

        ``tick`` gets a :class:`LiveStatus` every ``every`` seconds; the pcap is flushed as often."""
        sock, engine, writer = self._socket, self.engine, self._writer
        linktype = self.linktype
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        next_tick = time.monotonic() + every
        last_packets = self.packets
        stopping = False
        while True:
            got = 0
            try:
                while got < 4096:
                    frame = sock.recv()
                    if frame is None:
                        continue
                    got += 1
                    self.packets += 1
                    ts_ns, data = frame
                    if writer is not None:
                        writer.write(ts_ns, data, len(data))
                    engine.frame(Frame(self.packets, ts_ns, linktype, len(data), len(data), data))
            except BlockingIOError:
                if stopping:
                    break
                poller.poll(100)
            now = time.monotonic()
            if now >= next_tick:
                if writer is not None:
                    writer.flush()
                sock.statistics()
                if tick is not None:
                    tick(self.status(now, (self.packets - last_packets) / (now - next_tick + every)))
                last_packets = self.packets
                next_tick = now + every
            if not stopping and stop():
                stopping = True  # one more pass empties the socket's queue

    def status(self, now: float | None = None, rate: float = 0.0) -> LiveStatus:
        now = time.monotonic() if now is None else now
        return LiveStatus(self.interface, now - self._started, self.packets, rate, self._socket.drops, self.rows())

    def _flow_done(self, flow: AnyFlow) -> None:
        self._rows.flow_done(flow)
        for key in _keys(flow):
            self._done[key] = self._done.get(key, 0) + 1

    def rows(self) -> tuple[LiveRow, ...]:
        """Destinations so far, blocked first: finished connections and those still open."""
        counts = dict(self._done)
        open_flows: list[tuple[AnyFlow, bool]] = [*self.engine.flows.values(), *self.engine.dns_flows.values()]
        for flow, from_client in open_flows:
            for key in _keys(flow) if from_client else ():  # each open flow is there once per direction
                counts[key] = counts.get(key, 0) + 1
        rows = [LiveRow(n, p, port, v, action(v), c) for (n, p, port, v), c in counts.items()]
        rows.sort(key=lambda r: (r.action != "Deny", r.name, r.port, r.protocol, r.verdict))
        return tuple(rows)

    # ------------------------------------------------------------------ ending

    def close(self) -> None:
        """Stop capturing: the socket closed, the last segment closed (and renamed into place)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._socket.statistics()
        finally:
            self._socket.close()
            if self._writer is not None:
                self._writer.close()

    @property
    def drops(self) -> int:
        return self._socket.drops

    @property
    def segments(self) -> list[Path]:
        return [] if self._writer is None else list(self._writer.segments)

    def report(self) -> Report:
        """The capture's report before its review (:func:`analyzer.api.finish_capture` reviews it)."""
        from analyzer.pipeline import build_report

        self.close()
        info = ReaderInfo(format="pcap", link_types={self.linktype})
        if self.drops:
            info.warnings.append(
                f"the kernel dropped {self.drops} of {self.drops + self._socket.kernel_packets} packets on "
                f"{self.interface} (PACKET_STATISTICS): connections may be missing or look broken"
            )
        return build_report(self.engine, self._rows, info, self.path or f"live:{self.interface}")


def _keys(flow: AnyFlow) -> list[tuple[str, str, int, str]]:
    v, _ = verdict(flow)
    out = []
    for t in targets(flow):
        if t.protocol == "DNS":
            continue
        out.append((t.fqdn or t.address or flow.server, t.protocol, t.port, v))
    return out
