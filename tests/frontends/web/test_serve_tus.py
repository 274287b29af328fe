"""Resumable uploads (tus 1.0): an upload cut in the middle resumes where it stopped, same SHA-256 and report."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import time
from pathlib import Path

import httpx

from tests.frontends.web.conftest import TOKEN_A, TOKEN_B, Server, read_answer, send_until_answered, wait_done
from tests.support.paths import CAPTURES, SUNBEAM
from tests.support.waiting import until

TUS = {"Tus-Resumable": "1.0.0"}


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(c: httpx.Client, length: int, **meta: str) -> str:
    r = c.post("/api/v1/uploads", headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": _meta(**meta)})
    assert r.status_code == 201, r.text
    assert r.headers["tus-resumable"] == "1.0.0" and r.headers["upload-expires"].endswith("GMT")
    return str(r.headers["location"])


def patch(c: httpx.Client, url: str, offset: int, data: bytes) -> httpx.Response:
    return c.patch(
        url,
        headers={**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        content=data,
    )


def cut_patch(server: Server, url: str, offset: int, declared: int, sent: bytes) -> None:
    """A PATCH whose client goes away after ``sent`` of ``declared`` bytes (a cut link)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            (
                f"PATCH {url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN_A}\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {declared}\r\n\r\n"
            ).encode()
            + sent
        )
    # No wait before the drop: TCP hands the server every byte before the FIN, and the PATCH reads what came
    # before it sees the connection go (40 runs under load, no sleep: all 40,000 bytes kept every time).


def offset_of(c: httpx.Client, url: str) -> int:
    r = c.head(url, headers=TUS)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    return int(r.headers["upload-offset"])


def settled_offset(c: httpx.Client, url: str, before: int) -> int:
    """The offset once the server has seen the cut PATCH's connection drop (it answers HEAD meanwhile):
    past ``before`` and the same in two answers 0.2 s apart (the part file grows as its last block is
    written; the PATCH ends just after)."""
    seen: list[int] = []

    def settled() -> bool:
        seen.append(offset_of(c, url))
        return len(seen) > 1 and seen[-1] == seen[-2] > before

    until(settled, "the cut PATCH's bytes in the part file", every=0.2)
    return seen[-1]


def test_discovery(server: Server) -> None:
    r = httpx.options(server.url + "/api/v1/uploads")
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert set(r.headers["tus-extension"].split(",")) == {"creation", "expiration", "termination"}
    assert int(r.headers["tus-max-size"]) == 64 << 20


def test_cut_and_resumed_upload_gives_the_same_capture(server: Server) -> None:
    data = SUNBEAM.read_bytes()
    with server.client() as c:
        raw = c.post("/api/v1/captures", params={"name": "sunbeam-install.pcap", "profile": "raw"}, content=data).json()
        url = create(c, len(data), name="sunbeam-install.pcap", profile="tus")
        assert offset_of(c, url) == 0
        r = patch(c, url, 0, data[:10_000])
        assert r.status_code == 204 and r.headers["upload-offset"] == "10000"
        cut_patch(server, url, 10_000, len(data) - 10_000, data[10_000:50_000])
        have = settled_offset(c, url, 10_000)
        assert have == 50_000  # every byte that arrived before the cut is kept
        assert patch(c, url, 1234, data[1234:]).status_code == 409  # a wrong offset is refused
        r = patch(c, url, have, data[have:])
        assert r.status_code == 204 and r.headers["upload-offset"] == str(len(data))
        capture_id = r.headers["egress-capture-id"]
        head = c.head(url, headers=TUS)
        assert head.headers["egress-capture-id"] == capture_id and head.headers["upload-offset"] == str(len(data))
        state = wait_done(c, r.headers["egress-status-url"])
        assert state["sha256"] == hashlib.sha256(data).hexdigest() == raw["sha256"]
        wait_done(c, raw["status_url"])
        assert c.get(f"/api/v1/captures/{capture_id}/report").text == c.get(raw["report_url"]).text
    assert not any(f.startswith("uploads/") for f in server.files())  # the part file became the capture


def test_resume_rebuilds_the_hash_after_a_restart(server: Server) -> None:
    """The running hash lives in memory; a server restarted between two parts hashes the part file again."""
    data = (CAPTURES / "microk8s-install.pcap").read_bytes()
    with server.client() as c:
        url = create(c, len(data), name="microk8s-install.pcap")
        half = len(data) // 2
        assert patch(c, url, 0, data[:half]).status_code == 204
    server.stop()
    server.start()
    with server.client() as c:
        assert offset_of(c, url) == half
        r = patch(c, url, half, data[half:])
        assert r.status_code == 204
        state = wait_done(c, r.headers["egress-status-url"])
    assert state["sha256"] == hashlib.sha256(data).hexdigest() and state["status"] == "done"


