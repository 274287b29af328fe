"""Resumable uploads, tus 1.0 core with the creation, expiration and termination extensions.

``POST /api/v1/uploads`` (Upload-Length, Upload-Metadata: name, allowlist, dialect, profile) makes
an upload; ``HEAD`` says how many bytes the server has; ``PATCH`` appends at that offset.  A cut
PATCH keeps every byte that arrived, so the client asks HEAD and goes on from there.  The running
SHA-256 is kept between PATCHes (and rebuilt from the part file after a restart).  When the last
byte arrives the file is moved into place and its job queued, as for a raw upload; the PATCH's
answer (and HEAD's, afterwards) names the capture in ``Egress-Capture-Id`` / ``Egress-Status-Url``.
Parts older than a day are removed (``Upload-Expires``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from email.utils import formatdate

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from frontends.web.api import API, register, rejected
from frontends.web.intake import Sink, check_room, fsync_path, hash_file
from frontends.web.service import PARTIAL_UPLOAD_DAYS, ApiError, Service, clean_name, new_id
from frontends.web.sniff import Rejected
from frontends.web.store import Upload

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,expiration,termination"
HEAD_PROBE = 64 << 10  # bytes of a part file re-read so the sniff sees the start again on resume


class Running:
    """The hash of each upload between PATCHes, and who is writing it now."""

    def __init__(self) -> None:
        self.hashes: dict[str, tuple[int, hashlib._Hash]] = {}
        self.busy: set[str] = set()


def _headers(service: Service, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **(extra or {})}


def _check_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise ApiError(412, f"Tus-Resumable {TUS_VERSION} required", {"Tus-Version": TUS_VERSION})


def _metadata(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value, validate=True).decode("utf-8") if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(400, f"Upload-Metadata {key!r}: not base64 of UTF-8 text") from None
    return out


def _expires(upload: Upload) -> str:
    return formatdate(upload.created + PARTIAL_UPLOAD_DAYS * 86400, usegmt=True)


async def options(request: Request) -> Response:
    service: Service = request.app.state.service
    return Response(
        status_code=204,
        headers=_headers(
            service,
            {"Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS, "Tus-Max-Size": str(service.config.max_upload)},
        ),
    )


async def create(request: Request) -> Response:
    service: Service = request.app.state.service
    owner = service.owner(request)
    _check_version(request)
    if "upload-defer-length" in request.headers:
        raise ApiError(400, "Upload-Defer-Length is not supported: give Upload-Length")
    raw = request.headers.get("upload-length", "")
    if not raw.isdigit():
        raise ApiError(400, "Upload-Length (a number of bytes) is required")
    length = int(raw)
    config = service.config
    try:
        check_room(length, config.max_upload, config.data, config.disk_reserve)
        if length < 24:
            raise Rejected(422, f"{length} bytes: too short to be a capture")
    except Rejected as exc:
        raise rejected(exc) from None
    meta = _metadata(request.headers.get("upload-metadata", ""))
    allowlist = service.allowlist(owner, meta.get("allowlist"))
    upload = Upload(
        id=new_id(),
        owner=owner,
        length=length,
        name=clean_name(meta.get("name") or meta.get("filename"), "upload.pcap"),
        allowlist=allowlist.name if allowlist else "",
        dialect=service.dialect(meta.get("dialect")),
        profile=service.profile(meta.get("profile")),
        created=time.time(),
        capture_id=None,
    )
    service.part_file(upload.id).touch()
    service.store.add_upload(upload)
    return Response(
        status_code=201,
        headers=_headers(service, {"Location": f"{API}/uploads/{upload.id}", "Upload-Expires": _expires(upload)}),
    )


def _own(service: Service, request: Request) -> Upload:
    owner = service.owner(request)
    upload = service.store.upload(request.path_params["upload_id"], owner)
    if upload is None:
        raise ApiError(404, "no such upload (finished long ago, expired or never made)", _headers(service))
    return upload


def _done_headers(service: Service, upload: Upload) -> dict[str, str]:
    if upload.capture_id is None:
        return {}
    return {"Egress-Capture-Id": upload.capture_id, "Egress-Status-Url": f"{API}/captures/{upload.capture_id}"}


def _offset(service: Service, upload: Upload) -> int:
    if upload.capture_id is not None:
        return upload.length
    part = service.part_file(upload.id)
    return part.stat().st_size if part.exists() else 0


async def head(request: Request) -> Response:
    service: Service = request.app.state.service
    upload = _own(service, request)
    extra = {
        "Upload-Offset": str(_offset(service, upload)),
        "Upload-Length": str(upload.length),
        "Upload-Expires": _expires(upload),
        **_done_headers(service, upload),
    }
    return Response(status_code=200, headers=_headers(service, extra))


async def terminate(request: Request) -> Response:
    service: Service = request.app.state.service
    upload = _own(service, request)
    _check_version(request)
    if upload.id in request.app.state.tus.busy:
        raise ApiError(409, "a PATCH to this upload is running", _headers(service))
    service.store.delete_upload(upload.id)
    service.part_file(upload.id).unlink(missing_ok=True)
    request.app.state.tus.hashes.pop(upload.id, None)
    return Response(status_code=204, headers=_headers(service))


async def patch(request: Request) -> Response:
    service: Service = request.app.state.service
    upload = _own(service, request)
    _check_version(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/offset+octet-stream":
        raise ApiError(415, "Content-Type application/offset+octet-stream required", _headers(service))
    offset = _offset(service, upload)
    asked = request.headers.get("upload-offset", "")
    if asked != str(offset):
        raise ApiError(409, f"Upload-Offset {asked or 'missing'}, the server has {offset}", _headers(service))
    if upload.capture_id is not None:
        return Response(
            status_code=204, headers=_headers(service, {"Upload-Offset": str(offset), **_done_headers(service, upload)})
        )
    state: Running = request.app.state.tus
    if upload.id in state.busy:
        raise ApiError(409, "another PATCH to this upload is running", _headers(service))
    state.busy.add(upload.id)
    try:
        return await _append(service, request, upload, offset, state)
    finally:
        state.busy.discard(upload.id)


async def _append(service: Service, request: Request, upload: Upload, offset: int, state: Running) -> Response:
    part = service.part_file(upload.id)
    kept = state.hashes.pop(upload.id, None)
    hasher = kept[1] if kept is not None and kept[0] == offset else await run_in_threadpool(hash_file, part, offset)
    head_bytes = b""
    if offset:
        with part.open("rb") as fh:
            head_bytes = fh.read(min(offset, HEAD_PROBE))
    declared = request.headers.get("content-length")
    final = declared is not None and declared.isdigit() and offset + int(declared) >= upload.length
    try:
        with part.open("ab") as fh:
            # Each block against the disk's reserve: the room this upload's creation found may have gone to
            # other uploads since (a refused block is not written; the client resumes when room is back).
            room = (service.config.data, service.config.disk_reserve)
            sink = Sink(fh, hasher, limit=upload.length, offset=offset, head=head_bytes, room=room)
            try:
                async for chunk in request.stream():
                    if chunk:
                        await sink.feed(chunk)
                await sink.close_body(final)
            except ClientDisconnect:
                if sink.kind is not None:
                    await sink.flush()  # keep every byte that arrived: the client resumes after them
                state.hashes[upload.id] = (sink.written, sink.hasher)
                return Response(status_code=400)
    except Rejected as exc:
        if exc.status in (415, 422):  # not a capture: the upload is over, nothing of it is kept
            service.store.delete_upload(upload.id)
            part.unlink(missing_ok=True)
        elif exc.status == 507:  # the disk's reserve: what was written stays, for a resume once there is room
            state.hashes[upload.id] = (sink.written, sink.hasher)
        raise ApiError(exc.status, exc.reason, _headers(service)) from None
    if sink.written < upload.length:
        state.hashes[upload.id] = (sink.written, sink.hasher)
        return Response(status_code=204, headers=_headers(service, {"Upload-Offset": str(sink.written)}))
    await run_in_threadpool(fsync_path, part)
    meta_allowlist = service.allowlist(upload.owner, upload.allowlist) if upload.allowlist else None
    row, _new = register(
        service,
        upload.owner,
        part,
        sink.hasher.hexdigest(),
        upload.length,
        upload.name,
        meta_allowlist,
        upload.dialect,
        upload.profile,
    )
    service.store.complete_upload(upload.id, row.id)
    done = service.store.upload(upload.id, upload.owner)
    assert done is not None
    return Response(
        status_code=204,
        headers=_headers(service, {"Upload-Offset": str(upload.length), **_done_headers(service, done)}),
    )
