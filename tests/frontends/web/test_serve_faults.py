"""Load and faults: many uploads at once, clients that go away, a server killed mid-analysis."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analyzer.api import analyze
from frontends.web.worker import DELAY_ENV
from reports import jsondoc
from tests.frontends.web.conftest import TOKEN_A, Server, copy_capture, wait_done
from tests.support.paths import CAPTURES, SUNBEAM

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
        time.sleep(0.5)  # the server has the first half and is waiting for more
        assert any(f.startswith("tmp/") for f in server.files())  # written as it came, under a temporary name
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and server.files() != before:
        time.sleep(0.1)
    assert server.files() == before
    with server.client() as c:
        assert all(x["name"] != "cut.pcap" for x in c.get("/api/v1/captures").json()["captures"])


def test_a_server_killed_mid_analysis_finishes_the_job_after_a_restart(tmp_path: Path) -> None:
    srv = Server(tmp_path, "--workers", "1", env={DELAY_ENV: "3"})
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
        time.sleep(0.5)
        for pid in workers:  # the workers died with the server: no orphan finishes the job behind its back
            assert not Path(f"/proc/{pid}").exists() or _zombie(pid), pid
        srv.env = {}
        srv.start()
        with srv.client() as c:
            state = wait_done(c, sent["status_url"])
            assert state["status"] == "done", state
            assert c.get(sent["report_url"]).text == jsondoc.render(analyze(SUNBEAM, name=local.name))
    finally:
        srv.stop()


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
