"""The entry index against the straightforward algorithms it replaces, kept here as oracles.

Random allowlists over a small alphabet of labels (so patterns, names and suffixes collide
often) in every dialect: the index must give the diff exactly the entries that trying every
matcher on every row gave, and lint exactly the "redundant" findings of the all-pairs loop.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest

from analyzer.allowlist.dialects import DIALECTS, is_wildcard, matcher_or_never
from analyzer.allowlist.index import EntryIndex, NamesByEnd, anchor
from analyzer.allowlist.lint import _covers, _samples, lint
from analyzer.allowlist.model import Allowlist, Entry, PortRange

LABELS = ["a", "b", "x", "xa", "com", "io", "9"]
SHAPES = ["{0}", "{0}.{1}", "{0}.{1}.{2}", "*.{0}.{1}", "*{0}.{1}", ".{0}.{1}", "**.{0}.{1}", "{0}*.{1}",
          "{0}.*.{1}", "*", "*.{0}", "*{0}", "{0}..{1}", "a*b.{0}"]  # fmt: skip
NETWORKS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "192.0.2.0/24", "2001:db8::/32", "not-a-net/99"]
ADDRESSES = ["10.1.2.3", "10.9.9.9", "192.0.2.7", "2001:db8::1", "198.51.100.1", "bad", "+3 more"]


def _pattern(rng: random.Random, dialect: str = "") -> str:
    # squid and AWS reject '*': give them mostly shapes they accept, or they would see no wildcards.
    shapes = [s for s in SHAPES if "*" not in s] + [".{0}"] if dialect in ("squid", "aws") else SHAPES
    return rng.choice(shapes).format(*(rng.choice(LABELS) for _ in range(3)))


def _name(rng: random.Random) -> str:
    return ".".join(rng.choice(LABELS) for _ in range(rng.randint(1, 4)))


def _entry(rng: random.Random, kind: str, pattern: str) -> Entry:
    ports = rng.choice([(), (PortRange(443, 443),), (PortRange(80, 80), PortRange(443, 443)), (PortRange(1, 1000),)])
    protocols = frozenset(rng.choice([{"TCP"}, {"HTTPS"}, {"HTTP", "HTTPS"}, {"ANY"}, {"UDP"}]))
    line = rng.randint(1, 40)  # repeats and disorder: several files, copies of a line
    return Entry(pattern, protocols, ports, rng.choice(["a.txt", "b.txt"]), line, pattern, kind=kind)


def _entries(rng: random.Random, count: int, with_addresses: bool, dialect: str) -> list[Entry]:
    out = []
    for _ in range(count):
        if with_addresses and rng.random() < 0.2:
            out.append(_entry(rng, "address", rng.choice(NETWORKS)))
        else:
            out.append(_entry(rng, rng.choice(["fqdn", "pattern"]), _pattern(rng, dialect)))
    return out


def _address_entry_matches(entry: Entry, address: str) -> bool:
    """The diff's check before the index, verbatim."""
    try:
        net = ipaddress.ip_network(entry.pattern, strict=False)
        return any(ipaddress.ip_address(a.strip()) in net for a in address.split(",") if not a.strip().startswith("+"))
    except ValueError:
        return False


def _oracle_matches(entries: list[Entry], dialect: str, fqdn: str | None, address: str | None) -> list[int]:
    hits = []
    for j, e in enumerate(entries):
        if e.kind == "address":
            if address is not None and _address_entry_matches(e, address):
                hits.append(j)
        elif fqdn is not None and matcher_or_never(dialect, e.pattern)[0](fqdn):
            hits.append(j)
    return hits


def _oracle_redundant(valid: list[Entry], dialect: str) -> list[dict[str, Any]]:
    """lint's all-pairs loop before the index, verbatim but for the finding it builds."""
    findings = []
    for e in valid:
        for other in valid:
            if other is e or other.pattern == e.pattern:
                continue
            samples = _samples(e, dialect)
            m, _ = matcher_or_never(dialect, other.pattern)
            if samples and all(m(s) for s in samples) and _covers(e, other):
                if is_wildcard(dialect, e.pattern) and is_wildcard(dialect, other.pattern):
                    back = _samples(other, dialect)
                    me, _ = matcher_or_never(dialect, e.pattern)
                    if back and all(me(s) for s in back) and e.line < other.line:
                        continue
                findings.append({"entry": e.pattern, "line": e.line, "file": e.file, "other": other.pattern})
                findings[-1]["detail"] = f"already covered by {other.pattern} (line {other.line})"
                del findings[-1]["other"]
                break
    return findings