def test_limits_and_garbage(server: Server) -> None:
    before = server.files()
    with server.client() as c:
        r = c.post("/api/v1/uploads", headers={**TUS, "Upload-Length": str(65 << 20)})
        assert r.status_code == 413 and "--max-upload" in r.json()["error"]
        assert c.post("/api/v1/uploads", headers={"Upload-Length": "100"}).status_code == 412
        assert c.post("/api/v1/uploads", headers=TUS).status_code == 400
        url = create(c, 4000, name="junk.bin")
        r = patch(c, url, 0, b"MZ\x90\x00" + b"\x00" * 3996)
        assert r.status_code == 415 and r.json()["error"].startswith("not a pcap")
        assert c.head(url, headers=TUS).status_code == 404  # refused: the upload is gone
    assert server.files() == before


def test_uploads_are_private_and_can_be_terminated(server: Server) -> None:
    data = SUNBEAM.read_bytes()
    with server.client() as c:
        url = create(c, len(data))
        assert patch(c, url, 0, data[:100]).status_code == 204
    with server.client(TOKEN_B) as bob:
        assert bob.head(url, headers=TUS).status_code == 404
        assert patch(bob, url, 100, data[100:]).status_code == 404
    with server.client(None) as anonymous:
        assert anonymous.head(url, headers=TUS).status_code == 401
    with server.client() as c:
        assert c.delete(url, headers=TUS).status_code == 204
        assert c.head(url, headers=TUS).status_code == 404
    assert not any(f.startswith("uploads/") for f in server.files())


def test_partial_uploads_expire_after_a_day(tmp_path: Path) -> None:
    from frontends.web.config import Config, Tokens
    from frontends.web.service import Service
    from frontends.web.store import Upload

    service = Service(Config(data=tmp_path, tokens=Tokens((TOKEN_A.encode(),)), workers=1))
    try:
        now = time.time()
        for upload_id, age in (("old", 86400 + 60), ("new", 3600)):
            service.store.add_upload(Upload(upload_id, "o", 100, "x.pcap", "", "azure", "", now - age, None))
            service.part_file(upload_id).write_bytes(b"\xd4\xc3\xb2\xa1")
        assert service.clean(now) == (0, 1)
        assert not service.part_file("old").exists() and service.part_file("new").exists()
        assert service.store.upload("old", "o") is None and service.store.upload("new", "o") is not None
    finally:
        service.close()


def _patch_until_answered(server: Server, url: str, offset: int, body: bytes) -> tuple[int, str]:
    """A PATCH sent block by block until the server answers (it may answer before the body is whole):
    (status, body of the answer)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(
            (
                f"PATCH {url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN_A}\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
        )
        send_until_answered(s, (body[start : start + (1 << 20)] for start in range(0, len(body), 1 << 20)))
        return read_answer(s)


def test_a_patch_stops_at_the_disk_reserve_and_the_upload_resumes_when_room_is_back(tmp_path: Path) -> None:
    """The room a resumable upload's creation found can go to other uploads before its PATCHes: each
    block is checked against the reserve, the bytes before the refusal are kept, and the upload goes
    on once room is back."""
    record = SUNBEAM.read_bytes()
    header, packets = record[:24], record[24:]
    data = header + packets * ((48 << 20) // len(packets) + 1)  # a 48 MiB capture: sunbeam's packets, repeated
    free = shutil.disk_usage(tmp_path).free
    # Room for the upload (96 MiB over the reserve) when it is created; then 72 MiB of it go to other files,
    # so about 24 MiB of the 48 fit: the margins absorb what else this disk does meanwhile.
    srv = Server(tmp_path, "--workers", "1", "--max-upload", "1G", "--disk-reserve", str(free - (96 << 20)))
    try:
        with srv.client() as c:
            url = create(c, len(data), name="big.pcap")
            filler = tmp_path / "other-uploads.bin"
            with filler.open("wb") as fh:
                for _ in range(72):
                    fh.write(b"\0" * (1 << 20))
                fh.flush()
                os.fsync(fh.fileno())
            status, body = _patch_until_answered(srv, url, 0, data)
            assert status == 507, body
            assert "the disk is full" in body
            kept = offset_of(c, url)
            assert 0 < kept < len(data)  # stopped at the reserve, not before the first block nor after the last
            filler.unlink()
            r = patch(c, url, kept, data[kept:])
            assert r.status_code == 204 and r.headers["upload-offset"] == str(len(data)), r.text
            state = wait_done(c, r.headers["egress-status-url"])
        assert state["sha256"] == hashlib.sha256(data).hexdigest() and state["status"] == "done"
    finally:
        srv.stop()
