"""Load and faults: many uploads at once, clients that go away, a server killed mid-analysis."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analyzer.api import analyze
from frontends.web.worker import DELAY_ENV, EXIT_ENV
from reports import jsondoc
from tests.frontends.web.conftest import TOKEN_A, Server, copy_capture, read_answer, send_until_answered, wait_done
from tests.support.paths import CAPTURES, SUNBEAM
from tests.support.waiting import until

# 20 different fixture captures, so that no upload is answered from another's analysis.
TWENTY = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng", ".gz"))[:20]


def test_twenty_uploads_at_once(server: Server) -> None:
    assert len(TWENTY) == 20

    def one(path: Path) -> tuple[Path, str]:
        with server.client() as c:
            r = c.post("/api/v1/captures", params={"name": path.name, "profile": "load"}, content=path.read_bytes())
            assert r.status_code == 202, r.text
            state = wait_done(c, r.json()["status_url"], timeout=180)
            assert state["status"] == "done", state
            return path, c.get(r.json()["report_url"]).text

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, TWENTY))
    for path, text in results:  # the oracle: the JSON document the CLI writes, from the library in this process
        assert text == jsondoc.render(analyze(path, name=path.name)), path.name
    assert not any(f.startswith(("tmp/", "uploads/")) for f in server.files())


def test_a_client_that_goes_away_mid_upload_leaves_nothing(server: Server) -> None:
    before = server.files()
    data = SUNBEAM.read_bytes()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            (
                f"POST /api/v1/captures?name=cut.pcap HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN_A}\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data[: len(data) // 2]
        )
        # The server has the first half and is waiting for more: written as it came, under a temporary name.
        until(lambda: any(f.startswith("tmp/") for f in server.files()), "the first half in a file under tmp/")
    until(lambda: server.files() == before, "the cut upload's temporary file removed")
    with server.client() as c:
        assert all(x["name"] != "cut.pcap" for x in c.get("/api/v1/captures").json()["captures"])


def test_a_server_killed_mid_analysis_finishes_the_job_after_a_restart(tmp_path: Path) -> None:
    # The worker sleeps far longer than the test waits for it to die: an orphan that outlived the server
    # would still be there when the wait below gives up, never mistaken for one that died with it.
    srv = Server(tmp_path, "--workers", "1", env={DELAY_ENV: "180"})
    try:
        local = copy_capture(SUNBEAM, tmp_path)
        with srv.client() as c:
            sent = c.post("/api/v1/captures", params={"name": local.name}, content=local.read_bytes()).json()
            deadline = time.monotonic() + 60
            while c.get(sent["status_url"]).json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        workers = srv.workers()
        assert workers
        srv.kill()
        # The workers die with the server (the kernel signals them as it exits): no orphan finishes the job
        # behind its back.  Dying takes a moment, longer on a loaded machine: wait for it, not a fixed time.
        until(lambda: all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in workers),
              f"the server's children {workers} gone")  # fmt: skip
        srv.env = {}
        srv.start()
        with srv.client() as c:
            state = wait_done(c, sent["status_url"])
            assert state["status"] == "done", state
            assert c.get(sent["report_url"]).text == jsondoc.render(analyze(SUNBEAM, name=local.name))
    finally:
        srv.stop()


def _cmdline(pid: int) -> bytes:
    """A child's command line; empty once it has exited (a zombie's is empty too): the list of children
    is read before their command lines, and one of the broken pool's may be reaped in between."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_more_than_the_free_disk_is_refused(tmp_path: Path) -> None:
    from frontends.web.intake import check_room
    from frontends.web.sniff import Rejected

    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    with pytest.raises(Rejected) as refused:
        check_room(free + (1 << 30), 1 << 50, tmp_path, 64 << 20)
    assert refused.value.status == 413 and "does not fit" in refused.value.reason
    check_room(1 << 20, 1 << 50, tmp_path, 64 << 20)  # a small one fits


