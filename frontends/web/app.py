"""The ASGI application of ``egress serve``: routes, errors as one JSON line, start-up and retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontends.web import api, page, tus
from frontends.web.config import Config
from frontends.web.openapi import openapi
from frontends.web.service import ApiError, Service

log = logging.getLogger("egress.serve")
CLEAN_EVERY_S = 3600.0
HEAL_EVERY_S = 1.0
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=exc.headers)


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi())


def create_app(config: Config) -> Starlette:
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        requeued = service.jobs.resume()
        if requeued:
            log.warning("requeued %d analysis job(s) a stopped server left running", requeued)
        redone = service.requeue_unreadable()
        if redone:
            log.warning("requeued %d finished analysis(es) without readable documents (an older server's)", redone)
        task = asyncio.create_task(_housekeeping(service))
        try:
            yield
        finally:
            task.cancel()
            service.close()

    routes = [
        Route("/", page.index, methods=["GET"]),
        Route("/static/{name}", page.static, methods=["GET"]),
        Route(f"{api.API}/openapi.json", _openapi, methods=["GET"]),
        Route(f"{api.API}/captures", api.upload, methods=["POST", "PUT"]),
        Route(f"{api.API}/captures", api.list_captures, methods=["GET"]),
        Route(f"{api.API}/captures/{{capture_id}}", api.capture_status, methods=["GET"]),
        # `curl -T out.pcap URL/` appends the file's name to a URL that ends in "/": the segment is the name.
        Route(f"{api.API}/captures/{{capture_id}}", api.upload, methods=["PUT"]),
        Route(f"{api.API}/captures/{{capture_id}}/report", api.report, methods=["GET"]),
        Route(f"{api.API}/captures/{{capture_id}}/export", api.export, methods=["GET"]),
        Route(f"{api.API}/allowlists", api.upload_allowlist, methods=["POST"]),
        Route(f"{api.API}/allowlists", api.list_allowlists, methods=["GET"]),
        Route(f"{api.API}/uploads", tus.options, methods=["OPTIONS"]),
        Route(f"{api.API}/uploads", tus.create, methods=["POST"]),
        Route(f"{api.API}/uploads/{{upload_id}}", tus.head, methods=["HEAD"]),
        Route(f"{api.API}/uploads/{{upload_id}}", tus.patch, methods=["PATCH"]),
        Route(f"{api.API}/uploads/{{upload_id}}", tus.terminate, methods=["DELETE"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error},
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.service = service
    app.state.tus = tus.Running()
    return app


class SecurityHeaders:
    """Headers every answer carries; API answers are never cached.  Plain ASGI (no buffering of bodies)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = str(scope.get("path", "")).startswith(api.API)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                if is_api:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, sending)


async def _housekeeping(service: Service) -> None:
    """Retention at start and every hour; a broken job pool renewed within a second."""
    last_clean = 0.0
    loop = asyncio.get_running_loop()
    while True:
        if loop.time() - last_clean >= CLEAN_EVERY_S or last_clean == 0.0:
            last_clean = loop.time()
            try:
                captures, uploads = service.clean()
                if captures or uploads:
                    log.warning("retention: removed %d analyses and %d partial uploads", captures, uploads)
            except Exception:
                log.exception("retention cleanup failed")
        service.jobs.heal()
        await asyncio.sleep(HEAL_EVERY_S)
