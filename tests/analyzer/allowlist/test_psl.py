"""Our Public Suffix List lookups against tldextract itself (the oracle: it is what we used before,
reading the same bundled snapshot), on every rule of the list and on names built to find the
corners: wildcards and their exceptions, private-section suffixes, IDNA labels, addresses,
URL-ish and hostile strings."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import pytest
import tldextract

from analyzer.allowlist import psl


@cache
def oracle() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def oracle_registrable(name: str) -> str:
    """What analyzer.allowlist.psl.registrable_domain returned when it asked tldextract."""
    ext = oracle()(name)
    return f"{ext.domain}.{ext.suffix}" if ext.domain and ext.suffix else name


def punycode(rule: str) -> str:
    return ".".join(
        "xn--" + label.encode("punycode").decode("ascii") if not label.isascii() else label for label in rule.split(".")
    )


def names_from_rules() -> list[str]:
    names: list[str] = []
    for rule in sorted(psl.suffix_list().public | psl.suffix_list().private):
        bare = rule.lstrip("!")
        forms = {bare, bare.replace("*", "x"), bare.replace("*.", ""), punycode(bare.replace("*", "w"))}
        for form in forms:
            names += [form, "a." + form, "b.a." + form]
        names.append(("Upper." + bare.replace("*", "star")).upper())
    return names


HOSTILE = [
    "",
    ".",
    "..",
    "com",
    "a..com",
    "a.example.com.",
    "a.example.com..",
    "*.com",
    "!www.ck",
    "www.ck",
    "x.www.ck",
    "city.kawasaki.jp",
    "a.b.city.kawasaki.jp",
    "kawasaki.jp",
    "-n",
    "<script>.example.com",
    "=cmd|' /C calc'!A0.example.org",
    "\x1b[31mred.example.net",
    "http://user:pw@x.y.example.co.uk:8443/path?q#f",
    "//a.example.com/x",
    "ftp://a.example.com",
    "1a://a.example.com",
    "a b://a.example.com",
    "x:y//a.example.com",
    "a.example.com:443",
    "a.example.com/evil.org",
    "a.example.com?evil.org",
    "a.example.com#evil.org",
    "u@evil.org@a.example.com",
    "[::1]",
    "[::1].com",
    "[2001:db8::1]:443",
    "[a.example.com",
    "1.2.3.4",
    "1.2.3.4.example.com",
    "256.1.1.1",
    "a\u3002example\u3002co\u3002uk",
    "a\uff0eexample\uff61com",
    "  spaced.example.com  ",
    "xn--55qx5d.cn",
    "a.b.xn--55qx5d.cn",
    "xn--.com",
    "a.xn--zz.com",
    "xn--com-.example.org",
    "a.XN--55QX5D.CN",
    "bücher.example.de",
    "a.bücher.de",
    "x.s3.amazonaws.com",
    "bucket.s3.amazonaws.com",
    "a.bucket.s3.amazonaws.com",
    "raw.githubusercontent.com",
    "a.blob.core.windows.net",
]


def test_the_rules_are_the_ones_tldextract_reads() -> None:
    inner = oracle()._get_tld_extractor()
    assert psl.suffix_list().public == frozenset(inner.public_tlds)
    assert psl.suffix_list().private == frozenset(inner.private_tlds)
    assert len(psl.suffix_list().private) > 1000  # the private section is read: s3.amazonaws.com and the rest


def test_registrable_domain_equals_tldextract_on_every_rule() -> None:
    names = names_from_rules()
    assert len(names) > 40_000
    wrong = [(n, psl.registrable_domain(n), oracle_registrable(n)) for n in names]
    wrong = [w for w in wrong if w[1] != w[2]]
    assert not wrong[:20], f"{len(wrong)} differ"


def test_registrable_domain_equals_tldextract_children_first_and_with_the_memo_emptied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The walk kept per parent (``a.form`` reuses ``form``'s) gives the same answers when the
    longest names come first, and when the memo is emptied every few names."""
    names = names_from_rules()[::-1]
    for kept in (1 << 17, 7):
        monkeypatch.setattr(psl, "_WALKS_KEPT", kept)
        psl.registrable_domain.cache_clear()
        psl._walks.clear()
        wrong = [
            (n, r, o) for n in names[::7] + HOSTILE if (r := psl.registrable_domain(n)) != (o := oracle_registrable(n))
        ]
        assert not wrong[:20], f"{len(wrong)} differ"
    psl.registrable_domain.cache_clear()


@pytest.mark.parametrize("name", HOSTILE)
def test_registrable_domain_equals_tldextract_on_corners(name: str) -> None:
    assert psl.registrable_domain(name) == oracle_registrable(name)


def test_private_suffixes_count_as_suffixes() -> None:
    # Unlike the ICANN-only view: each bucket is its own registrable domain.
    assert psl.registrable_domain("a.bucket.s3.amazonaws.com") == "bucket.s3.amazonaws.com"
    assert psl.registrable_domain("x.y.canonical.com") == "canonical.com"
    assert psl.registrable_domain("a.b.city.kawasaki.jp") == "city.kawasaki.jp"


def test_is_public_suffix_as_the_list_says() -> None:
    public = frozenset(oracle()._get_tld_extractor().public_tlds)
    for rule in sorted(public):
        bare = rule.lstrip("!")
        for name in (bare, bare.replace("*", "x")):
            expected = name in public or ("*." + name.split(".", 1)[-1] in public and "." in name)
            assert psl.is_public_suffix(name) == expected, name
    assert psl.is_public_suffix("com") and psl.is_public_suffix("anything.ck")
    assert not psl.is_public_suffix("example.com") and not psl.is_public_suffix("s3.amazonaws.com")


def test_reading_the_list_imports_neither_tldextract_nor_requests() -> None:
    code = (
        "import sys; from analyzer.allowlist.psl import registrable_domain as r; "
        "assert r('a.b.example.co.uk') == 'example.co.uk'; "
        "bad = [m for m in ('tldextract', 'requests', 'urllib3', 'filelock') if m in sys.modules]; "
        "print(bad); assert not bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