def test_an_upgraded_server_analyses_again_what_an_older_one_kept_as_a_pickle(tmp_path: Path) -> None:
    import pickle
    import shutil

    from frontends.web.documents import folder, legacy_pickle

    srv = Server(tmp_path, "--workers", "1")
    try:
        local = copy_capture(CAPTURES / "dns-tcp.pcap", tmp_path)
        want = jsondoc.render(analyze(local, name=local.name))
        with srv.client() as c:
            sent = c.post("/api/v1/captures", params={"name": local.name}, content=local.read_bytes()).json()
            assert wait_done(c, sent["status_url"])["status"] == "done"
        srv.stop()
        # What a server before the document folders left: the report pickled, no folder.  Its class path
        # names nothing importable now, as after a rename of Report.
        shutil.rmtree(folder(srv.data, sent["id"]))
        legacy_pickle(srv.data, sent["id"]).write_bytes(
            pickle.dumps(("analyzer.report_v0", "Report", {"capture": "old"}))
        )
        srv.start()
        with srv.client() as c:
            state = wait_done(c, sent["status_url"])
            assert state["status"] == "done" and state["error"] is None, state
            assert c.get(sent["report_url"]).text == want
        assert not legacy_pickle(srv.data, sent["id"]).exists()
        assert not any(f.endswith(".pickle") for f in srv.files())
        # A folder removed while the server runs: the job is queued again when asked for, not failed.
        shutil.rmtree(folder(srv.data, sent["id"]))
        with srv.client() as c:
            asked = c.get(sent["report_url"])
            assert asked.status_code == 409 and "being made again" in asked.json()["error"]
            assert wait_done(c, sent["status_url"])["status"] == "done"
            assert c.get(sent["report_url"]).text == want
    finally:
        srv.stop()


