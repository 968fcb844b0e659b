"""Running the app under uvicorn with the safety settings: a header read timeout, a connection cap, and a shutdown
that answers every accepted request within a bound.

uvicorn's keep-alive timeout only starts after a first response, so a client that opens a connection and sends
half a request line would hold it forever; `ReadTimeoutH11Protocol` closes a connection that has not delivered a
complete request head within `read_timeout_s` (the body's time is bounded by limits.BodyGuard). On SIGTERM (or
Ctrl-C) the server stops accepting, the batcher refuses new work with 503 and runs what it accepted; whatever is
still unanswered after `shutdown_timeout_s` gets 503, so the process exits within that bound plus one model call.
"""

from __future__ import annotations

import asyncio
import math
from types import FrameType

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from rewardkit.serving.limits import ServingLimitsConfig
from rewardkit.serving.micro_batcher import ShuttingDown
from rewardkit.serving.model_service import ModelService

SHUTDOWN_MARGIN_S = 5.0
KEEP_ALIVE_S = 5


def read_timeout_protocol(read_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request head is not complete within `read_timeout_s`."""

    class ReadTimeoutH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_read_timeout()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_read_timeout()

        def _arm_read_timeout(self) -> None:
            self.loop.call_later(read_timeout_s, self._close_if_no_request_since, self.cycle)

        def _close_if_no_request_since(self, cycle_when_armed: object) -> None:
            no_new_request = self.cycle is cycle_when_armed and (self.cycle is None or self.cycle.response_complete)
            if no_new_request and not self.transport.is_closing():
                self.transport.close()

    return ReadTimeoutH11Protocol


class DrainingServer(uvicorn.Server):
    """uvicorn's server, telling the model service to drain when a shutdown signal arrives."""

    def __init__(self, config: uvicorn.Config, service: ModelService) -> None:
        super().__init__(config)
        self.service = service
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self._draining:
            self._draining = True
            loop = asyncio.get_event_loop()
            loop.call_soon_threadsafe(self._begin_drain, loop)
        super().handle_exit(sig, frame)

    def _begin_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        self.service.batcher.drain()
        timeout = self.service.limits.shutdown_timeout_s
        error = ShuttingDown(
            f"the server shut down before this request was answered (--shutdown-timeout-s {timeout:g})"
        )
        loop.call_later(timeout, self.service.batcher.fail_waiting, error)


def uvicorn_config(
    app: FastAPI, host: str, port: int, limits: ServingLimitsConfig, max_connections: int, log_level: str = "info"
) -> uvicorn.Config:
    """uvicorn settings from the limits: h11 with the read timeout, a connection cap (503 above), graceful shutdown."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=read_timeout_protocol(limits.read_timeout_s),
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=math.ceil(limits.shutdown_timeout_s + SHUTDOWN_MARGIN_S),
        limit_concurrency=max_connections,
        log_level=log_level,
    )


def run_server(app: FastAPI, host: str, port: int, max_connections: int) -> None:
    """Serve `app` (made by create_app) until SIGTERM/SIGINT, then drain within its shutdown bound."""
    service: ModelService = app.state.service
    DrainingServer(uvicorn_config(app, host, port, service.limits, max_connections), service).run()
