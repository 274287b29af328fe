"""Two nights of a ``sunbeam`` lab, for the nightly history and drift tests.

Each night holds the replayed sunbeam install (``fixtures/captures/sunbeam-install.pcap``, in
``host-a/out.pcap``) and a second host's capture built here with the fixture builders (in
``host-b/out.pcap``: the same file name, one folder per host, as a CI lab writes them).

- night 1, host b: ``mirror.nightly.example`` and ``dropped.nightly.example``, both answered;
- night 2, host b: ``mirror.nightly.example`` cut after its ClientHello (blocked),
  ``added.nightly.example`` answered, ``dropped.nightly.example`` no longer contacted.

So night 2 against night 1 is exactly: new ``added``, gone ``dropped``, newly-blocked ``mirror``.
A third night (for the drift tests) lets ``mirror`` through again, brings ``dropped`` back and
moves ``added`` to port 8443: unblocked, flapping and port-change against the first two.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from fixtures.builders import packets, tls
from tests.support.paths import SUNBEAM

NIGHT1, NIGHT2, NIGHT3 = "2026-11-30", "2026-12-01", "2026-12-02"
MIRROR, DROPPED, ADDED = "mirror.nightly.example", "dropped.nightly.example", "added.nightly.example"
ADDRESSES = {MIRROR: "203.0.113.150", DROPPED: "203.0.113.151", ADDED: "203.0.113.152"}


def answered(name: str, cport: int, port: int = 443) -> list[bytes]:
    """A TLS connection to ``name`` whose server answers with TLS: verdict ok."""
    hello = tls.client_hello(name, seed=name)
    return packets.conversation(
        [(True, hello), (False, tls.server_flight(name))], port, server=ADDRESSES[name], cport=cport
    )


def cut_after_hello(name: str, cport: int) -> list[bytes]:
    """A ClientHello to ``name`` answered by a reset: verdict tls-interrupted, blocked."""
    frames = packets.conversation([(True, tls.client_hello(name, seed=name))], 443, server=ADDRESSES[name], cport=cport)
    hello_len = len(tls.client_hello(name, seed=name))
    rst = IP(src=ADDRESSES[name], dst=packets.CLIENT) / TCP(
        sport=443, dport=cport, flags="R", seq=9000, ack=1000 + hello_len
    )
    return [*frames, bytes(Ether() / rst)]


def host_b(night: str, path: Path) -> Path:
    """Host b's capture of ``night``."""
    if night == NIGHT1:
        frames = answered(MIRROR, 41001) + answered(DROPPED, 41002)
    elif night == NIGHT2:
        frames = cut_after_hello(MIRROR, 41001) + answered(ADDED, 41003)
    else:  # NIGHT3: mirror gets through again, dropped is back, added moved to port 8443
        frames = answered(MIRROR, 41001) + answered(DROPPED, 41002) + answered(ADDED, 41003, port=8443)
    path.parent.mkdir(parents=True, exist_ok=True)
    packets.write_frames(path, frames)
    return path


def night_folder(night: str, root: Path) -> Path:
    """``root/sunbeam/`` holding ``host-a/out.pcap`` (the replay) and ``host-b/out.pcap`` (built)."""
    folder = root / night / "sunbeam"
    (folder / "host-a").mkdir(parents=True, exist_ok=True)
    shutil.copy(SUNBEAM, folder / "host-a" / "out.pcap")
    host_b(night, folder / "host-b" / "out.pcap")
    return folder


ALLOWLIST = (
    f"{MIRROR}:443\n{DROPPED}:443\nunused.nightly.example:443\n"  # covers mirror and dropped; one entry never used
)
# Night 2 against night 1, without and with ALLOWLIST: (class, name) in report order.
EXPECTED = [("newly-blocked", MIRROR), ("new", ADDED), ("gone", DROPPED)]
EXPECTED_WITH_ALLOWLIST = [
    ("regression", MIRROR),
    ("new", ADDED),
    ("gone", DROPPED),
    ("unused-entry", "unused.nightly.example"),
]


def allowlist_file(root: Path) -> Path:
    path = root / "request.txt"
    path.write_text(ALLOWLIST)
    return path


def two_nights(root: Path, *, allowlist: bool = False, **nightly: Any) -> Path:
    """A history of both nights under ``root/history``, stored through the API; returns the history folder."""
    from analyzer.api import nightly as run_nightly
    from analyzer.api import read_allowlist

    rules = read_allowlist(allowlist_file(root)) if allowlist else None
    history = root / "history"
    for night in (NIGHT1, NIGHT2):
        run_nightly([night_folder(night, root / "captures")], history=history, night=night, allowlist=rules, **nightly)
    return history


def host_b_capture(night: str, root: Path) -> Path:
    """Host b's capture of ``night`` alone, as a single upload would send it."""
    return host_b(night, root / "uploads" / night / "out.pcap")


def host_b_history(root: Path, upto: tuple[str, ...] = (NIGHT1,), *, allowlist: bool = False) -> Path:
    """A ``sunbeam`` history of host b's captures only, one night each of ``upto``: an upload of host b's
    capture of a later night then differs from it exactly as that night differs (``EXPECTED`` for night 2)."""
    from analyzer.api import nightly as run_nightly
    from analyzer.api import read_allowlist

    root.mkdir(parents=True, exist_ok=True)
    rules = read_allowlist(allowlist_file(root)) if allowlist else None
    history = root / "history"
    for night in upto:
        capture = host_b(night, root / "captures" / night / "sunbeam" / "host-b" / "out.pcap")
        run_nightly([capture], history=history, night=night, profile="sunbeam", allowlist=rules)
    return history


def html_table(page: str, table_id: str) -> list[list[str]]:
    """The body rows of the page's table ``table_id`` as cell texts (entities decoded), by the stdlib parser."""
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.inside = self.body = False
            self.rows: list[list[str]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "table":
                self.inside = ("id", table_id) in attrs
            elif self.inside and tag == "tbody":
                self.body = True
            elif self.body and tag == "tr":
                self.rows.append([])
            elif self.body and tag == "td":
                self.rows[-1].append("")

        def handle_endtag(self, tag: str) -> None:
            if tag == "table":
                self.inside = self.body = False

        def handle_data(self, data: str) -> None:
            if self.body and self.rows and self.rows[-1]:
                self.rows[-1][-1] += data

    parser = Rows()
    parser.feed(page)
    return parser.rows
