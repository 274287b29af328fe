"""The Public Suffix List, read from the snapshot that ships inside the tldextract package.

Never fetched: the tool runs air-gapped.  Nor is tldextract imported: importing it loads requests,
urllib3 and filelock (~70 ms of every run's start) for a list we only look names up in.  The
lookups here apply the list the way tldextract does with its private section on (``s3.amazonaws.com``
is a suffix like ``co.uk``), which tests/analyzer/allowlist/test_psl.py checks against tldextract
itself on every rule of the list.  The list is read on first use, so a run that looks nothing up
does not pay for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple
from urllib.parse import scheme_chars

SNAPSHOT = ".tld_set_snapshot"
_PRIVATE_SECTION = "// ===BEGIN PRIVATE DOMAINS==="
# A rule starts its line and ends at the first blank; comment lines start with "//".
_RULE_RE = re.compile(r"^[.*!]*\w\S*", re.MULTILINE)
_SCHEME_CHARS = frozenset(scheme_chars)
# Full stops other scripts write between labels (ideographic, fullwidth, halfwidth).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


@dataclass(frozen=True, slots=True)
class SuffixList:
    """The rules as written (``co.uk``, ``*.ck``, ``!www.ck``) of each section, and for lookups
    ``tails``: every rule and every rule minus leading labels (``uk`` for ``co.uk``), i.e. each
    node of the tree of labels a lookup walks from the right."""

    public: frozenset[str]
    private: frozenset[str]
    tails: frozenset[str]


def snapshot_path() -> Path:
    """The snapshot file inside the installed tldextract package (found without importing it)."""
    spec = find_spec("tldextract")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the tldextract package (it ships the Public Suffix List snapshot) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / SNAPSHOT


@lru_cache(maxsize=1)
def suffix_list() -> SuffixList:
    text = snapshot_path().read_text(encoding="utf-8")
    public_text, _, private_text = text.partition(_PRIVATE_SECTION)
    public = frozenset(_RULE_RE.findall(public_text))
    private = frozenset(_RULE_RE.findall(private_text))
    tails: set[str] = set()
    for rule in public | private:
        tails.add(rule)
        dot = rule.find(".")
        while dot >= 0:
            tails.add(rule[dot + 1 :])
            dot = rule.find(".", dot + 1)
    return SuffixList(public, private, frozenset(tails))


def is_public_suffix(name: str) -> bool:
    """An ICANN suffix such as ``com`` or ``co.uk``: anyone can register names under it."""
    public = suffix_list().public
    return name in public or ("*." + name.split(".", 1)[-1] in public and "." in name)


def private_suffixes_under(domain: str) -> list[str]:
    """Suffixes in the PSL's private section at or below ``domain``: places where anyone can publish.

    ``githubusercontent.com`` and ``blob.core.windows.net`` are listed themselves;
    ``amazonaws.com`` has ``s3.amazonaws.com`` and hundreds more below it.
    """
    # Sorted here, for the few domains asked about: sorting every domain's list up front cost
    # more than the whole lint of a request document.
    return sorted(_private_under().get(domain, ()), key=lambda s: (s.count("."), s))


@lru_cache(maxsize=1)
def _private_under() -> dict[str, set[str]]:
    """Each domain -> the private suffixes at or below it, so lint does not scan the whole private
    section once per wildcard entry: ``s`` is under ``d`` when ``s`` without its ``*.`` is ``d``
    or ``s`` ends in ``.d``, so file ``s`` under both kinds of key."""
    under: dict[str, set[str]] = {}
    for suffix in suffix_list().private:
        under.setdefault(suffix.lstrip("*."), set()).add(suffix)
        rest = suffix
        while "." in rest:
            rest = rest.split(".", 1)[1]
            under.setdefault(rest, set()).add(suffix)
    return under


@lru_cache(maxsize=65536)
def registrable_domain(name: str) -> str:
    """``a.b.example.co.uk`` -> ``example.co.uk``; private-section suffixes count as suffixes.

    ``name`` itself when it has no label left of a suffix, no known suffix, or is an address.
    """
    host = _host(name)
    if host is None:
        return name
    if not host.isascii():  # the other full stops are not ASCII; translate costs a dict probe per character
        host = host.translate(_DOTS)
    labels = host.split(".")
    size = _walk(host).found
    start = None if size is None else len(labels) - size
    if not start or not labels[start - 1]:
        return name
    return ".".join(labels[start - 1 :])


class _Walk(NamedTuple):
    """Where the walk for the public suffix stands after the labels of a name, from the right.

    The walk goes left while the labels so far are a tail of some rule, remembering the last place
    a whole rule ended.  Where it cannot go on, a ``*`` rule at that place takes one more label
    (unless a ``!`` exception names it) and decides.
    """

    labels: int  # labels walked until the walk stopped
    found: int | None  # labels (from the right) of the public suffix so far, None when no rule applies
    matched: str  # the labels walked, decoded, while they are a tail of some rule
    done: bool  # the walk stopped: labels further left cannot change ``found``


_START = _Walk(0, None, "", False)
# Host -> its walk, for every host asked and each of its parents; emptied when it grows past
# _WALKS_KEPT (a long-running server asks about unbounded names), or when the list is read anew.
_walks: dict[str, _Walk] = {}
_walks_of: list[frozenset[str]] = []  # the tails the walks were made with
_WALKS_KEPT = 1 << 17


def _walk(host: str) -> _Walk:
    """The walk of ``host``'s labels: that of its parent (``b.c`` for ``a.b.c``) and one step more,
    unless the parent's walk stopped.  On a capture most names share their parent with many
    others (10k names under a dozen domains), so a name costs a dict probe and one step instead
    of a step per label (with translate kept for non-ASCII hosts, the registrable domains of 10k
    names: 30 ms -> 21 ms).  tests/analyzer/allowlist/test_psl.py checks it against tldextract
    on every rule, parents asked first and last."""
    tails = suffix_list().tails
    if not _walks_of or _walks_of[0] is not tails or len(_walks) > _WALKS_KEPT:
        _walks.clear()
        _walks_of[:] = [tails]
    chain: list[str] = []  # the host and its parents down to one already walked (or the last label)
    rest, walk = host, _START
    while True:
        known = _walks.get(rest)  # one probe, read once: another thread may empty the dict meanwhile
        if known is not None:
            walk = known
            break
        chain.append(rest)
        dot = rest.find(".")
        if dot < 0:
            break
        rest = rest[dot + 1 :]
    for text in reversed(chain):
        if not walk.done:
            walk = _step(walk, text.partition(".")[0], tails)
        _walks[text] = walk
    return walk


def _step(walk: _Walk, label: str, tails: frozenset[str]) -> _Walk:
    """One label more (to the left) of a walk that has not stopped."""
    labels, found, matched, _ = walk
    here = labels + 1  # the suffix from this label on, in labels
    label = _decode(label)
    longer = f"{label}.{matched}" if matched else label
    if longer in tails:
        return _Walk(here, here if _is_rule(longer) else found, longer, False)
    if (f"*.{matched}" if matched else "*") in tails:
        excepted = (f"!{label}.{matched}" if matched else f"!{label}") in tails
        return _Walk(here, labels if excepted else here, "", True)
    return _Walk(here, found, "", True)


def _host(text: str) -> str | None:
    """The host part of ``text``, cut the way tldextract cut it (so that grouping by registrable
    domain did not change when we stopped using it): a scheme, a path, user info and a port are
    dropped, and trailing dots.  None for a bracketed IPv6 literal."""
    slashes = text.find("//")
    if slashes == 0:
        text = text[2:]
    elif slashes >= 2 and text[slashes - 1] == ":" and _SCHEME_CHARS.issuperset(text[: slashes - 1]):
        text = text[slashes + 2 :]
    authority = text.partition("/")[0].partition("?")[0].partition("#")[0]
    host = authority.rpartition("@")[2]
    if host.startswith("[") and "]" in host:
        return None
    return host.partition(":")[0].strip().rstrip(".\u3002\uff0e\uff61")


def _is_rule(tail: str) -> bool:
    psl = suffix_list()
    return tail in psl.public or tail in psl.private


def _decode(label: str) -> str:
    """A label as the list writes it: lower case, and Unicode for an IDNA ``xn--`` label."""
    lowered = label.lower()
    if lowered.startswith("xn--"):
        import idna  # only for these labels: its tables cost a few ms to load

        try:
            return str(idna.decode(lowered))
        except (UnicodeError, IndexError):
            pass
    return lowered
