"""Each dialect against its vendor's own documented examples (pages cited per block)."""

from __future__ import annotations

import pytest

from analyzer.allowlist.dialects import DIALECTS, InvalidPattern, compile_pattern, matches

# Azure Firewall FAQ, "How do wildcards work in target URLs and target FQDNs in application rules?"
# (learn.microsoft.com/azure/firewall/firewall-faq): *.contoso.com matches subdomains at any depth but
# not contoso.com; *contoso.com matches contoso.com and anything ending in it, notcontoso.com included.
AZURE = [
    ("*.contoso.com", "www.contoso.com", True),
    ("*.contoso.com", "a.b.contoso.com", True),
    ("*.contoso.com", "contoso.com", False),
    ("*contoso.com", "contoso.com", True),
    ("*contoso.com", "www.contoso.com", True),
    ("*contoso.com", "notcontoso.com", True),
    ("*contoso.com", "contoso.com.evil.net", False),
    ("www.contoso.com", "www.contoso.com", True),
    ("www.contoso.com", "contoso.com", False),
    ("*", "anything.example", True),
]

# Squid acl dstdomain (squid-cache.org/Doc/config/acl): ".foo.com" matches foo.com and www.foo.com.
# AWS Network Firewall RulesSourceList.Targets (docs.aws.amazon.com/network-firewall/latest/APIReference/
# API_RulesSourceList.html): "abc.example.com matches only abc.example.com"; ".example.com matches
# example.com and all subdomains of example.com, such as abc.example.com and www.example.com".
LEADING_DOT = [
    (".example.com", "example.com", True),
    (".example.com", "abc.example.com", True),
    (".example.com", "a.b.example.com", True),
    (".example.com", "notexample.com", False),
    ("abc.example.com", "abc.example.com", True),
    ("abc.example.com", "www.abc.example.com", False),
]

# Cilium DNS-based policy (docs.cilium.io/en/stable/security/policy/language/#dns-based): "*" matches
# zero or more DNS characters except "."; "*.cilium.io" matches subdomains one level deep only;
# "**." matches multi-level subdomains; "*" alone matches all names.
CILIUM = [
    ("*.cilium.io", "sub.cilium.io", True),
    ("*.cilium.io", "a.b.cilium.io", False),
    ("*.cilium.io", "cilium.io", False),
    ("*cilium.io", "cilium.io", True),
    ("*cilium.io", "sub-cilium.io", True),
    ("*cilium.io", "sub.cilium.io", False),
    ("sub*.cilium.io", "subdomain.cilium.io", True),
    ("**.cilium.io", "a.b.cilium.io", True),
    ("**.cilium.io", "sub.cilium.io", True),
    ("**.cilium.io", "cilium.io", False),
    ("*", "cilium.io", True),
    ("cilium.io", "cilium.io", True),
]

# Calico DNS policy (docs.tigera.io/security/domain-based-policy): "*.google.com matches www.google.com
# and www.ipv6.google.com, but not google.com; www.*.com matches www.sun.com and www.apple.com, but not
# www.com; update.*.mycompany.com matches update.tools.mycompany.com, update.secure.suite.mycompany.com".
CALICO = [
    ("*.google.com", "www.google.com", True),
    ("*.google.com", "www.ipv6.google.com", True),
    ("*.google.com", "google.com", False),
    ("www.*.com", "www.sun.com", True),
    ("www.*.com", "www.apple.com", True),
    ("www.*.com", "www.com", False),
    ("update.*.mycompany.com", "update.tools.mycompany.com", True),
    ("update.*.mycompany.com", "update.secure.suite.mycompany.com", True),
    ("microsoft.com", "www.microsoft.com", False),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), AZURE)
def test_azure(pattern: str, name: str, expected: bool) -> None:
    assert matches("azure", pattern, name) is expected


@pytest.mark.parametrize("dialect", ["squid", "aws"])
@pytest.mark.parametrize(("pattern", "name", "expected"), LEADING_DOT)
def test_squid_and_aws(dialect: str, pattern: str, name: str, expected: bool) -> None:
    assert matches(dialect, pattern, name) is expected


@pytest.mark.parametrize(("pattern", "name", "expected"), CILIUM)
def test_cilium(pattern: str, name: str, expected: bool) -> None:
    assert matches("cilium", pattern, name) is expected


@pytest.mark.parametrize(("pattern", "name", "expected"), CALICO)
def test_calico(pattern: str, name: str, expected: bool) -> None:
    assert matches("calico", pattern, name) is expected


@pytest.mark.parametrize(
    ("dialect", "pattern"),
    [
        ("azure", "www.*.contoso.com"),  # Azure: only the leftmost position
        ("squid", "*.example.com"),  # squid/AWS: '*' is not a wildcard
        ("aws", "*example.com"),
        ("calico", "*example.com"),  # Calico: '*' stands for whole labels
        ("exact", "*.example.com"),
        ("azure", "bad..example.com"),
        ("cilium", "a" * 64 + ".example.com"),
    ],
)
def test_invalid_patterns_are_rejected(dialect: str, pattern: str) -> None:
    with pytest.raises(InvalidPattern):
        compile_pattern(dialect, pattern)
    assert not matches(dialect, pattern, "www.example.com")


def test_case_and_trailing_dot_do_not_matter() -> None:
    assert matches("azure", "*.Contoso.COM", "WWW.contoso.com.")


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "pattern",
    [
        "api.charmhub.io",
        "API.Charmhub.IO.",
        "*.charmhub.io",
        "*charmhub.io",
        ".charmhub.io",
        "**.charmhub.io",
        "*",
        "www.*.com",
        "bad..name",
        "ex*ample.com",
    ],
)
def test_exact_name_is_the_only_name_the_matcher_accepts(dialect: str, pattern: str) -> None:
    """The diff looks entries with an exact name up in a dict: that must equal trying the matcher."""
    from analyzer.allowlist.dialects import exact_name, is_wildcard, matcher_or_never

    name = exact_name(dialect, pattern)
    m, invalid = matcher_or_never(dialect, pattern)
    probes = ["api.charmhub.io", "charmhub.io", "x.api.charmhub.io", "api.charmhub.io.evil", "www.sun.com", "a"]
    if name is None:  # a wildcard or an invalid pattern: never looked up, always tried
        assert invalid is not None or is_wildcard(dialect, pattern.lower())
        return
    assert invalid is None
    assert [p for p in probes if m(p)] == ([name] if name in probes else [])
    assert m(name)
