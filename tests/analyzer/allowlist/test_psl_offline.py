"""The Public Suffix List comes from tldextract's bundled snapshot: nothing may touch the network."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from analyzer.allowlist import psl


def test_suffix_lookups_work_with_the_network_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kw: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    psl.suffix_list.cache_clear()
    psl.registrable_domain.cache_clear()
    assert psl.registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert psl.registrable_domain("bucket.s3.amazonaws.com") == "bucket.s3.amazonaws.com"
    assert psl.is_public_suffix("com") and psl.is_public_suffix("co.uk")
    assert "githubusercontent.com" in psl.private_suffixes_under("githubusercontent.com")


def test_no_cache_directory_is_written(tmp_path: object) -> None:
    """A fresh process with HOME pointed at an empty directory leaves it empty (no PSL download cache)."""
    home = __import__("pathlib").Path(str(tmp_path))
    code = "from analyzer.allowlist.psl import registrable_domain as r; print(r('x.y.canonical.com'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "canonical.com", out.stderr
    assert not any(home.rglob("*"))
