"""The wheel users install holds every module and data file of the four layers.

The package list in pyproject.toml was once written out by hand and shipped a wheel without
analyzer.allowlist, analyzer.firewalls, analyzer.history and reports.night: the editable install the
tests use could not notice. This builds the real wheel (offline, with the venv's setuptools) and
compares its contents with the files git tracks. It builds from a copy of the tracked files, because
setuptools reuses a ./build folder left by an earlier build and would hide a missing package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.paths import ROOT

LAYERS = ("parsers", "analyzer", "reports", "frontends")
DATA_SUFFIXES = (".css", ".js", ".html")


def tracked(suffixes: tuple[str, ...]) -> set[str]:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", *LAYERS], check=True, capture_output=True, text=True
    ).stdout
    return {line for line in out.splitlines() if line.endswith(suffixes)}


def test_wheel_holds_every_module_and_page_file(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", *tracked(("",))):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("egress_analyzer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # Without EGRESS_COMPILE, setup.py adds nothing: pure Python, for any platform (the compiled build is
    # `make wheel`, tested by `make test-compiled`).
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    assert not [n for n in names if n.endswith(".so")]
    expected = tracked((".py", *DATA_SUFFIXES))
    assert expected, "git lists no source files"
    assert sorted(expected - names) == []
    # nothing but the four layers and the metadata: no tests, fixtures or bench scripts in what users install
    stray = {n for n in names if not n.startswith(LAYERS) and ".dist-info/" not in n}
    assert sorted(stray) == []
    # The licence the metadata names (Apache-2.0), as its text: what a redistributor must pass on.
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    text = zipfile.ZipFile(wheel).read(licence).decode()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata and "License-File: LICENSE" in metadata