def _chunked_upload(server: Server, name: str, total: int, block: int = 1 << 20) -> tuple[int, str, int]:
    """A raw upload with no Content-Length (chunked), sent block by block until the server answers:
    (status, body, bytes sent before the answer came)."""
    data = SUNBEAM.read_bytes()
    body = (data * (block // len(data) + 1))[:block]
    blocks = -(-total // block)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(
            (
                f"POST /api/v1/captures?name={name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN_A}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        sent = send_until_answered(s, itertools.repeat(f"{len(body):x}\r\n".encode() + body + b"\r\n", blocks))
        if sent == blocks:
            s.sendall(b"0\r\n\r\n")
        status, text = read_answer(s)
    return status, text, sent * len(body)


def test_a_chunked_upload_stops_at_the_disk_reserve_and_leaves_nothing(tmp_path: Path) -> None:
    # The reserve is set 16 MiB under what is free now: the 17th MiB or so of a 256 MiB body reaches it.
    free = shutil.disk_usage(tmp_path).free
    srv = Server(tmp_path, "--workers", "1", "--max-upload", "1G", "--disk-reserve", str(free - (16 << 20)))
    try:
        status, body, sent = _chunked_upload(srv, "big.pcap", 256 << 20)
        assert status == 507, body
        assert "the disk is full" in body and "bytes received" in body
        assert sent < 128 << 20  # stopped as it arrived, not after the whole body
        assert srv.files() == set()  # the part written is gone; no capture, no job
        with srv.client() as c:
            assert c.get("/api/v1/captures").json()["captures"] == []
    finally:
        srv.stop()


def test_a_chunked_upload_that_fits_is_taken(server: Server) -> None:
    status, body, sent = _chunked_upload(server, "chunked.pcap", 0)
    assert (status, sent) == (422, 0), body  # an empty chunked body is no capture
    data = (CAPTURES / "dns-tcp.pcap").read_bytes()
    with server.client() as c:
        r = c.post("/api/v1/captures", params={"name": "chunked.pcap"}, content=iter([data[:100], data[100:]]))
        assert r.status_code in (200, 202), r.text
        assert wait_done(c, r.json()["status_url"])["status"] == "done"


def test_a_worker_that_dies_fails_its_job_in_one_line_and_the_pool_goes_on(tmp_path: Path) -> None:
    srv = Server(tmp_path, "--workers", "1", env={EXIT_ENV: "dies.pcap", DELAY_ENV: "2"})
    try:
        dies = copy_capture(CAPTURES / "dns-tcp.pcap", tmp_path, "dies.pcap")
        killed = copy_capture(CAPTURES / "vlan.pcap", tmp_path, "killed.pcap")
        fine = copy_capture(CAPTURES / "qinq.pcap", tmp_path, "fine.pcap")
        with srv.client() as c:
            # os._exit in the worker (as the OOM killer would end it).
            sent = c.post("/api/v1/captures", params={"name": dies.name}, content=dies.read_bytes()).json()
            state = wait_done(c, sent["status_url"])
            assert state["status"] == "failed"
            assert state["error"] == "dies.pcap: the analysis worker died (out of memory?); upload again to retry"
            # SIGKILL of the worker while it analyses.
            sent = c.post("/api/v1/captures", params={"name": killed.name}, content=killed.read_bytes()).json()
            deadline = time.monotonic() + 60
            while c.get(sent["status_url"]).json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            workers = [p for p in srv.workers() if b"spawn_main" in _cmdline(p)]
            assert len(workers) == 1
            os.kill(workers[0], signal.SIGKILL)
            state = wait_done(c, sent["status_url"])
            assert state["status"] == "failed" and "\n" not in state["error"]
            assert state["error"] == "killed.pcap: the analysis worker died (out of memory?); upload again to retry"
            # The pool is renewed: the next upload is analysed, and so is the killed one sent again.
            for path in (fine, killed):
                again = c.post("/api/v1/captures", params={"name": path.name}, content=path.read_bytes())
                assert again.status_code == 202, again.text
                assert wait_done(c, again.json()["status_url"])["status"] == "done"
                assert c.get(again.json()["report_url"]).text == jsondoc.render(analyze(path, name=path.name))
            assert again.json()["id"] == sent["id"]  # the failed analysis, tried again
    finally:
        srv.stop()


def test_a_dying_worker_does_not_fail_the_job_another_worker_was_running(tmp_path: Path) -> None:
    # Two workers: 'slow.pcap' sleeps in one when 'dies.pcap' kills the other, which breaks the whole pool.
    srv = Server(tmp_path, "--workers", "2", env={EXIT_ENV: "dies.pcap", DELAY_ENV: "3"})
    try:
        slow = copy_capture(CAPTURES / "sll.pcap", tmp_path, "slow.pcap")
        dies = copy_capture(CAPTURES / "dns-tcp.pcap", tmp_path, "dies.pcap")
        with srv.client() as c:
            # Both workers started first: CPython's pool notices the death of a worker spawned for the very
            # job only at the next result (its manager thread is woken before the worker exists).
            warm = [
                c.post("/api/v1/captures", params={"name": f"warm{i}.pcap"}, content=path.read_bytes()).json()
                for i, path in enumerate((CAPTURES / "vlan.pcap", CAPTURES / "qinq.pcap"))
            ]
            assert all(wait_done(c, w["status_url"])["status"] == "done" for w in warm)
            first = c.post("/api/v1/captures", params={"name": slow.name}, content=slow.read_bytes()).json()
            deadline = time.monotonic() + 60
            while c.get(first["status_url"]).json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            second = c.post("/api/v1/captures", params={"name": dies.name}, content=dies.read_bytes()).json()
            assert wait_done(c, second["status_url"])["status"] == "failed"
            state = wait_done(c, first["status_url"])
            assert state["status"] == "done" and state["error"] is None, state
            assert c.get(first["report_url"]).text == jsondoc.render(analyze(slow, name=slow.name))
        assert "requeued: another worker of the pool died" in srv.log.read_text()
    finally:
        srv.stop()
