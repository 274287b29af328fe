"""The API's OpenAPI 3.1 description, served at ``/api/v1/openapi.json``: written out, as the API is small."""

from __future__ import annotations

from typing import Any

from frontends.web.api import EXPORT_FILES, FORMATS


def _error(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _query(name: str, text: str, enum: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if enum:
        schema["enum"] = enum
    return {"name": name, "in": "query", "required": False, "description": text, "schema": schema}


_ID = {"name": "capture_id", "in": "path", "required": True, "schema": {"type": "string"}}
_UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TUS = {"name": "Tus-Resumable", "in": "header", "required": True, "schema": {"const": "1.0.0"}}
_OPTIONS = [
    _query("allowlist", "a server allowlist's NAME (GET /allowlists) or the id of one uploaded with POST /allowlists"),
    _query("dialect", "wildcard rules of the firewall", ["azure", "squid", "aws", "cilium", "calico", "exact"]),
    _query(
        "profile",
        "a label for the install (letters, digits, . _ -); with --history, the capture is compared with that "
        "profile's baseline of nightly runs",
    ),
    _query("name", "the capture's file name: a label in the report, never a path"),
]
_AUTH_ERRORS = {"401": _error("no token, or not one of the server's tokens")}


def openapi() -> dict[str, Any]:
    upload = {
        "summary": "Upload a capture as the raw body (curl -T out.pcap); its analysis is queued",
        "parameters": _OPTIONS,
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        "responses": {
            "202": {"description": "stored, analysis queued", "content": _json("Accepted")},
            "200": {
                "description": "this token uploaded the same capture (SHA-256) with the same options: that one",
                "content": _json("Accepted"),
            },
            "400": _error("bad option or body"),
            "413": _error("over --max-upload or the free disk (said before the body is read)"),
            "507": _error("a chunked body (no Content-Length) reached the disk's reserve: what came is removed"),
            "415": _error("not a pcap, pcapng or gzip capture (its first bytes)"),
            "422": _error("too short or cut inside its file header"),
            **_AUTH_ERRORS,
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "egress-analyzer upload service",
            "version": "1",
            "description": "Upload a tcpdump capture of an install; read which names and ports it needed and "
            "what the firewall blocked. Every call needs `Authorization: Bearer TOKEN`; a capture is visible "
            "only to the token that uploaded it.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/captures": {
                "post": upload,
                "put": {**upload, "summary": "The same as POST (what curl -T sends)"},
                "get": {
                    "summary": "My captures, newest first",
                    "responses": {"200": {"description": "", "content": _json("CaptureList")}, **_AUTH_ERRORS},
                },
            },
            "/api/v1/captures/{capture_id}": {
                "get": {
                    "summary": "A capture's analysis: status, progress, error, packets, counts, diagnosis",
                    "parameters": [_ID],
                    "responses": {
                        "200": {"description": "", "content": _json("Capture")},
                        "404": _error("no such capture of this token"),
                        **_AUTH_ERRORS,
                    },
                },
                "put": {
                    **upload,
                    "summary": "Upload a capture, the path's last segment its name (curl -T out.pcap URL/ sends that)",
                    "parameters": [
                        {**_ID, "description": "here, the capture's file name (the name parameter wins if given)"},
                        *_OPTIONS,
                    ],
                },
            },
            "/api/v1/captures/{capture_id}/report": {
                "get": {
                    "summary": "The report, as `egress analyze --format` writes it",
                    "parameters": [
                        _ID,
                        _query("format", "default json", list(FORMATS)),
                        _query("download", "1: as an attachment"),
                    ],
                    "responses": {
                        "200": {"description": "the document"},
                        "409": _error("the analysis is not done (or failed: the error line)"),
                        "404": _error("no such capture of this token"),
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/captures/{capture_id}/export": {
                "get": {
                    "summary": "The allowlist the capture justifies, in a firewall's syntax (`egress export --to`)",
                    "parameters": [_ID, {**_query("to", "target", list(EXPORT_FILES)), "required": True}],
                    "responses": {
                        "200": {"description": "the export"},
                        "409": _error("the analysis is not done"),
                        "404": _error("no such capture of this token"),
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/allowlists": {
                "get": {
                    "summary": "The server's allowlists (names) and mine (ids)",
                    "responses": {"200": {"description": ""}, **_AUTH_ERRORS},
                },
                "post": {
                    "summary": "Upload an allowlist (Markdown request, text, Bicep, ARM, Cilium, squid, CSV); "
                    "use its id "
                    "as allowlist= of an upload",
                    "parameters": [_query("name", "its file name (a label)")],
                    "requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "responses": {
                        "201": {"description": "{id, name, entries}"},
                        "413": _error("over 4 MiB"),
                        "422": _error("no valid entry, or not UTF-8"),
                        **_AUTH_ERRORS,
                    },
                },
            },
            "/api/v1/uploads": {
                "options": {
                    "summary": "tus 1.0 discovery: Tus-Version, Tus-Extension, Tus-Max-Size",
                    "security": [],
                    "responses": {"204": {"description": ""}},
                },
                "post": {
                    "summary": "tus creation: Upload-Length, and Upload-Metadata (name, allowlist, dialect, "
                    "profile; base64)",
                    "parameters": [_TUS],
                    "responses": {
                        "201": {"description": "Location of the upload, Upload-Expires"},
                        "413": _error("over --max-upload or the free disk"),
                        **_AUTH_ERRORS,
                    },
                },
            },
            "/api/v1/uploads/{upload_id}": {
                "head": {
                    "summary": "tus: Upload-Offset (bytes the server has); when whole, Egress-Capture-Id and "
                    "Egress-Status-Url",
                    "parameters": [_UPLOAD_ID],
                    "responses": {"200": {"description": ""}, "404": {"description": "no such upload"}},
                },
                "patch": {
                    "summary": "tus: append application/offset+octet-stream at Upload-Offset; the last part "
                    "queues the analysis",
                    "parameters": [_UPLOAD_ID, _TUS],
                    "responses": {
                        "204": {"description": "Upload-Offset; when whole, Egress-Capture-Id and Egress-Status-Url"},
                        "409": _error("Upload-Offset is not the server's offset, or another PATCH is running"),
                        "415": _error("not a capture: the upload is dropped"),
                        "507": _error("the disk's reserve was reached: the bytes before it are kept; resume later"),
                        **_AUTH_ERRORS,
                    },
                },
                "delete": {
                    "summary": "tus termination",
                    "parameters": [_UPLOAD_ID, _TUS],
                    "responses": {"204": {"description": ""}},
                },
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _SCHEMAS,
        },
    }


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
    "Accepted": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "sha256": {"type": "string"},
            "status": {"enum": ["queued", "running", "done", "failed"]},
            "status_url": {"type": "string"},
            "report_url": {"type": "string"},
            "existing": {"type": "boolean"},
        },
    },
    "Capture": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "sha256": {"type": "string"},
            "size": {"type": "integer"},
            "status": {"enum": ["queued", "running", "done", "failed"]},
            "progress": {
                "type": "object",
                "properties": {
                    "bytes": {"type": "integer"},
                    "size": {"type": "integer"},
                    "fraction": {"type": "number"},
                },
            },
            "error": {"type": ["string", "null"]},
            "packets": {"type": ["integer", "null"]},
            "counts": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
            "diagnosis": {"type": "array", "items": {"type": "string"}},
            "downloads": {"type": "object", "description": "signed links (an hour) to every format and export"},
            "drift": {
                "type": ["object", "null"],
                "description": "GET /captures/{id} of a done capture uploaded with profile= on a server with "
                "--history: {profile, baseline (nights), baseline_nights, baseline_state, items}, each item a "
                "row of `egress drift --format json` (class: new, gone, newly-blocked, regression, ...)",
            },
            "drift_error": {"type": ["string", "null"], "description": "why there is no drift (one line)"},
        },
    },
    "CaptureList": {
        "type": "object",
        "properties": {"captures": {"type": "array", "items": {"$ref": "#/components/schemas/Capture"}}},
    },
}