@pytest.mark.parametrize("dialect", DIALECTS)
def test_index_gives_the_entries_trying_every_one_gives(dialect: str) -> None:
    rng = random.Random(f"index-{dialect}")
    for _ in range(60):
        entries = _entries(rng, rng.randint(0, 40), with_addresses=True, dialect=dialect)
        index = EntryIndex(entries, dialect)
        for _ in range(40):
            fqdn = rng.choice([None, _name(rng), _pattern(rng, dialect).replace("*", "q")])
            address = rng.choice([None, ", ".join(rng.sample(ADDRESSES, rng.randint(1, 3)))])
            expected = _oracle_matches(entries, dialect, fqdn, address)
            assert index.matches(fqdn, address) == expected, (fqdn, address)
            if address is not None:  # the same addresses as a list, as the summary will give them
                assert index.matches(fqdn, address.split(", ")) == expected


def _family(rng: random.Random, count: int) -> list[str]:
    """Names that share parents the way a capture's do (``node7.api.x.com`` beside ``node8.api.x.com``
    and ``api.x.com``), with odd ones between: what the index keeps per parent is asked again and
    again, after and before the parent itself, and for names it holds no place for."""
    bases = [_name(rng) for _ in range(8)] + ["", ".", "a.", ".a", "a..b"]
    names = []
    for _ in range(count):
        base = rng.choice(bases)
        child = ".".join(rng.choice([*LABELS, "node1", "node22", "xaxa"]) for _ in range(rng.randint(0, 3)))
        names.append(f"{child}.{base}" if child and base else child or base)
    return names


@pytest.mark.parametrize("dialect", DIALECTS)
def test_index_over_many_names_sharing_parents_equals_trying_every_entry(dialect: str) -> None:
    """The per-parent candidates the index keeps stay right whatever the order names come in."""
    rng = random.Random(f"parents-{dialect}")
    for _ in range(25):
        entries = _entries(rng, rng.randint(1, 40), with_addresses=False, dialect=dialect)
        index = EntryIndex(entries, dialect)
        names = _family(rng, 300)
        for fqdn in names + names[::-1]:
            assert index.matches(fqdn) == _oracle_matches(entries, dialect, fqdn, None), fqdn


@pytest.mark.parametrize("dialect", DIALECTS)
def test_names_by_end_give_each_wildcard_exactly_the_names_it_matches(dialect: str) -> None:
    """The diff's "only DNS lookups" hint: each wildcard entry's names found by their ending equal
    every name tried with its matcher; an entry that is no wildcard of the index gets None."""
    rng = random.Random(f"names-{dialect}")
    wildcards = 0
    for _ in range(40):
        entries = _entries(rng, rng.randint(1, 30), with_addresses=True, dialect=dialect)
        index = EntryIndex(entries, dialect)
        names = _family(rng, 200) + [_pattern(rng, dialect).replace("*", "q") for _ in range(20)]
        by_end = NamesByEnd(names)
        for j, entry in enumerate(entries):
            found = index.wildcard_names(j, by_end)
            matcher, invalid = matcher_or_never(dialect, entry.pattern)
            if entry.kind == "address" or invalid is not None or not is_wildcard(dialect, entry.pattern):
                assert found is None, entry.pattern
                continue
            wildcards += 1
            assert found is not None
            assert sorted(found) == sorted({n for n in names if matcher(n)}), entry.pattern
    assert wildcards > 100 or dialect == "exact"  # the dialect's wildcards were exercised


def test_names_by_end_finds_the_names_with_an_ending() -> None:
    by_end = NamesByEnd(["a.com", "b.a.com", "ba.com", "a.co", "com", "a.com"])
    assert sorted(by_end.ending_with(".a.com")) == ["b.a.com"]
    assert sorted(by_end.ending_with("a.com")) == ["a.com", "b.a.com", "ba.com"]
    assert sorted(by_end.ending_with("")) == ["a.co", "a.com", "b.a.com", "ba.com", "com"]
    assert by_end.ending_with("x.com") == [] and "com" in by_end and "b.com" not in by_end


@pytest.mark.parametrize("dialect", DIALECTS)
def test_lint_redundancy_equals_the_all_pairs_loop(dialect: str) -> None:
    rng = random.Random(f"lint-{dialect}")
    for _ in range(150):
        entries = _entries(rng, rng.randint(0, 30), with_addresses=False, dialect=dialect)
        valid = [e for e in entries if matcher_or_never(dialect, e.pattern)[1] is None]
        found = [
            {k: f[k] for k in ("entry", "line", "file", "detail")}
            for f in lint(Allowlist(entries=entries), dialect)
            if f["problem"] == "redundant"
        ]
        assert found == _oracle_redundant(valid, dialect)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("*.x.com", "x.com"), ("*x.com", "com"), ("www.*.com", "com"), ("**.a*.com", "com"), (".x.com", "x.com"),
     ("*", ""), ("a*", ""), ("x.com", "x.com")],
)  # fmt: skip
def test_anchor_is_the_labels_every_match_ends_in(pattern: str, expected: str) -> None:
    assert anchor(pattern) == expected
