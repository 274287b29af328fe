"""The upload API against a real uvicorn on 127.0.0.1: uploads, jobs, reports, auth, limits."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.frontends.web.conftest import (
    ALLOWLIST,
    TOKEN_A,
    TOKEN_B,
    Server,
    copy_capture,
    wait_done,
)
from tests.support.paths import CAPTURES, HOSTILE, ROOT, SUNBEAM


def cli(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", "from frontends.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def upload(server: Server, path: Path, token: str = TOKEN_A, **query: str) -> dict[str, object]:
    with server.client(token) as c:
        r = c.post("/api/v1/captures", params={"name": path.name, **query}, content=path.read_bytes())
        assert r.status_code in (200, 202), r.text
        return dict(r.json())


def _finished(server: Server, *sent: dict[str, object]) -> None:
    """Wait for a test's jobs before it ends: a worker still writing the documents of one under the shared
    data folder would change what a later test's ``server.files()`` before/after comparison sees."""
    with server.client() as c:
        for s in sent:
            wait_done(c, str(s["status_url"]))


def test_upload_poll_report_is_what_the_cli_writes(server: Server) -> None:
    local = copy_capture(SUNBEAM, server.root)
    # A profile of its own: another test of this module's server may have analysed this capture with this
    # allowlist already (pytest's order is no contract), and then the upload is answered from that analysis.
    sent = upload(server, local, allowlist="sunbeam", profile="upload-poll")
    assert sent["status"] == "queued" and sent["existing"] is False
    assert sent["sha256"] == hashlib.sha256(SUNBEAM.read_bytes()).hexdigest()
    with server.client() as c:
        state = wait_done(c, str(sent["status_url"]))
        assert state["status"] == "done", state
        assert state["packets"] == 394 and state["error"] is None
        assert state["progress"] == {"bytes": SUNBEAM.stat().st_size, "size": SUNBEAM.stat().st_size, "fraction": 1.0}
        counts = state["counts"]
        assert isinstance(counts, dict) and counts["blocked"] == 4 and counts["missing"] == 3
        for fmt in ("json", "md", "csv", "html"):
            got = c.get(str(sent["report_url"]), params={"format": fmt})
            assert got.status_code == 200, got.text
            want = cli(server.root, "analyze", local.name, "-a", str(ALLOWLIST), "--format", fmt)
            assert got.text == want, fmt
        assert json.loads(c.get(str(sent["report_url"])).text)["capture"]["path"] == "sunbeam-install.pcap"
        html = c.get(str(sent["report_url"]), params={"format": "html"})
        assert "sandbox allow-scripts" in html.headers["content-security-policy"]
        assert "Content-Security-Policy" in html.text  # the report's own policy, intact
        for target in ("azure-bicep", "squid", "request-md"):
            got = c.get(f"{sent['status_url']}/export", params={"to": target})
            assert got.status_code == 200
            assert got.text == cli(server.root, "export", local.name, "--to", target), target


def test_same_capture_twice_is_the_same_analysis(server: Server) -> None:
    first = upload(server, CAPTURES / "dns-tcp.pcap")
    again = upload(server, CAPTURES / "dns-tcp.pcap")
    assert again["id"] == first["id"] and again["existing"] is True
    other_options = upload(server, CAPTURES / "dns-tcp.pcap", dialect="squid")
    assert other_options["id"] != first["id"]  # another analysis of the same stored file
    stored = [f for f in server.files() if f.startswith("captures/") and f.endswith(str(first["sha256"]))]
    assert len(stored) == 1
    _finished(server, first, other_options)


def test_tokens(server: Server) -> None:
    sent = upload(server, CAPTURES / "vlan.pcap")
    with server.client(None) as anonymous:
        for path in ("/api/v1/captures", str(sent["status_url"]), str(sent["report_url"])):
            r = anonymous.get(path)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = anonymous.post("/api/v1/captures", content=(CAPTURES / "vlan.pcap").read_bytes())
        assert r.status_code == 401
    with server.client("token-nobody-has-this-0000000") as wrong:
        assert wrong.get("/api/v1/captures").status_code == 401
    with server.client(TOKEN_B) as bob:
        wait_done(server.client(), str(sent["status_url"]))
        assert bob.get(str(sent["status_url"])).status_code == 404
        assert bob.get(str(sent["report_url"])).status_code == 404
        assert all(c["id"] != sent["id"] for c in bob.get("/api/v1/captures").json()["captures"])
    with server.client() as alice:
        mine = alice.get("/api/v1/captures").json()["captures"]
        assert sent["id"] in {c["id"] for c in mine}


