"""A real uvicorn server in a thread (the settings `rewardkit serve` uses), for tests that need real HTTP clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from rewardkit.serving.server import DrainingServer, uvicorn_config

START_TIMEOUT_S = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def live_server(app: FastAPI, max_connections: int = 64) -> Iterator[str]:
    """Serve `app` (from create_app) on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn_config(app, "127.0.0.1", port, app.state.service.limits, max_connections, log_level="warning")
    server = DrainingServer(config, app.state.service)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + START_TIMEOUT_S
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, f"uvicorn did not start within {START_TIMEOUT_S} s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
