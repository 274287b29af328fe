"""The JSON API over captures: upload a raw body, list mine, a job's state, its reports and exports."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response

from frontends.web import documents
from frontends.web.intake import Sink, check_room, fsync_path, place, pump
from frontends.web.service import AllowlistChoice, ApiError, Service, clean_name, new_id, temp_path
from frontends.web.sniff import Rejected
from frontends.web.store import DONE, Capture

API = "/api/v1"
FORMATS = {  # format -> (media type, file extension): the documents `egress analyze --format` writes
    "json": ("application/json", "json"),
    "html": ("text/html; charset=utf-8", "html"),
    "md": ("text/markdown; charset=utf-8", "md"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
EXPORT_FILES = {
    "request-md": ("text/markdown; charset=utf-8", "md"),
    "azure-bicep": ("text/plain; charset=utf-8", "bicep"),
    "azure-arm": ("application/json", "json"),
    "cilium": ("application/yaml", "yaml"),
    "squid": ("text/plain; charset=utf-8", "conf"),
    "aws-domain-list": ("application/json", "json"),
    "text": ("text/plain; charset=utf-8", "txt"),
}
DEFAULT_NAMES = {
    "pcap": "upload.pcap",
    "pcapng": "upload.pcapng",
    "gzip": "upload.pcap.gz",
    "log": "upload.log",
    "log-gzip": "upload.log.gz",
}
# The HTML report keeps its own Content-Security-Policy (a <meta> in the page); the header adds that it
# runs in an opaque origin of its own, shown only inside this service's page.
REPORT_CSP = "sandbox allow-scripts allow-popups; frame-ancestors 'self'"


def rejected(exc: Rejected) -> ApiError:
    return ApiError(exc.status, exc.reason)


def capture_view(service: Service, row: Capture) -> dict[str, Any]:
    base = f"{API}/captures/{row.id}"
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "sha256": row.sha256,
        "size": row.size,
        "status": row.status,
        "progress": {
            "bytes": row.progress,
            "size": row.size,
            "fraction": round(row.progress / row.size, 4) if row.size else 1.0,
        },
        "error": row.error,
        "packets": row.packets,
        "counts": row.counts,
        "diagnosis": list(row.diagnosis),
        "allowlist": row.allowlist or None,
        "dialect": row.dialect,
        "profile": row.profile or None,
        "created": row.created,
        "finished": row.finished,
        "status_url": base,
        "report_url": f"{base}/report",
    }
    if row.status == DONE:
        view["downloads"] = {
            "report": {f: service.link(row.owner, row.id, f"{base}/report", f"format={f}") for f in FORMATS},
            "export": {t: service.link(row.owner, row.id, f"{base}/export", f"to={t}") for t in EXPORT_FILES},
        }
    return view


def accepted(service: Service, row: Capture, new: bool) -> JSONResponse:
    body = {k: capture_view(service, row)[k] for k in ("id", "sha256", "status", "status_url", "report_url")}
    body["existing"] = not new
    return JSONResponse(body, status_code=202 if new else 200, headers={"Location": body["status_url"]})


def register(
    service: Service,
    owner: str,
    source: Path,
    digest: str,
    size: int,
    name: str,
    allowlist: AllowlistChoice | None,
    dialect: str,
    profile: str,
) -> tuple[Capture, bool]:
    """A whole upload: its file moved into place (unless this token has it already), its job queued (unless
    the same capture with the same options was analysed already: then that analysis)."""
    place(source, service.capture_file(owner, digest))
    row, new = service.store.add_capture(
        {
            "id": new_id(),
            "owner": owner,
            "sha256": digest,
            "name": name,
            "size": size,
            "allowlist": allowlist.name if allowlist else "",
            "allowlist_label": allowlist.label if allowlist else "",
            "allowlist_path": allowlist.path if allowlist else "",
            "dialect": dialect,
            "profile": profile,
        }
    )
    if new:
        service.jobs.submit(row.id)
    return row, new


def declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise ApiError(400, "Content-Length is not a number")
    return int(value)


async def upload(request: Request) -> Response:
    """POST (or PUT, as `curl -T` sends) /api/v1/captures: the capture as the raw body.  Its name: the
    ``name`` query parameter, else the last path segment of a PUT to /api/v1/captures/NAME (what
    `curl -T out.pcap URL/` sends), else a default for its format."""
    service: Service = request.app.state.service
    owner = service.owner(request)
    q = request.query_params
    allowlist = service.allowlist(owner, q.get("allowlist"))
    dialect, profile = service.dialect(q.get("dialect")), service.profile(q.get("profile"))
    config = service.config
    length = declared_length(request)
    try:
        if length is not None:
            check_room(length, config.max_upload, config.data, config.disk_reserve)
        tmp = temp_path(config)
        try:
            with tmp.open("wb") as fh:
                limit = config.max_upload if length is None else length
                # Chunked (no length): the free disk is checked block by block as the body arrives.
                room = (config.data, config.disk_reserve) if length is None else None
                sink = Sink(fh, hashlib.sha256(), limit=limit, room=room)
                await pump(request.stream(), sink)
            if length is not None and sink.written != length:
                raise ApiError(400, f"body of {sink.written:,} bytes, Content-Length said {length:,}")
            await run_in_threadpool(fsync_path, tmp)
            given = q.get("name") or request.path_params.get("capture_id")
            name = clean_name(given, DEFAULT_NAMES[sink.kind or "pcap"])
            row, new = register(
                service, owner, tmp, sink.hasher.hexdigest(), sink.written, name, allowlist, dialect, profile
            )
        finally:
            tmp.unlink(missing_ok=True)  # a cut or refused body leaves nothing behind
    except Rejected as exc:
        raise rejected(exc) from None
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is listening; the temporary file is gone already
    return accepted(service, row, new)


async def list_captures(request: Request) -> Response:
    service: Service = request.app.state.service
    owner = service.owner(request)
    return JSONResponse({"captures": [capture_view(service, r) for r in service.store.captures(owner)]})


async def capture_status(request: Request) -> Response:
    service: Service = request.app.state.service
    owner = service.owner(request)
    capture_id = request.path_params["capture_id"]
    row = service.store.capture(capture_id, owner)
    if row is None:
        raise ApiError(404, f"no capture {capture_id}")
    view = capture_view(service, row)
    if row.status == DONE:  # the drift against the profile's baseline, as the worker found it
        facts = documents.read_facts(service.config.data, row.id) or {}
        view["drift"] = facts.get("drift")
        view["drift_error"] = facts.get("drift_error")
    return JSONResponse(view)


def _finished(service: Service, request: Request) -> tuple[Capture, dict[str, Any]]:
    row = service.reader(request, request.path_params["capture_id"])
    if row.status != DONE:
        detail = f": {row.error}" if row.error else ""
        raise ApiError(409, f"capture {row.id} is {row.status}{detail}")
    facts = documents.read_facts(service.config.data, row.id)
    if facts is None:  # kept by an older server, or removed: made again rather than failing
        service.requeue(row.id)
        raise ApiError(409, f"capture {row.id} is queued: its report is being made again")
    return row, facts


def _file_headers(row: Capture, ext: str, request: Request) -> dict[str, str]:
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in row.name)[:80] or "capture"
    disposition = "attachment" if request.query_params.get("download") else "inline"
    return {"Content-Disposition": f'{disposition}; filename="{stem}.{ext}"'}


async def report(request: Request) -> Response:
    """The documents the CLI writes, rendered by the worker with the same renderers from the same Report."""
    service: Service = request.app.state.service
    row, _ = _finished(service, request)
    fmt = request.query_params.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(400, f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    media, ext = FORMATS[fmt]
    headers = _file_headers(row, ext, request)
    if fmt == "html":
        headers["Content-Security-Policy"] = REPORT_CSP
    return FileResponse(documents.report_file(service.config.data, row.id, fmt), media_type=media, headers=headers)


async def export(request: Request) -> Response:
    """The allowlist the capture justifies, in a firewall's own syntax (`egress export --to`)."""
    service: Service = request.app.state.service
    row, facts = _finished(service, request)
    target = request.query_params.get("to", "")
    if target not in EXPORT_FILES:
        raise ApiError(400, f"unknown export target {target!r}: choose one of {', '.join(EXPORT_FILES)}")
    media, ext = EXPORT_FILES[target]
    headers = _file_headers(row, ext, request)
    notes = facts["notes"].get(target, [])
    if notes:
        headers["Egress-Notes"] = str(len(notes))
    return FileResponse(documents.export_file(service.config.data, row.id, target), media_type=media, headers=headers)


