"""The Public Suffix List from tldextract's bundled snapshot: never fetched, the tool runs air-gapped."""

from __future__ import annotations

from functools import lru_cache

import tldextract


@lru_cache(maxsize=1)
def extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() and no cache directory: only the snapshot shipped inside the package is read.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@lru_cache(maxsize=1)
def _suffix_sets() -> tuple[frozenset[str], frozenset[str]]:
    inner = extractor()._get_tld_extractor()
    return frozenset(inner.public_tlds), frozenset(inner.private_tlds)


def is_public_suffix(name: str) -> bool:
    """An ICANN suffix such as ``com`` or ``co.uk``: anyone can register names under it."""
    public, _ = _suffix_sets()
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
    _, private = _suffix_sets()
    under: dict[str, set[str]] = {}
    for suffix in private:
        under.setdefault(suffix.lstrip("*."), set()).add(suffix)
        rest = suffix
        while "." in rest:
            rest = rest.split(".", 1)[1]
            under.setdefault(rest, set()).add(suffix)
    return under


@lru_cache(maxsize=65536)
def registrable_domain(name: str) -> str:
    """``a.b.example.co.uk`` -> ``example.co.uk``; private-section suffixes count as suffixes."""
    ext = extractor()(name)
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return name
