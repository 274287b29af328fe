"""The upload page: server-rendered HTML, a small plain script and a style sheet, all from package data."""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from frontends.web.service import ApiError

STATIC = {"page.js": "text/javascript; charset=utf-8", "page.css": "text/css; charset=utf-8"}
# The page runs only its own script and style, talks only to this server and frames only its reports.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _static(name: str) -> str:
    return (resources.files("frontends.web") / "static" / name).read_text(encoding="utf-8")


async def index(request: Request) -> Response:
    return Response(
        _static("page.html"), media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": PAGE_CSP}
    )


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:  # a fixed list: a request names a file, never a path
        raise ApiError(404, "not found")
    return Response(_static(name), media_type=STATIC[name], headers={"Cache-Control": "no-cache"})
