"""uvicorn on the app: one process (the analyses have their own pool), loopback by default."""

from __future__ import annotations

import logging
import socket
import sys

from frontends.web.config import Config, ConfigError


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound here rather than by uvicorn: with ``--port 0`` the system picks a
    free port, and the start-up line must say which (a script or a test reads it there, instead of
    guessing a free port that another process may take first).  Bound as uvicorn binds its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None
    return sock


def run(config: Config, sock: socket.socket) -> None:
    """Serve on ``sock`` (from :func:`listen`) until SIGTERM or SIGINT."""
    import uvicorn

    from frontends.web.app import create_app

    logging.basicConfig(level=logging.WARNING, format="egress serve: %(message)s", stream=sys.stderr)
    app = create_app(config)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host
    print(
        f"egress serve: http://{shown}:{port}/ (data {config.data}, {len(config.tokens.secrets)} token(s), "
        f"{config.workers} worker(s), uploads up to {config.max_upload:,} bytes)",
        file=sys.stderr,
        flush=True,
    )
    # h11: plain HTTP/1.1 in pure Python, no optional C parser needed; no access log (it would carry tokens
    # of signed links), warnings and errors only.
    settings = uvicorn.Config(app, http="h11", log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(settings).run(sockets=[sock])
