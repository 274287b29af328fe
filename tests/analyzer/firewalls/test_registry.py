"""The vendor registry: every format and dialect name the command line accepts has one home."""

from __future__ import annotations

from analyzer import firewalls
from analyzer.allowlist.dialects import DIALECTS
from analyzer.allowlist.readers import FORMATS


def test_names_and_order_are_the_ones_the_command_line_documents() -> None:
    assert DIALECTS == ("azure", "squid", "aws", "cilium", "calico", "exact")
    assert FORMATS == ("request-md", "text", "azure-bicep", "azure-arm", "cilium", "squid", "csv")


def test_each_vendor_format_and_dialect_lives_in_its_vendor_module() -> None:
    homes = {f.name: f.read.__module__ for f in firewalls.formats()}
    assert homes == {
        "azure-bicep": "analyzer.firewalls.azure",
        "azure-arm": "analyzer.firewalls.azure",
        "cilium": "analyzer.firewalls.cilium",
        "squid": "analyzer.firewalls.squid",
    }
    assert {d.name: d.compile.__module__ for d in firewalls.dialects()} == {
        "azure": "analyzer.firewalls.azure",
        "squid": "analyzer.firewalls.squid",
        "aws": "analyzer.firewalls.squid",  # AWS domain lists follow squid's leading-dot rule
        "cilium": "analyzer.firewalls.cilium",
        "calico": "analyzer.firewalls.calico",
    }


def test_the_registry_names_what_each_vendor_module_defines() -> None:
    """The registry holds names only (vendors load when used): they must be the modules' own."""
    import importlib
    import pkgutil

    homes = {*firewalls.DIALECT_HOMES.values(), *firewalls.FORMAT_HOMES.values()}
    modules = {m.name for m in pkgutil.iter_modules(firewalls.__path__)}
    assert homes <= modules
    for home in sorted(modules):
        module = importlib.import_module(f"analyzer.firewalls.{home}")
        defined = [d.name for d in getattr(module, "DIALECTS", ())]
        assert defined == [n for n, h in firewalls.DIALECT_HOMES.items() if h == home], home
        read = [f.name for f in getattr(module, "FORMATS", ())]
        assert read == [n for n, h in firewalls.FORMAT_HOMES.items() if h == home], home
