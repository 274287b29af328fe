"""analyzer.dnslog against a plain statement of its rules, on generated conversations.

The oracle below is the module's docstring and field comments written out the simple way (every
name normalized, every set a list, the CNAME chain walked with a visited set), with no fast paths:
one entry per (name, type, service) counting queries and responses, the last rcode, the answers
and servers in order first seen, the first CNAME chain, and each address named after the question
whose answer (through the chain) gave it last, unicast DNS only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.dnslog import DnsLog
from analyzer.smallset import SMALL
from parsers.dns import DnsMessage, Question, ResourceRecord, rcode_name, type_name

SETTINGS = settings(
    max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

NAMES = ["a.example", "A.Example.", "b.example", "c.example", "d.example.", "."]
ADDRS = ["192.0.2.1", "192.0.2.2", "2001:db8::1", "198.51.100.7"]


@dataclass
class Expected:
    queries: int = 0
    responses: int = 0
    rcode: str | None = None
    answers: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    cname_chain: list[str] | None = None
    first_seen: int = 0
    last_seen: int = 0


def _norm(name: str) -> str:
    return name.rstrip(".").lower() or "."


def _once(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


class Oracle:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], Expected] = {}
        self.address_names: dict[str, str] = {}
        self.pending: dict[tuple[str, int, str, int], tuple[str, str, str]] = {}

    def _entry(self, q: Question, service: str, ts: int) -> tuple[tuple[str, str, str], Expected]:
        key = (_norm(q.name), type_name(q.qtype), service)
        if key not in self.entries:
            self.entries[key] = Expected(first_seen=ts, last_seen=ts)
        entry = self.entries[key]
        entry.last_seen = max(entry.last_seen, ts)
        return key, entry

    def add(self, msg: DnsMessage, ts: int, service: str, client: str, cport: int, server: str) -> None:
        if not msg.questions:
            return
        for q in msg.questions[1:]:
            _, extra = self._entry(q, service, ts)
            _once(extra.servers, server)
            if msg.is_response:
                extra.responses += 1
            else:
                extra.queries += 1
        key, entry = self._entry(msg.questions[0], service, ts)
        _once(entry.servers, server)
        pkey = (client, cport, server, msg.id)
        if not msg.is_response:
            entry.queries += 1
            self.pending[pkey] = key
            return
        self.pending.pop(pkey, None)
        entry.responses += 1
        entry.rcode = rcode_name(msg.rcode)
        alias: dict[str, str] = {}
        for rr in msg.answers:
            if rr.value is not None and rr.rtype == 5:
                alias.setdefault(_norm(rr.name), _norm(rr.value))
                _once(entry.answers, f"CNAME={_norm(rr.value)}")
            elif rr.value is not None and rr.rtype in (1, 28):
                _once(entry.answers, f"{'A' if rr.rtype == 1 else 'AAAA'}={rr.value}")
        owners = [key[0]]
        while owners[-1] in alias and alias[owners[-1]] not in owners:
            owners.append(alias[owners[-1]])
        if len(owners) > 1 and not entry.cname_chain:
            entry.cname_chain = owners[1:]
        if service != "dns":
            return
        for owner in owners:
            for rr in msg.answers:
                if rr.value is not None and rr.rtype in (1, 28) and _norm(rr.name) == owner:
                    self.address_names[rr.value] = key[0]


questions = st.builds(Question, st.sampled_from(NAMES), st.sampled_from([1, 28, 5, 12, 999]), st.just(1))
records = st.builds(
    lambda name, rtype, addr, target: ResourceRecord(
        name, rtype, 1, 60, addr if rtype in (1, 28) else target if rtype in (5, 12) else None
    ),
    st.sampled_from(NAMES),
    st.sampled_from([1, 28, 5, 12, 16]),
    st.sampled_from(ADDRS),
    st.sampled_from(NAMES),
)
messages = st.builds(
    lambda ident, response, rcode, qs, ans: DnsMessage(ident, response, 0, rcode, False, tuple(qs), tuple(ans), 0),
    st.integers(0, 3),
    st.booleans(),
    st.sampled_from([0, 3, 2, 42]),
    st.lists(questions, max_size=3),
    st.lists(records, max_size=6),
)
events = st.tuples(messages, st.integers(0, 50), st.sampled_from(["dns", "mdns"]), st.integers(1, 2))


def _in_order(values: tuple[str, ...] | set[str]) -> list[str]:
    """A small set is a tuple in the order first seen; past SMALL values a set (sorted here)."""
    return list(values) if isinstance(values, tuple) and len(values) <= SMALL else sorted(values)


@SETTINGS
@given(st.lists(events, max_size=25))
def test_dns_log_follows_its_rules(conversation: list[tuple[DnsMessage, int, str, int]]) -> None:
    log, oracle = DnsLog(), Oracle()
    for msg, ts, service, side in conversation:
        args = (msg, ts, service, f"10.0.0.{side}", 40000 + side, "10.0.0.53")
        log.add(*args)
        oracle.add(*args)
    assert list(log.entries) == list(oracle.entries)
    for key, entry in log.entries.items():
        want = oracle.entries[key]
        assert (entry.qname, entry.qtype, entry.service) == key
        got = (entry.queries, entry.responses, entry.rcode, entry.cname_chain, entry.first_seen, entry.last_seen)
        assert got == (want.queries, want.responses, want.rcode, want.cname_chain, want.first_seen, want.last_seen)
        assert _in_order(entry.answers) == _in_order(tuple(want.answers))
        assert _in_order(entry.servers) == _in_order(tuple(want.servers))
    assert list(log.address_names.items()) == list(oracle.address_names.items())
    counts: dict[tuple[str, str, str], int] = {}
    for key in oracle.pending.values():
        counts[key] = counts.get(key, 0) + 1
    assert log.unanswered() == counts
