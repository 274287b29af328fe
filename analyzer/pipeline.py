"""A capture in, a :class:`analyzer.report.Report` out, before its review.

``analyze(path)`` streams the capture through the engine and returns the capture facts,
warnings and the tables summary, flows, http, dns, parse_errors and observations
(:class:`analyzer.frames.Table`: rows with the schema of :mod:`analyzer.schema`, as Arrow
or pandas on demand).  The review columns are still empty: front ends call
:func:`analyzer.api.analyze`, which reviews the report (noise, allowlist) before returning it.
Observations from other sources (firewall logs) can join at :func:`analyzer.summary.summarize`,
which only needs the observations table.

Nothing grows with the number of connections: each flow becomes its rows as it finishes
(:class:`FlowRows`), the summary is folded from them there and then, and the row tables wait on
disk past a few thousand rows (analyzer.spill), to be streamed by the renderers.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any, BinaryIO

from analyzer.engine import Engine
from analyzer.fastpath import run_pcap, run_pcapng
from analyzer.flows import PROTO_TCP, AnyFlow
from analyzer.frames import Table
from analyzer.naming import targets
from analyzer.progress import ProgressFn
from analyzer.report import CaptureInfo, Report
from analyzer.spill import SPILL_ROWS, RowSink, SpillDir
from analyzer.summary import Summarizer
from analyzer.verdicts import verdict
from parsers.capture import CHUNK, CaptureReader
from parsers.capture import CaptureInfo as ReaderInfo
from parsers.link import LINK_NAMES


class FlowRows:
    """Each finished flow becomes its rows at once (``flow_done``, the engine's callback): a flows
    row, http rows and observations, written to their :class:`RowSink` (to disk past ``spill_rows``
    rows) and folded into the summary.  Rows are keyed by the flow's start and id, so the tables
    list connections in start order whatever order they finished in."""

    def __init__(self, spill_dir: SpillDir, spill_rows: int = SPILL_ROWS) -> None:
        self.spill_dir = spill_dir
        self.spill_rows = spill_rows
        self.flows = RowSink("flows", spill_dir, spill_rows)
        self.http = RowSink("http", spill_dir, spill_rows)
        self.observations = RowSink("observations", spill_dir, spill_rows)
        self.summary = Summarizer()

    def flow_done(self, f: AnyFlow) -> None:
        v, detail = verdict(f)
        tgts = targets(f)
        protocol, port, fqdn, source, via, _requests, _address = tgts[0]
        start = f.first_ns
        uid = f.uid
        client, cport, server, sport = f.client, f.cport, f.server, f.sport
        transport = "tcp" if f.proto == PROTO_TCP else "udp"
        c_packets, s_packets = f.c_packets, f.s_packets
        total_bytes = f.c_bytes + f.s_bytes
        last = f.last_ns
        hosts = f.host_headers
        # One dict literal per row, in the schema's column order (the JSON keeps it): a row is built
        # for every connection, and merging shared parts with ** cost a third of this method.
        self.flows.add(
            (start, uid),
            {
                "ts": start,
                "uid": uid,
                "src": client,
                "sport": cport,
                "dst": server,
                "dport": sport,
                "transport": transport,
                "protocol": protocol,
                "port": port,
                "fqdn": fqdn,
                "source": source,
                "verdict": v,
                "detail": detail,
                "packets": c_packets + s_packets,
                "bytes": total_bytes,
                "via": via,
                "last_ts": last,
                "sni": f.sni,
                "http_host": hosts[0] if hosts else None,
                "http_hosts": list(hosts) if hosts else [],
                "requests": f.requests,
                "http_status": f.http_status,
                "ech": f.ech,
                "dns_name": f.dns_name,
                "service": f.service,
                "client_packets": c_packets,
                "server_packets": s_packets,
                "client_payload": f.c_payload,
                "server_payload": f.s_payload,
            },
        )
        if protocol == "DNS":
            return  # lookups are reported in the dns table, not as egress connections
        # A broadcast address never answers from itself (replies come from each host's own
        # address, another flow): an answered flow is a unicast one behind an odd MAC.
        link_broadcast = f.link_group and not s_packets
        http = self.http if protocol in ("HTTP", "HTTP-CONNECT", "SOCKS") else None
        observations = self.observations
        fold = self.summary.fold
        nbytes = total_bytes  # the connection's bytes count once, with its first name
        for i, (protocol, port, fqdn, source, via, requests, address) in enumerate(tgts):
            key = (start, uid, i)
            if http is not None:
                http.add(
                    key,
                    {
                        "ts": start,
                        "uid": uid,
                        "src": client,
                        "sport": cport,
                        "dst": server,
                        "dport": sport,
                        "transport": transport,
                        "host": fqdn,
                        "port": port,
                        "source": source,
                        "requests": requests,
                        "via": via,
                    },
                )
            # Through a proxy the connection's own address is the proxy's (it is in via).
            if address is None and not via:
                address = server
            # The observations columns a log can fill too (analyzer/sources): a capture knows its client.
            observations.add(
                key,
                {
                    "protocol": protocol,
                    "port": port,
                    "fqdn": fqdn,
                    "address": address,
                    "count": requests,
                    "bytes": nbytes,
                    "verdict": v,
                    "first_seen": start,
                    "last_seen": last,
                    "source": source,
                    "via": via,
                    "detail": detail,
                    "link_broadcast": link_broadcast,
                    "source_kind": "capture",
                    "client": client,
                    "client_port": cport,
                    "verdict_reason": None,
                    "rule": None,
                    "confirmed": None,
                    "conflict": None,
                },
            )
            # Folded from the values at hand, not read back from the row (Summarizer.fold).
            fold(protocol, port, fqdn, address, requests, nbytes, v, start, last, source, via, detail, key)
            nbytes = 0

    def held(self) -> int:
        """Rows held in memory now, across the three tables."""
        return self.flows.held() + self.http.held() + self.observations.held()


def _dns_rows(engine: Engine, sink: RowSink) -> Table:
    """The DNS table, one row per (name, type, service) in that order; each entry leaves the log as
    its row is written, so the log and the rows are never both whole in memory."""
    unanswered = engine.dns.unanswered()
    entries = engine.dns.entries
    add = sink.add
    for i, key in enumerate(sorted(entries)):
        e = entries.pop(key)
        queries, responses = e.queries, e.responses
        add(
            (i,),
            {
                "qname": e.qname,
                "qtype": e.qtype,
                "rcode": e.rcode,
                "answers": sorted(e.answers),
                "cname_chain": e.cname_chain or [],
                "count": queries if queries >= responses else responses,  # max() without its call
                "queries": queries,
                "responses": responses,
                "unanswered": unanswered.get(key, 0),
                "servers": sorted(e.servers),
                "service": e.service,
                "first_seen": e.first_seen,
                "last_seen": e.last_seen,
                "noise": None,
                "noise_reason": None,
                "status": None,
            },
        )
    return Table("dns", sink.finish())


def tune_gc_for_batch_run() -> None:
    """For a process that runs one analysis and exits (the CLI, a batch worker), not for a server.

    A capture with ten thousand connections creates hundreds of thousands of small container
    objects; with CPython's default threshold (700) the cyclic collector runs thousands of times
    and costs a fifth of the run while finding nothing: an analysis makes no reference cycles
    (tests/analyzer/test_no_cycles.py holds every fixture capture to that).  Even a threshold of
    50,000 still cost 22 % of the CPU time of a 300,000-connection SYN scan (14.0 s against 10.8 s)
    and 6 % on the handshake bench capture: each young collection walks the tables' row dicts and
    the open flows, tens of thousands of long-lived containers.  A million new containers between
    collections made no difference to peak RSS (177 against 182 MB on that scan) and bounds the
    garbage a future cycle could hold.  Never rescan what was imported at start-up.
    Once per process: a batch worker calls it for every capture, and freezing again would also
    freeze the cyclic garbage of the previous analysis, which then could never be collected.
    """
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.freeze()
    gc.set_threshold(1_000_000, 20, 10)


_gc_tuned = False


def open_capture(path: str | os.PathLike[str]) -> tuple[BinaryIO, int | None]:
    """Open a capture path (``-`` is stdin); return the stream and its size when known."""
    if str(path) == "-":
        return sys.stdin.buffer, None
    fh = open(path, "rb")  # noqa: SIM115 - closed by analyze()
    try:
        size: int | None = os.fstat(fh.fileno()).st_size
    except OSError:
        size = None
    return fh, size


def analyze(path: str | os.PathLike[str], progress: ProgressFn | None = None, fast: bool = True) -> Report:
    stream, size = open_capture(path)
    try:
        return analyze_stream(stream, str(path), size, progress, fast)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def analyze_stream(
    stream: BinaryIO,
    name: str,
    size: int | None = None,
    progress: ProgressFn | None = None,
    fast: bool = True,
    chunk_size: int = CHUNK,
    spill_rows: int = SPILL_ROWS,
) -> Report:
    """``fast=False`` sends every packet through the full decoder (the reference the fast path is
    tested against); ``chunk_size`` is how much is read at a time; a table holds ``spill_rows`` rows
    in memory before it writes them to the report's spill directory (analyzer.spill)."""
    reader = CaptureReader(stream, name=name, chunk_size=chunk_size)
    spill_dir = SpillDir()
    rows = FlowRows(spill_dir, spill_rows)
    engine = Engine(on_flow_done=rows.flow_done)
    if fast and reader.info.format == "pcap":
        run_pcap(reader, engine, progress, size)
    elif fast and reader.info.format == "pcapng":
        run_pcapng(reader, engine, progress, size)
    elif progress is None:
        engine.feed(reader)
    else:
        for i, frame in enumerate(reader, 1):
            engine.frame(frame)
            if i % 20000 == 0:
                progress(reader.file_bytes_read, size, i)
        progress(reader.file_bytes_read, size, engine.stats.packets)
    return build_report(engine, rows, reader.info, name)


def build_report(engine: Engine, rows: FlowRows, info: ReaderInfo, name: str) -> Report:
    """The report of an engine fed to the end whose finished flows went to ``rows``: a file's
    (``info`` is its reader's) or a live capture's."""
    engine.close()
    st = engine.stats
    link_types = sorted(info.link_types | st.link_types)
    capture = CaptureInfo(
        path=name,
        format=info.format,
        compressed=info.compressed,
        nanosecond=info.nanosecond,
        link_types=tuple(link_types),
        link_type_names=tuple(LINK_NAMES.get(lt, f"linktype-{lt}") for lt in link_types),
        packets=st.packets,
        bytes=st.bytes,
        first_ts=st.first_ns,
        last_ts=st.last_ns,
        truncated=info.truncated,
        parse_errors=st.parse_errors,
        non_ip_packets=st.non_ip,
        undecoded_link_type_packets=st.skipped_linktype,
        flows=engine.finished,
        fragments_dropped=engine.fragments.dropped,
    )
    warnings = [*info.warnings, *engine.warnings, *engine.shed_warnings(), *rows.summary.warnings()]
    if st.parse_errors > len(engine.errors):
        warnings.append(f"{st.parse_errors} parse errors; the table keeps the first {len(engine.errors)}")
    return Report(
        capture=capture,
        warnings=tuple(warnings),
        summary=rows.summary.table(),
        flows=Table("flows", rows.flows.finish()),
        http=Table("http", rows.http.finish()),
        dns=_dns_rows(engine, RowSink("dns", rows.spill_dir, rows.spill_rows)),
        parse_errors=Table("parse_errors", [vars_of(e) for e in engine.errors]),
        observations=Table("observations", rows.observations.finish()),
        excess=Table("excess", []),
        lint=Table("lint", []),
        spill=rows.spill_dir,
    )


def vars_of(e: Any) -> dict[str, Any]:
    return {"frame": e.frame, "layer": e.layer, "reason": e.reason}
