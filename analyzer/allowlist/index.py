"""Which allowlist entries match a name or an address, without trying every entry.

Every wildcard a firewall accepts fixes the labels to the right of its rightmost wildcard label
(``*.x.com``, ``*x.com`` and ``a*.x.com`` all end in ``.com``; ``*.x.com`` also in ``.x.com``),
and a leading-dot pattern (``.x.com``) fixes everything after the dot: that is its *anchor*.
The text after the last ``*`` of the wildcard label (``x`` in ``*x.com``) must end the name's
label just before the anchor: its *tail*.  The index files each wildcard entry under its anchor
and the last few characters of its tail, and a name is only tried against the entries filed
under one of its own label suffixes and the end of the label before it; names without a
wildcard are looked up in a dict, networks by (version, prefix length).  Lint and the diff then
cost about (entries + names) x labels instead of entries x names.  Every candidate is still
confirmed by the dialect's own matcher, so the answer is exactly what trying every entry gives.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from analyzer.allowlist.dialects import Matcher, exact_name, matcher_or_never
from analyzer.allowlist.model import Entry

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# How many characters of a tail the index keys on: enough to split ``*vendor1.com`` from
# ``*vendor2.com``, few enough that a name tries only a handful of keys.
_TAIL_KEY = 3


def anchor(pattern: str) -> str:
    """The labels every name ``pattern`` matches ends in ("" when nothing is fixed).

    ``*.x.com`` -> ``x.com``; ``*x.com`` -> ``com`` (the first label may be longer, notx.com);
    ``www.*.com`` -> ``com``; ``.x.com`` -> ``x.com``; ``*`` -> "".
    """
    return _anchor_and_tail(pattern)[0]


def _anchor_and_tail(pattern: str) -> tuple[str, str]:
    if "*" not in pattern:
        return pattern.lstrip("."), ""
    labels = pattern.split(".")
    last_star = max(i for i, label in enumerate(labels) if "*" in label)
    return ".".join(labels[last_star + 1 :]), labels[last_star].rsplit("*", 1)[1]


class EntryIndex:
    """The entries of one allowlist, read in one dialect, indexed for :meth:`matches`."""

    __slots__ = ("_anchors", "_exact", "_matchers", "_networks", "_wildcards")

    def __init__(self, entries: Sequence[Entry], dialect: str) -> None:
        self._exact: dict[str, list[int]] = {}
        self._wildcards: dict[tuple[str, str], list[int]] = {}
        self._matchers: dict[int, Matcher] = {}
        self._networks: dict[tuple[int, int], dict[Network, list[int]]] = {}
        self._anchors: set[str] = set()  # the anchors some wildcard is filed under
        for j, entry in enumerate(entries):
            if entry.kind == "address":
                try:
                    net = ipaddress.ip_network(entry.pattern, strict=False)
                except ValueError:
                    continue  # matches no address
                self._networks.setdefault((net.version, net.prefixlen), {}).setdefault(net, []).append(j)
                continue
            matcher, invalid = matcher_or_never(dialect, entry.pattern)
            if invalid is not None:
                continue  # matches no name
            name = exact_name(dialect, entry.pattern)
            if name is not None:
                self._exact.setdefault(name, []).append(j)
            else:
                fixed, tail = _anchor_and_tail(entry.pattern.lower().rstrip("."))
                self._wildcards.setdefault((fixed, tail[-_TAIL_KEY:]), []).append(j)
                self._anchors.add(fixed)
                self._matchers[j] = matcher

    def matches(self, fqdn: str | None, address: str | Sequence[str] | None = None) -> list[int]:
        """Positions, in entry order, of the name entries matching ``fqdn`` and of the address
        entries holding one of the addresses: a list, or the summary's comma-separated text."""
        hits: list[int] = []
        if fqdn is not None:
            hits.extend(self._exact.get(fqdn, ()))
            if self._wildcards:
                # Every (anchor, tail key) a wildcard matching the name can be filed under: each
                # label suffix of the name with each short end of the label before it, and with
                # no tail; only the suffixes some wildcard is anchored at are probed (a set probe
                # per label: the diff runs this for every summary row, 10k on a busy capture).
                anchors, wildcards, label, rest = self._anchors, self._wildcards, "", fqdn
                while True:
                    if rest in anchors:
                        for n in range(min(len(label), _TAIL_KEY) + 1):
                            if found := wildcards.get((rest, label[-n:] if n else "")):
                                hits.extend(j for j in found if self._matchers[j](fqdn))
                    if not rest:
                        break
                    label, _, rest = rest.partition(".")
        if address is not None and self._networks:
            hits.extend(self._address_hits(address))
        hits.sort()
        return hits

    def _address_hits(self, address: str | Sequence[str]) -> set[int]:
        found: set[int] = set()
        for text in address.split(",") if isinstance(address, str) else address:
            text = text.strip()
            if text.startswith("+"):
                continue  # "+3 more" of a shortened list
            try:
                ip = ipaddress.ip_address(text)
            except ValueError:
                break  # what follows an unreadable address is not looked at, as before
            for (version, prefixlen), nets in self._networks.items():
                if version == ip.version:
                    found.update(nets.get(ipaddress.ip_network((ip, prefixlen), strict=False), ()))
        return found
