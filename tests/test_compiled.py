"""Which build the tests run against: the compiled one only when it is asked for, and then really.

``make test-compiled`` runs the parser, analyzer, report and front-end tests in a copy of the tree holding the
compiled wheel's extensions, with ``EGRESS_EXPECT_COMPILED=1``. Were an extension missing there, the
``.py`` next to it would load and those tests would pass on pure Python, testing nothing new; this
fails instead. Everywhere else the opposite holds: a compiled module left beside the sources (a build
in place) would shadow every later edit of them, so a pure run refuses it.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import tomllib
from pathlib import Path

import pytest

from tests.support.paths import ROOT

EXPECT_COMPILED = os.environ.get("EGRESS_EXPECT_COMPILED") == "1"


def compiled_modules() -> list[str]:
    """The module names that ``[tool.egress-analyzer] compiled`` lists (setup.py compiles them)."""
    paths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["egress-analyzer"]["compiled"]
    return [path.removesuffix(".py").replace("/", ".") for path in paths]


def _is_extension(module_file: str) -> bool:
    return module_file.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_the_list_names_real_modules() -> None:
    names = compiled_modules()
    assert names and len(set(names)) == len(names)
    for name in names:
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name


@pytest.mark.parametrize("name", compiled_modules())
def test_each_listed_module_loads_as_the_build_says(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    if EXPECT_COMPILED:
        assert _is_extension(module.__file__), f"{name} loaded from {module.__file__}, not from the compiled build"
        package_dir = ROOT.joinpath(*name.split(".")[:-1])
        assert Path(module.__file__).parent == package_dir, f"{name} loaded from outside this tree"
    else:
        assert not _is_extension(module.__file__), (
            f"{module.__file__} shadows {name}'s source: remove it (a build in place; `make test-compiled` builds "
            "in a copy of the tree)"
        )


@pytest.mark.skipif(not EXPECT_COMPILED, reason="the compiled build is tested by `make test-compiled`")
def test_the_compiled_classes_are_native() -> None:
    """mypyc made native classes of them (what makes them fast), yet the tests may subclass the two
    they subclass: ``allow_interpreted_subclasses``."""
    from analyzer.engine import Engine
    from analyzer.flows import DnsFlow, Flow

    for cls in (Engine, Flow, DnsFlow):
        assert hasattr(cls, "__mypyc_attrs__"), cls
    assert type("Sub", (Engine,), {})().flows == {}