def test_signed_links_open_one_capture_only(server: Server) -> None:
    a = upload(server, CAPTURES / "qinq.pcap")
    b = upload(server, CAPTURES / "sll.pcap")
    with server.client() as c:
        links = wait_done(c, str(a["status_url"]))["downloads"]
        wait_done(c, str(b["status_url"]))
    assert isinstance(links, dict)
    link = links["report"]["md"]
    with server.client(None) as anonymous:
        assert anonymous.get(link).status_code == 200
        assert anonymous.get(link.replace(str(a["id"]), str(b["id"]))).status_code == 401
        assert anonymous.get(link.replace("sig=", "sig=0")).status_code == 401


def _raw_request(server: Server, head: str, body: bytes = b"") -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += s.recv(65536)
        head_part, _, rest = answer.partition(b"\r\n\r\n")
        length = next(
            int(v)
            for k, _, v in (h.partition(b":") for h in head_part.split(b"\r\n"))
            if k.lower() == b"content-length"
        )
        while len(rest) < length:
            rest += s.recv(65536)
        return int(head_part.split()[1]), rest.decode(errors="replace")


def test_over_the_limit_is_refused_before_the_body_is_stored(server: Server) -> None:
    before = server.files()
    status, body = _raw_request(
        server,
        "POST /api/v1/captures HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {TOKEN_A}\r\nContent-Length: {10 << 30}\r\nExpect: 100-continue\r\n",
    )  # headers only: the answer comes before a byte of the 10 GiB body is sent
    assert status == 413 and "over this server's limit" in body
    assert server.files() == before


def test_not_a_capture(server: Server) -> None:
    before = server.files()
    with server.client() as c:
        r = c.post("/api/v1/captures", content=b"<html><script>alert(1)</script></html>" * 100)
        assert r.status_code == 415
        assert r.json() == {"error": "not a pcap, pcapng or gzip capture (it starts with 3c 68 74 6d 6c 3e 3c 73)"}
        assert c.post("/api/v1/captures", content=b"").status_code == 422
        assert c.post("/api/v1/captures", content=SUNBEAM.read_bytes()[:10]).status_code == 422
        import gzip

        assert c.post("/api/v1/captures", content=gzip.compress(b"GIF89a" * 100)).status_code == 415
        assert c.post("/api/v1/captures", params={"dialect": "nope"}, content=b"x").status_code == 400
        assert c.post("/api/v1/captures", params={"allowlist": "nope"}, content=b"x").status_code == 400
    assert server.files() == before


def test_a_capture_that_fails_analysis_says_why(server: Server) -> None:
    # A pcap header announcing a link type, then a record whose length field is absurd: cut after the header.
    data = SUNBEAM.read_bytes()[:24] + b"\xff" * 16
    with server.client() as c:
        r = c.post("/api/v1/captures", params={"name": "odd.pcap"}, content=data)
        assert r.status_code == 202
        state = wait_done(c, r.json()["status_url"])
    assert state["status"] == "done" or (state["status"] == "failed" and str(state["error"]).startswith("odd.pcap"))


def test_gzip_and_pcapng_are_taken(server: Server) -> None:
    for name in ("gzipped.pcap.gz", "multi-if.pcapng"):
        sent = upload(server, CAPTURES / name)
        with server.client() as c:
            assert wait_done(c, str(sent["status_url"]))["status"] == "done"


def test_an_uploaded_allowlist(server: Server) -> None:
    with server.client() as c:
        r = c.post("/api/v1/allowlists", params={"name": "mine.md"}, content=ALLOWLIST.read_bytes())
        assert r.status_code == 201
        entry = r.json()
        assert entry["name"] == "mine.md" and entry["entries"] > 30
        assert c.post("/api/v1/allowlists", content=b"\xff\xfe").status_code == 422
        listed = c.get("/api/v1/allowlists").json()
        assert listed["server"] == ["sunbeam"] and entry["id"] in {a["id"] for a in listed["mine"]}
        sent = upload(server, copy_capture(SUNBEAM, server.root, "with-mine.pcap"), allowlist=entry["id"])
        assert wait_done(c, str(sent["status_url"]))["status"] == "done"
        doc = c.get(str(sent["report_url"])).json()
    assert doc["allowlist"]["files"] == ["mine.md"] and len(doc["excess"]) == 19
    with server.client(TOKEN_B) as bob:  # Bob cannot use Alice's allowlist
        r = bob.post("/api/v1/captures", params={"allowlist": entry["id"]}, content=SUNBEAM.read_bytes())
        assert r.status_code == 400


