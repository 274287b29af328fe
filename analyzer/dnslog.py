"""DNS bookkeeping: the lookups table and the address -> name map used to name connections.

A connection to an address is named after the question the client asked (not the CNAME
target) whose A/AAAA answer, followed through the CNAME chain, produced that address most
recently before the connection started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from analyzer.smallset import Values
from analyzer.smallset import add as _with
from parsers.dns import (
    QTYPE_NAMES,
    RCODE_NAMES,
    TYPE_A,
    TYPE_AAAA,
    TYPE_CNAME,
    DnsMessage,
    rcode_name,
    type_name,
)

# Bound the name map: a capture of a resolver under load could otherwise grow it without limit.
MAX_ADDRESSES = 1_000_000
MAX_PENDING_QUERIES = 100_000


def normalize_name(name: str) -> str:
    """Lower case without the trailing dot; the root itself is "."."""
    return name.rstrip(".").lower() or "."


@dataclass(slots=True)
class DnsEntry:
    qname: str
    qtype: str
    service: str
    queries: int = 0
    responses: int = 0
    rcode: str | None = None
    answers: Values = ()
    cname_chain: list[str] | None = None  # None until a chain is seen: most names have none
    servers: Values = ()
    first_seen: int = 0
    last_seen: int = 0


class FlowEnds(Protocol):
    """What the log reads of a flow: a Flow, a DnsFlow, or :class:`_Ends`."""

    @property
    def service(self) -> str | None: ...
    @property
    def client(self) -> str: ...
    @property
    def cport(self) -> int: ...
    @property
    def server(self) -> str: ...


class _Ends:
    """A flow's ends and service given one by one (:meth:`DnsLog.add`)."""

    __slots__ = ("client", "cport", "server", "service")

    def __init__(self, service: str, client: str, cport: int, server: str) -> None:
        self.service = service
        self.client = client
        self.cport = cport
        self.server = server


class DnsLog:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], DnsEntry] = {}
        self.address_names: dict[str, str] = {}  # address -> the name it was last an answer for
        # (client, client port, server, id) -> key of the pending question, to count unanswered ones.
        self._pending: dict[tuple[str, int, str, int], tuple[str, str, str]] = {}

    def _entry(self, qname: str, qtype: str, service: str, ts_ns: int) -> DnsEntry:
        key = (qname, qtype, service)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = DnsEntry(qname, qtype, service, first_seen=ts_ns, last_seen=ts_ns)
        elif ts_ns > entry.last_seen:
            entry.last_seen = ts_ns
        return entry

    def add(
        self,
        msg: DnsMessage,
        ts_ns: int,
        service: str,
        client: str,
        cport: int,
        server: str,
    ) -> None:
        """Record one message; ``client``/``server`` are the flow's ends (not the packet's)."""
        self.flow_message(_Ends(service, client, cport, server), msg, ts_ns)

    def flow_message(self, flow: FlowEnds, msg: DnsMessage, ts_ns: int) -> None:
        """Record one message of ``flow`` (a DNS sink, :data:`analyzer.flows.DnsSink`): :meth:`add`
        with the flow's ends and service read here, so the engine hands a message over in one call."""
        questions = msg.questions
        if not questions:
            return
        service = flow.service or "dns"
        server = flow.server
        is_response = msg.is_response
        # mDNS and LLMNR put several questions in one message; unicast DNS has one.
        if len(questions) > 1:
            for extra in questions[1:]:
                e = self._entry(normalize_name(extra.name), type_name(extra.qtype), service, ts_ns)
                if server not in e.servers:
                    e.servers = _with(e.servers, server)
                if is_response:
                    e.responses += 1
                else:
                    e.queries += 1
        # The first question's entry as _entry finds it, written out: this runs for every message.
        q = questions[0]
        qname = q.name.rstrip(".").lower() or "."  # normalize_name
        qtype = QTYPE_NAMES.get(q.qtype) or type_name(q.qtype)
        key = (qname, qtype, service)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = DnsEntry(
                qname, qtype, service, servers=(server,), first_seen=ts_ns, last_seen=ts_ns
            )
        else:
            if ts_ns > entry.last_seen:
                entry.last_seen = ts_ns
            if server not in entry.servers:
                entry.servers = _with(entry.servers, server)
        pkey = (flow.client, flow.cport, server, msg.id)
        if not is_response:
            entry.queries += 1
            if len(self._pending) < MAX_PENDING_QUERIES:
                self._pending[pkey] = key
            return
        self._pending.pop(pkey, None)
        entry.responses += 1
        entry.rcode = RCODE_NAMES.get(msg.rcode) or rcode_name(msg.rcode)
        # Follow the CNAME chain from the question; answers for other owners are not ours.  Most
        # answers are addresses of the question's own name: those name their address at once, and the
        # maps of aliases and of other owners' addresses are made only when an answer needs them (the
        # chain's addresses go in after the loop, after every own one, as when both waited for it).
        name_connections = service == "dns"  # mDNS and LLMNR answers name no connection
        address_names = self.address_names
        cnames: dict[str, str] | None = None
        addrs: dict[str, list[str]] | None = None
        for rr in msg.answers:
            value = rr.value
            if value is None:
                continue
            rtype = rr.rtype
            if rtype == TYPE_CNAME:
                target = normalize_name(value)
                if cnames is None:
                    cnames = {}
                cnames.setdefault(normalize_name(rr.name), target)
                entry.answers = _with(entry.answers, f"CNAME={target}")
            elif rtype in (TYPE_A, TYPE_AAAA):
                # Usually the question's own name (the parser hands the same string): no need to
                # normalize it again.
                owner = qname if rr.name == q.name else normalize_name(rr.name)
                if owner == qname:
                    if name_connections and (value in address_names or len(address_names) < MAX_ADDRESSES):
                        address_names[value] = qname
                else:
                    if addrs is None:
                        addrs = {}
                    addrs.setdefault(owner, []).append(value)
                text = f"A={value}" if rtype == TYPE_A else f"AAAA={value}"
                if text not in entry.answers:  # _with's own first test, spared its call when repeated
                    entry.answers = _with(entry.answers, text)
        if cnames is None:
            return  # no chain: no other owner's address is ours
        chain = []
        name = qname
        seen = {name}
        while name in cnames:
            name = cnames[name]
            if name in seen:  # CNAME loop in a hostile answer
                break
            seen.add(name)
            chain.append(name)
        if chain and not entry.cname_chain:
            entry.cname_chain = chain
        if name_connections and addrs is not None:
            for owner in chain:
                for addr in addrs.get(owner, ()):
                    if addr in address_names or len(address_names) < MAX_ADDRESSES:
                        address_names[addr] = qname

    def unanswered(self) -> dict[tuple[str, str, str], int]:
        counts: dict[tuple[str, str, str], int] = {}
        for key in self._pending.values():
            counts[key] = counts.get(key, 0) + 1
        return counts

    def name_for(self, address: str) -> str | None:
        return self.address_names.get(address)
