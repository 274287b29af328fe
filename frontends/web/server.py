"""uvicorn on the app: one process (the analyses have their own pool), loopback by default."""

from __future__ import annotations

import logging
import sys

from frontends.web.config import Config


def run(config: Config, host: str, port: int) -> None:
    import uvicorn

    from frontends.web.app import create_app

    logging.basicConfig(level=logging.WARNING, format="egress serve: %(message)s", stream=sys.stderr)
    app = create_app(config)
    print(
        f"egress serve: http://{host}:{port}/ (data {config.data}, {len(config.tokens.secrets)} token(s), "
        f"{config.workers} worker(s), uploads up to {config.max_upload:,} bytes)",
        file=sys.stderr,
        flush=True,
    )
    # h11: plain HTTP/1.1 in pure Python, no optional C parser needed; no access log (it would carry tokens
    # of signed links), warnings and errors only.
    uvicorn.run(app, host=host, port=port, http="h11", log_level="warning", access_log=False, lifespan="on")