def test_hostile_names_come_back_as_data(server: Server) -> None:
    local = copy_capture(HOSTILE, server.root)
    sent = upload(server, local)
    with server.client() as c:
        assert wait_done(c, str(sent["status_url"]))["status"] == "done"
        assert c.get(str(sent["report_url"])).text == cli(server.root, "analyze", local.name, "--format", "json")


def test_openapi_describes_the_api(server: Server) -> None:
    with server.client(None) as c:
        doc = c.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    paths = ["/api/v1/captures", "/api/v1/captures/{capture_id}", "/api/v1/captures/{capture_id}/report"]
    paths += ["/api/v1/captures/{capture_id}/export", "/api/v1/uploads", "/api/v1/uploads/{upload_id}"]
    assert set(paths) <= set(doc["paths"])


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b/../c.pcap", "-n", "\x1b[31mred.pcap"])
def test_file_names_are_labels_never_paths(server: Server, name: str) -> None:
    data = (CAPTURES / "raw101.pcap").read_bytes()
    with server.client() as c:
        r = c.post(
            "/api/v1/captures",
            params={"name": name, "profile": hashlib.sha256(name.encode()).hexdigest()[:12]},
            content=data,
        )
        assert r.status_code in (200, 202)
        label = c.get(r.json()["status_url"]).json()["name"]
    digest = hashlib.sha256(data).hexdigest()
    stored = [Path(f) for f in server.files() if f.startswith("captures/")]
    assert digest in {p.name for p in stored}
    assert all(len(p.name) == 64 and int(p.name, 16) >= 0 for p in stored)  # named by their SHA-256 only
    assert label == {"../../etc/passwd": "passwd", "a/b/../c.pcap": "c.pcap", "-n": "-n"}.get(name, "[31mred.pcap")
    # os.walk, not rglob: the server may remove a temporary file while the tree is listed
    everything = {name for _, dirs, files in os.walk(server.root) for name in (*dirs, *files)}
    assert not everything & {"passwd", "c.pcap"}
    _finished(server, r.json())


def test_every_document_is_rendered_once_into_the_captures_folder(server: Server) -> None:
    from analyzer.api import analyze, read_allowlist
    from frontends.web.api import EXPORT_FILES
    from reports.exports import TARGETS, build

    assert set(EXPORT_FILES) == set(TARGETS)  # the API serves every target `egress export` knows
    local = copy_capture(SUNBEAM, server.root, "every-doc.pcap")
    sent = upload(server, local, allowlist="sunbeam")
    with server.client() as c:
        assert wait_done(c, str(sent["status_url"]))["status"] == "done"
        stored = sorted(f for f in server.files() if f.startswith(f"reports/{sent['id']}/"))
        names = [f.rsplit("/", 1)[1] for f in stored]
        assert names == sorted(["facts.json", *(f"report.{f}" for f in ("json", "html", "md", "csv"))] +
                               [f"export.{t}" for t in TARGETS])  # fmt: skip
        assert not any(f.endswith(".pickle") for f in server.files())
        report = analyze(local, allowlist=read_allowlist(ALLOWLIST), name=local.name)
        for target in TARGETS:
            got = c.get(f"{sent['status_url']}/export", params={"to": target})
            assert got.status_code == 200 and got.headers["content-type"].startswith(EXPORT_FILES[target][0])
            want = build(report, target)
            assert got.text == want.text, target
            assert got.headers.get("egress-notes") == (str(len(want.notes)) if want.notes else None), target


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_upload_keeps_the_file_name(server: Server, tmp_path: Path) -> None:
    """`curl -T out.pcap URL/` (a URL ending in "/") PUTs to URL/out.pcap: the capture keeps its name,
    as with ?name=; a name given as a parameter wins over the path's."""
    capture = tmp_path / "microk8s-node1.pcap"
    capture.write_bytes((CAPTURES / "nano.pcap").read_bytes())  # no other test here sends it
    auth = ["-H", f"Authorization: Bearer {TOKEN_A}"]
    base = f"{server.url}/api/v1/captures/"
    sent = subprocess.run(
        ["curl", "-sS", "-T", str(capture), *auth, base], capture_output=True, text=True, timeout=60, check=True
    )
    accepted = json.loads(sent.stdout)
    with server.client() as c:
        state = wait_done(c, accepted["status_url"])
        assert state["status"] == "done" and c.get(accepted["status_url"]).json()["name"] == "microk8s-node1.pcap"
        named = c.put("/api/v1/captures/ignored.pcap", params={"name": "given.pcap", "profile": "put"},
                      content=(CAPTURES / "ipv6.pcap").read_bytes())  # fmt: skip
        assert named.status_code in (200, 202), named.text
        assert c.get(named.json()["status_url"]).json()["name"] == "given.pcap"
