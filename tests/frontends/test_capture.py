"""``egress capture`` end to end: real packets on loopback and on a veth pair into a network namespace.

Real servers (HTTP, TLS with SNI and a certificate made by ``cryptography``, a UDP echo, a closed
port) and a real client run as processes; the pcap the capture writes is read back by ``egress
analyze`` and by tshark (the independent oracle).  Capturing needs root: elsewhere these tests skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import egress
from tests.support.live import HTTP_NAME, TLS_NAME
from tests.support.paths import ROOT
from tests.support.waiting import until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="capturing packets needs root (CAP_NET_RAW)")

ENTRY = [sys.executable, "-c", "from frontends.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
REPORT = ["--include-noise", "private", "--format", "json"]  # test addresses are private: keep them


def _servers(addr: str, folder: Path, netns: str | None = None) -> tuple[subprocess.Popen[str], dict[str, int]]:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "tests.support.live", "serve", addr, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=ENV,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def _client(addr: str, ports: dict[str, int], *extra: str) -> list[str]:
    return [sys.executable, "-m", "tests.support.live", "client", addr, json.dumps(ports), *extra]


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[dict[str, int]]:
    proc, ports = _servers("127.0.0.1", tmp_path)
    yield ports
    proc.kill()
    proc.wait()


NS, HOST_IF, NS_IF = f"egress-t{os.getpid()}", f"egt{os.getpid() % 100000}a", f"egt{os.getpid() % 100000}b"
# A subnet of this test run's own, as the names are: two runs at once on one machine (CI and a developer's,
# or parallel checkouts) must not both route 10.203.77.0/24 to their veth.
_NET = f"10.203.{os.getpid() % 251 + 1}"
HOST_ADDR, NS_ADDR = f"{_NET}.1", f"{_NET}.2"


@pytest.fixture
def netns(tmp_path: Path) -> Iterator[dict[str, int]]:
    """A namespace at the far end of a veth pair, the servers inside it; torn down afterwards."""
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2 (ip netns)")
    steps = [
        ["ip", "netns", "add", NS],
        ["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF],
        ["ip", "link", "set", NS_IF, "netns", NS],
        ["ip", "addr", "add", f"{HOST_ADDR}/24", "dev", HOST_IF],
        ["ip", "link", "set", HOST_IF, "up"],
        ["ip", "-n", NS, "addr", "add", f"{NS_ADDR}/24", "dev", NS_IF],
        ["ip", "-n", NS, "link", "set", NS_IF, "up"],
        ["ip", "-n", NS, "link", "set", "lo", "up"],
    ]
    proc = None
    try:
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode:
                pytest.skip(f"cannot make a network namespace here: {' '.join(step)}: {done.stderr.strip()}")
        proc, ports = _servers(NS_ADDR, tmp_path, NS)
        yield ports
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "link", "del", HOST_IF], capture_output=True)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def _rows(doc: dict[str, object]) -> set[tuple[object, ...]]:
    return {(r["protocol"], r["fqdn"], r["port"], r["verdict"]) for r in doc["summary"]}  # type: ignore[attr-defined, index]


def _expected(ports: dict[str, int]) -> set[tuple[object, ...]]:
    return {
        ("HTTP", HTTP_NAME, ports["http"], "ok"),
        ("TLS", TLS_NAME, ports["tls"], "ok"),
        ("TCP", None, ports["closed"], "reset"),
        ("UDP", None, ports["udp"], "ok"),
    }


def _tshark_count(path: Path) -> int:
    done = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number"], capture_output=True)
    assert done.returncode == 0, done.stderr
    return len(done.stdout.split())


needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is the oracle")


@needs_tshark
def test_loopback_names_verdicts_and_the_same_tables_offline(loopback: dict[str, int], tmp_path: Path) -> None:
    pcap, out = tmp_path / "out.pcap", tmp_path / "live.json"
    done = egress("capture", "-i", "lo", "-w", str(pcap), *REPORT, "-o", str(out), "--",
                  *_client("127.0.0.1", loopback))  # fmt: skip
    assert done.returncode == 0, done.stderr
    live = json.loads(out.read_text())
    ours = {r for r in _rows(live) if r[2] in loopback.values()}
    assert ours == _expected(loopback)
    assert live["capture"]["link_type_names"] == ["ether"]
    offline = json.loads(egress("analyze", str(pcap), *REPORT).stdout)
    assert live.keys() == offline.keys()
    for part in live:  # the capture facts, the warnings and every table
        assert live[part] == offline[part], part
    assert _tshark_count(pcap) == live["capture"]["packets"]


@needs_tshark
def test_veth_into_a_namespace_with_any_and_a_filter(netns: dict[str, int], tmp_path: Path) -> None:
    pcap, out = tmp_path / "any.pcap", tmp_path / "any.json"
    done = egress("capture", "-w", str(pcap), "--filter", f"host {NS_ADDR}", *REPORT, "-o", str(out), "--",
                  *_client(NS_ADDR, netns))  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert doc["capture"]["link_type_names"] == ["linux-sll2"]  # -i any, like tcpdump
    assert _rows(doc) == _expected(netns)  # the filter kept this test's traffic only
    addresses = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "ip.addr"], capture_output=True,
                               text=True, check=True).stdout.split()  # fmt: skip
    assert addresses and all(NS_ADDR in a.split(",") for a in addresses)
    assert _tshark_count(pcap) == doc["capture"]["packets"]
    # the host side of the veth, Ethernet: the same connections
    done = egress("capture", "-i", HOST_IF, *REPORT, "--", *_client(NS_ADDR, netns))
    doc = json.loads(done.stdout)
    assert doc["capture"]["link_type_names"] == ["ether"]
    assert {r for r in _rows(doc) if r[2] in netns.values()} == _expected(netns)


def test_exit_status_is_the_commands_unless_a_gate_fires(loopback: dict[str, int], tmp_path: Path) -> None:
    done = egress("capture", "-i", "lo", "--filter", "udp port 9", "--", sys.executable, "-c", "raise SystemExit(7)")
    assert done.returncode == 7, done.stderr
    gated = egress("capture", "-i", "lo", *REPORT, "--fail-on", "blocked", "--", *_client("127.0.0.1", loopback))
    assert gated.returncode == 1  # the closed port's RST is a blocked connection
    assert "blocked destination" in gated.stderr
    killed = egress("capture", "-i", "lo", "--filter", "udp port 9", "--", "sh", "-c", "kill -TERM $$")
    assert killed.returncode == 128 + signal.SIGTERM


@contextlib.contextmanager
def _capturing(args: list[str], tmp_path: Path, pcap: Path) -> Iterator[subprocess.Popen[str]]:
    """``egress capture ARGS -w PCAP`` started, once it captures: traffic before that is not the test's.
    The pcap is made just after the packet socket is open (scapy's import before it takes a while).
    A capture still running when the test ends (it failed) is killed: it would capture lo until reboot."""
    proc = subprocess.Popen([*ENTRY, *args], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        until(lambda: pcap.exists() or proc.poll() is not None, f"{pcap.name} made by the capture")
        assert proc.poll() is None, proc.communicate()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@needs_tshark
def test_sigint_mid_capture_leaves_a_readable_pcap(loopback: dict[str, int], tmp_path: Path) -> None:
    pcap = tmp_path / "int.pcap"
    with _capturing(["capture", "-i", "lo", "-w", str(pcap), *REPORT], tmp_path, pcap) as proc:
        subprocess.run(_client("127.0.0.1", loopback), check=True, cwd=ROOT, env=ENV)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert _expected(loopback) <= _rows(doc)
    assert _tshark_count(pcap) == doc["capture"]["packets"] > 0
    # killed outright: the pcap is cut after its last flushed record, still readable
    killed = tmp_path / "kill.pcap"
    with _capturing(["capture", "-i", "lo", "-w", str(killed)], tmp_path, killed) as proc:
        subprocess.run(_client("127.0.0.1", loopback), check=True, cwd=ROOT, env=ENV)

        def flushed() -> bool:  # the capture flushes every second, later on a loaded machine
            return _expected(loopback) <= _rows(json.loads(egress("analyze", str(killed), *REPORT).stdout))

        until(flushed, "the client's connections flushed to the pcap", every=0.5)
        proc.kill()
        proc.wait()
    after = json.loads(egress("analyze", str(killed), *REPORT).stdout)
    assert _expected(loopback) <= _rows(after)


@needs_tshark
def test_rotation_gives_whole_segments(loopback: dict[str, int], tmp_path: Path) -> None:
    pcap = tmp_path / "seg.pcap"
    # Only the test's ports: with all of loopback, a busy machine's traffic made hundreds of 2K segments, each
    # read twice by tshark below (a quarter of an hour under load).
    only = " or ".join(f"port {p}" for p in loopback.values())
    done = egress("capture", "-i", "lo", "-w", str(pcap), "--filter", only, "--rotate", "2K", *REPORT, "--",
                  *_client("127.0.0.1", loopback))  # fmt: skip
    assert done.returncode == 0, done.stderr
    segments = sorted(tmp_path.glob("seg-*.pcap"))
    assert len(segments) >= 2
    assert not list(tmp_path.glob("*.part"))
    assert [f"wrote {s}" for s in segments] == [line for line in done.stderr.splitlines() if line.startswith("wrote")]
    for s in segments:
        assert s.stat().st_size <= 2000 or _tshark_count(s) == 1  # a record larger than a segment stands alone
        assert subprocess.run(["tshark", "-r", str(s)], capture_output=True).returncode == 0  # whole, not cut
    assert sum(_tshark_count(s) for s in segments) == json.loads(done.stdout)["capture"]["packets"]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_bytes(b"\x7fELF not really\n")
    (tmp_path / "plain.txt").chmod(0o755)  # executable, but the kernel cannot run it (ENOEXEC)
    cases = {
        ("-i", "nonexistent0", "--", "true"): "no such interface 'nonexistent0'",
        ("-i", "lo", "--filter", "tcp port", "--", "true"): "capture filter 'tcp port'",
        ("-i", "lo", "--rotate", "1G", "--", "true"): "--rotate needs a file to write (-w)",
        ("-i", "lo", "-w", str(tmp_path / "x.pcap"), "--rotate", "lots"): "--rotate 'lots': not a size",
        ("-i", "lo", "--", "no-such-command-here"): "command not found: no-such-command-here",
        ("-i", "lo", "-w", str(tmp_path / "no" / "x.pcap"), "--", "true"): "cannot write in",
        ("-i", "lo", "-w", str(tmp_path), "--", "true"): "is a directory",
        ("-i", "lo", "--", str(tmp_path / "plain.txt")): "cannot run",
    }
    for args, reason in cases.items():
        done = egress("capture", *args)
        assert done.returncode == 2, args
        assert done.stderr.count("\n") == 1 and reason in done.stderr, done.stderr


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop CAP_NET_RAW")
def test_without_cap_net_raw_one_line_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", *ENTRY, "capture", "-i", "lo", "--", "true"],
        capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == "egress: error: capturing on lo needs root or CAP_NET_RAW\n"


HOSTILE = "<script>\x1b[2J\x1b]0;pwned\x07=cmd|'/c calc'!A0.evil.test"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux to drive a real terminal")
def test_live_view_in_tmux_renders_and_keeps_hostile_names_inert(loopback: dict[str, int], tmp_path: Path) -> None:
    session = f"egress-live-{os.getpid()}"
    script = tmp_path / "run.sh"
    only = " or ".join(f"port {p}" for p in loopback.values())  # other programs use loopback too: a short screen
    seen = tmp_path / "seen"  # made once the live view showed the name: the client ends then, not before
    command = [*ENTRY, "capture", "-i", "lo", "--filter", only, "--include-noise", "private", "--",
               *_client("127.0.0.1", loopback, "--host", HOSTILE, "--hold-until", str(seen))]  # fmt: skip
    import shlex

    script.write_text(f"cd {shlex.quote(str(ROOT))}; {shlex.join(command)}; echo EXIT=$?; sleep 30\n")
    env = ["-e", f"PYTHONPATH={ROOT}"]
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", *env, "sh", str(script)],
                   check=True)  # fmt: skip
    try:
        screens = []

        def shown(screen: str) -> bool:
            return (
                "capturing on lo" in screen
                and "packets/s" in screen
                and "dropped" in screen
                and ("<script>\\x1b[2J" in screen)
            )

        def exited() -> bool:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-e", "-t", session], capture_output=True,
                                    text=True).stdout  # fmt: skip
            screens.append(screen)
            if shown(screen):
                seen.touch()
            return "EXIT=" in screen

        until(exited, "the capture's exit in the terminal", timeout=120, every=0.5)
        live = [s for s in screens if "capturing on lo" in s]
        assert live, screens[-1]
        assert any(shown(s) for s in live)
        final = screens[-1]
        assert "EXIT=0" in final
        assert "Egress summary" in final and "<script>\\x1b[2J" in final
        # capture-pane -e shows the escapes the terminal holds: only rich's colours (SGR), never the name's
        for s in screens:
            assert "\x1b[2J" not in s and "\x1b]0;" not in s
        title = subprocess.run(["tmux", "display-message", "-p", "-t", session, "#{pane_title}"],
                               capture_output=True, text=True).stdout  # fmt: skip
        assert "pwned" not in title
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


@needs_tshark
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux to drive a real terminal")
def test_ctrl_c_in_a_terminal_stops_command_and_capture(loopback: dict[str, int], tmp_path: Path) -> None:
    """Ctrl-C reaches the whole foreground group: COMMAND dies of SIGINT (130), the pcap is whole."""
    import shlex

    session, pcap = f"egress-int-{os.getpid()}", tmp_path / "ctrl-c.pcap"
    only = " or ".join(f"port {p}" for p in loopback.values())
    command = [*ENTRY, "capture", "-i", "lo", "-w", str(pcap), "--filter", only, "--no-live", "-f", "json",
               "-o", str(tmp_path / "r.json"), "--include-noise", "private", "--", "sh", "-c",
               f"{shlex.join(_client('127.0.0.1', loopback))} && echo CLIENT-DONE; exec sleep 60"]  # fmt: skip
    script = tmp_path / "run.sh"
    script.write_text(f"cd {shlex.quote(str(ROOT))}; {shlex.join(command)}; echo EXIT=$?; sleep 30\n")
    # bash, not sh: it goes on with the script when its child exits by itself after a Ctrl-C
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-e", f"PYTHONPATH={ROOT}", "bash", str(script)],
                   check=True)  # fmt: skip

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout

    try:
        until(lambda: "CLIENT-DONE" in screen(), "the client done, the capture still running", timeout=120)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)

        def exit_shown() -> str:
            shown = screen()
            return shown if "EXIT=" in shown else ""

        final = until(exit_shown, "the exit status shown", timeout=120)
        assert "EXIT=130" in final, final
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert _expected(loopback) <= _rows(doc)
    assert _tshark_count(pcap) == doc["capture"]["packets"]
