"""A real `egress serve` on 127.0.0.1: started as a subprocess on a free port, stopped by the test."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.paths import REPLAY, ROOT

TOKEN_A = "token-alice-0123456789abcdef"
TOKEN_B = "token-bob-fedcba9876543210xyz"
ALLOWLIST = REPLAY / "sunbeam.allowlist.md"


def bearer(token: str = TOKEN_A) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Server:
    """One server process; ``restart`` runs a new one on the same data folder."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.data = root / "data"
        self.tokens = root / "tokens.txt"
        self.tokens.write_text(f"# test tokens\n{TOKEN_A}\n{TOKEN_B}\n")
        self.args = args
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "server.log"
        self.start()

    def start(self) -> None:
        # --port 0: the server takes a free port and prints it, so no other process can take it first.
        cmd = [
            sys.executable, "-c", "from frontends.cli import main; main()", "serve",
            "--data", str(self.data), "--token-file", str(self.tokens), "--port", "0",
            "--allowlist", f"sunbeam={ALLOWLIST}", *self.args,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        logged = self.log.stat().st_size if self.log.exists() else 0  # a restart appends to the same log
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"egress serve exited {self.proc.returncode}: {self.log.read_text()}")
            if port is None:
                port = re.search(rb"^egress serve: http://127\.0\.0\.1:(\d+)/", self.log.read_bytes()[logged:], re.M)
                if port is None:
                    time.sleep(0.05)
                    continue
                self.port = int(port.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("egress serve did not answer within 60 s")

    def client(self, token: str | None = TOKEN_A, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=bearer(token) if token else {}, timeout=timeout)

    def workers(self) -> list[int]:
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def files(self) -> set[str]:
        """Every file under the data folder except the database's own."""
        # os.walk, not rglob: a worker's folder moved away mid-listing is skipped, not an error.
        return {
            str((Path(top) / name).relative_to(self.data))
            for top, _, names in os.walk(self.data)
            for name in names
            if "egress.sqlite" not in name
        }


def send_until_answered(s: socket.socket, pieces: Iterable[bytes]) -> int:
    """Send ``pieces`` one by one until the server answers (it may answer before a body is whole, and
    then reads no further): how many were sent before the answer."""
    sent = 0
    for piece in pieces:
        if select.select([s], [], [], 0)[0]:
            break  # the server answered
        try:
            s.sendall(piece)
        except OSError:
            break
        sent += 1
    return sent


def read_answer(s: socket.socket) -> tuple[int, str]:
    """The status and the whole body (its Content-Length) of the server's answer on ``s``."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        more = s.recv(65536)
        assert more, answer
        answer += more
    head, _, rest = answer.partition(b"\r\n\r\n")
    length = int(
        next(v for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k.lower() == b"content-length")
    )
    while len(rest) < length:
        rest += s.recv(65536)
    return int(head.split()[1]), rest.decode()


def wait_done(client: httpx.Client, status_url: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(status_url).json()
        if state["status"] in ("done", "failed"):
            return dict(state)
        time.sleep(0.1)
    raise AssertionError(f"{status_url} still {state['status']} after {timeout} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve")
    srv = Server(root, "--workers", "2", "--max-upload", "64M")
    yield srv
    srv.stop()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Every wait of the page tests (actions, wait_for_selector, expect): a CI runner with 2 cores under the whole
# suite is slow at times, and a deadline is free when the page is quick (Playwright's defaults: 30 s, 5 s).
PAGE_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (.ci/browser-deps installs it)")
    sync_api.expect.set_options(timeout=PAGE_TIMEOUT_MS)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        yield browser
        browser.close()


class Watched:
    """A page with its console errors, uncaught exceptions and dialogs (a dialog would be injected script)."""

    def __init__(self, browser: Any, downloads: Path) -> None:
        self.context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def sign_in(self, server: Server, token: str = TOKEN_A) -> None:
        self.page.goto(server.url + "/")
        self.page.fill("#token", token)
        self.page.click("#login-form button")
        self.page.wait_for_selector("#app", state="visible")

    def upload(self, files: Any) -> None:
        self.page.set_input_files("#file", files)
        self.page.wait_for_selector("#result", state="visible", timeout=90_000)

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def watched(chromium: Any, tmp_path: Path) -> Iterator[Watched]:
    w = Watched(chromium, tmp_path)
    yield w
    w.close()


def copy_capture(source: Path, folder: Path, name: str | None = None) -> Path:
    """The capture under ``name`` in ``folder``: the CLI run there labels it as the upload's name does."""
    target = folder / (name or source.name)
    shutil.copyfile(source, target)
    return target
