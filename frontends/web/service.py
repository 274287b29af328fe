"""What every handler shares: the settings, the store, the job pool, auth and the signed download links."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from analyzer.api import InputError, Options
from frontends.web import documents
from frontends.web.config import ALLOWLIST_NAME, Config
from frontends.web.jobs import Dispatcher
from frontends.web.store import Capture, Store

log = logging.getLogger("egress.serve")

PARTIAL_UPLOAD_DAYS = 1.0
LINK_SECONDS = 3600  # how long a signed download link (for <a href> and the report's iframe) works


class ApiError(Exception):
    """An answer other than success: the status and one line (the JSON body is ``{"error": line}``)."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class AllowlistChoice:
    name: str  # what the client asks for: a server allowlist's NAME or an uploaded one's id
    label: str  # what the report calls it
    path: str  # where the worker reads it


def clean_name(name: str | None, default: str) -> str:
    """A label for an upload: the last path component of what the client said, at most 200 characters.
    It is only ever a label in the report (where the renderers escape it), never a path on disk."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(c for c in base if c.isprintable())
    return base[:200] if base and base not in (".", "..") else default


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        for folder in ("captures", "tmp", "uploads", "reports", "allowlists"):
            config.folder(folder).mkdir(parents=True, exist_ok=True)
        # Raw uploads and document folders in tmp/ are moved out whole or not at all: what a crash left is garbage.
        for stale in config.folder("tmp").iterdir():
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
        self.store = Store.create(config.database)
        self.jobs = Dispatcher(config, self.store)
        self.link_key = secrets.token_bytes(32)  # per process: links from an earlier run stop working

    # Auth.

    def owner(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, offered = header.partition(" ")
        if scheme.lower() != "bearer" or not offered.strip():
            raise ApiError(401, "missing bearer token (Authorization: Bearer TOKEN)", {"WWW-Authenticate": "Bearer"})
        owner = self.config.tokens.owner(offered.strip())
        if owner is None:
            raise ApiError(401, "unknown token", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return owner

    def sign(self, owner: str, capture_id: str, expires: int) -> str:
        msg = f"{owner}|{capture_id}|{expires}".encode()
        return hmac.new(self.link_key, msg, hashlib.sha256).hexdigest()

    def link(self, owner: str, capture_id: str, path: str, query: str) -> str:
        expires = int(time.time()) + LINK_SECONDS
        return f"{path}?{query}&expires={expires}&sig={self.sign(owner, capture_id, expires)}"

    def reader(self, request: Request, capture_id: str) -> Capture:
        """A capture its owner may read: by bearer token, or by a signed link to it that has not expired."""
        sig = request.query_params.get("sig")
        if sig is not None and "authorization" not in request.headers:
            try:
                expires = int(request.query_params.get("expires", ""))
            except ValueError:
                raise ApiError(401, "bad signed link") from None
            row = self.store.capture(capture_id)
            if row is None or not hmac.compare_digest(sig, self.sign(row.owner, capture_id, expires)):
                raise ApiError(401, "bad signed link")
            if expires < time.time():
                raise ApiError(401, "signed link expired: reload the page")
            return row
        row = self.store.capture(capture_id, self.owner(request))
        if row is None:  # someone else's capture looks exactly like no capture
            raise ApiError(404, f"no capture {capture_id}")
        return row

    # Options of an upload.

    def allowlist(self, owner: str, name: str | None) -> AllowlistChoice | None:
        if not name:
            return None
        if name in self.config.allowlists:
            path = str(self.config.allowlists[name])
            return AllowlistChoice(name, path, path)
        uploaded = self.store.allowlist(name, owner)
        if uploaded is None:
            offered = ", ".join(sorted(self.config.allowlists)) or "none configured"
            raise ApiError(400, f"unknown allowlist {name!r} (this server has: {offered}; or upload one)")
        return AllowlistChoice(name, uploaded.name, str(self.allowlist_file(owner, uploaded.sha256)))

    def allowlist_file(self, owner: str, sha256: str) -> Path:
        return self.config.folder("allowlists") / owner / f"{sha256}.txt"

    @staticmethod
    def dialect(value: str | None) -> str:
        try:
            return Options(dialect=value or "azure").dialect
        except InputError as exc:
            raise ApiError(400, str(exc)) from None

    @staticmethod
    def profile(value: str | None) -> str:
        if value and not ALLOWLIST_NAME.match(value):
            raise ApiError(400, "profile: letters, digits, '.', '_' and '-', at most 64")
        return value or ""

    def capture_file(self, owner: str, sha256: str) -> Path:
        return self.config.folder("captures") / owner / sha256

    # Reports.

    def requeue_unreadable(self) -> int:
        """Finished analyses without a readable document folder (kept as a pickle by an older server, or
        removed by hand) are analysed again rather than failing when asked for."""
        requeued = 0
        for capture_id in self.store.done():
            if documents.read_facts(self.config.data, capture_id) is None:
                self.requeue(capture_id)
                requeued += 1
        return requeued

    def requeue(self, capture_id: str) -> None:
        documents.remove(self.config.data, capture_id)
        if self.store.requeue_done(capture_id):
            self.jobs.submit(capture_id)

    # Retention.

    def clean(self, now: float | None = None) -> tuple[int, int]:
        """Remove analyses older than --retention-days (and their files) and partial uploads older than a day."""
        now = time.time() if now is None else now
        removed_captures = 0
        for row in self.store.expired_captures(now - self.config.retention_days * 86400):
            self.store.delete_capture(row.id)
            documents.remove(self.config.data, row.id)
            if not self.store.blob_in_use(row.owner, row.sha256):
                self.capture_file(row.owner, row.sha256).unlink(missing_ok=True)
            removed_captures += 1
        removed_uploads = 0
        for upload_id in self.store.expired_uploads(now - PARTIAL_UPLOAD_DAYS * 86400):
            self.store.delete_upload(upload_id)
            self.part_file(upload_id).unlink(missing_ok=True)
            removed_uploads += 1
        return removed_captures, removed_uploads

    def part_file(self, upload_id: str) -> Path:
        return self.config.folder("uploads") / f"{upload_id}.part"

    def free_disk(self) -> int:
        return shutil.disk_usage(self.config.data).free

    def close(self) -> None:
        self.jobs.shutdown()
        self.store.close()


def new_id() -> str:
    return secrets.token_hex(12)


def temp_path(config: Config) -> Path:
    return config.folder("tmp") / f"{new_id()}.{os.getpid()}"