MAX_ALLOWLIST = 4 << 20


async def upload_allowlist(request: Request) -> Response:
    """POST /api/v1/allowlists?name=request.md: an allowlist of one's own, then ``allowlist=ID`` on an upload."""
    from analyzer.api import AllowlistText, InputError, read_allowlist
    from frontends.web.store import UploadedAllowlist

    service: Service = request.app.state.service
    owner = service.owner(request)
    length = declared_length(request)
    if length is not None and length > MAX_ALLOWLIST:
        raise ApiError(413, f"allowlist of {length:,} bytes is over the limit of {MAX_ALLOWLIST:,}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_ALLOWLIST:
            raise ApiError(413, f"allowlist is over the limit of {MAX_ALLOWLIST:,} bytes")
    name = clean_name(request.query_params.get("name"), "allowlist.txt")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, f"{name}: not UTF-8 text") from None
    try:
        parsed = read_allowlist(AllowlistText(name, text))
    except InputError as exc:
        raise ApiError(422, str(exc)) from None
    digest = hashlib.sha256(body).hexdigest()
    target = service.allowlist_file(owner, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(service.config)
        tmp.write_bytes(body)
        os.replace(tmp, target)
    entry = service.store.add_allowlist(
        UploadedAllowlist(f"a-{new_id()}", owner, name, digest, len(parsed.entries), time.time())
    )
    return JSONResponse({"id": entry.id, "name": entry.name, "entries": entry.entries}, status_code=201)


async def list_allowlists(request: Request) -> Response:
    service: Service = request.app.state.service
    owner = service.owner(request)
    mine = [{"id": a.id, "name": a.name, "entries": a.entries} for a in service.store.allowlists(owner)]
    return JSONResponse({"server": sorted(service.config.allowlists), "mine": mine})
