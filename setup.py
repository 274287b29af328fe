"""The build's one optional step: the compiled build (``EGRESS_COMPILE=1``, what a release wheel is to ship).

Everything else about the package is in pyproject.toml. Without the variable this adds nothing: the
wheel, the sdist and the editable install are pure Python. With it, mypyc compiles the modules that
``[tool.egress-analyzer] compiled`` lists into C extensions, which sit next to their sources in the
wheel (Python imports an extension before a ``.py`` of the same name). The sources are the same, typed
under ``mypy --strict``; the report is the same byte for byte.

Build it with the dev extras installed (mypy brings mypyc) and a C compiler: ``make wheel`` runs
``EGRESS_COMPILE=1 pip wheel --no-build-isolation --no-deps`` in a copy of a committed tree. ``make test-compiled`` runs
the parser, analyzer, report and front-end tests against the compiled modules, and ``make bench`` measures them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from setuptools import Extension, setup


def extensions() -> list[Extension]:
    if os.environ.get("EGRESS_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    here = Path(__file__).parent
    modules = tomllib.loads((here / "pyproject.toml").read_text())["tool"]["egress-analyzer"]["compiled"]
    # group_name: the runtime the modules share is one library, egress_analyzer__mypyc, rather than one
    # named after a hash of the module list.
    return mypycify(modules, opt_level="3", group_name="egress_analyzer")


setup(ext_modules=extensions())
