"""The HTTP server: any RewardModel behind `/score`, `/compare` and OpenRLHF's `/get_reward`, micro-batched.

Start it with `rewardkit serve MODEL` (any spec `rewardkit eval --model` takes). All routes share one model
executor (one thread, in the micro-batcher), so the model runs one call at a time whichever route it serves.
Errors are answered, never
swallowed: a malformed request gets 422 naming the field, a model without the asked capability (a pairwise-only
judge asked for pointwise scores) 501, a model failure 500 with its message; other requests are unaffected.
The same model also answers vLLM's and SGLang's pooling shapes (pooling_api.py) and OpenAI chat completions
(chat_api.py); limits.py bounds every request, metrics.py counts them at `/metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from rewardkit.protocol import RewardModel
from rewardkit.serving.auth import api_key_guard
from rewardkit.serving.chat_api import chat_router
from rewardkit.serving.limits import BodyGuard, ServingLimitsConfig, checked_json_route, validation_error_answer
from rewardkit.serving.metrics import PROMETHEUS_CONTENT_TYPE, ServingMetrics
from rewardkit.serving.micro_batcher import BatchingConfig
from rewardkit.serving.model_service import ModelService
from rewardkit.serving.openrlhf import split_queries
from rewardkit.serving.pooling_api import pooling_router
from rewardkit.serving.schemas import (
    CompareRequest,
    CompareResponse,
    OpenRLHFRequest,
    OpenRLHFResponse,
    ScoreRequest,
    ScoreResponse,
)


def _texts(texts: Sequence[str | None]) -> list[str | None] | None:
    return list(texts) if any(text is not None for text in texts) else None


def _add_rewardkit_routes(app: FastAPI, service: ModelService) -> None:
    """rewardkit's `/score`, `/compare` and OpenRLHF's `/get_reward`."""

    @app.post("/score")
    async def score(http: Request, request: ScoreRequest) -> ScoreResponse:
        scores = await service.score(http, request.prompts, request.responses)
        return ScoreResponse(scores=[s.value for s in scores], texts=_texts([s.text for s in scores]))

    @app.post("/compare")
    async def compare(http: Request, request: CompareRequest) -> CompareResponse:
        preferences = await service.compare(http, request.prompts, request.responses_a, request.responses_b)
        return CompareResponse(
            p_a_better=[p.p_a_better for p in preferences], rationales=_texts([p.rationale for p in preferences])
        )

    @app.post("/get_reward")
    async def get_reward(http: Request, request: OpenRLHFRequest) -> OpenRLHFResponse:
        try:
            prompts, responses = split_queries(request.query, request.prompts)
        except ValueError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error
        rewards = [s.value for s in await service.score(http, prompts, responses)]
        return OpenRLHFResponse(rewards=rewards, scores=rewards)


def _add_status_routes(app: FastAPI, service: ModelService, metrics: ServingMetrics) -> None:
    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "queued_items": service.batcher.queued_items}

    @app.get("/info")
    async def info() -> dict[str, Any]:
        return {
            "model": service.model.name,
            "capabilities": asdict(service.model.capabilities),
            "tie_credit": service.model.tie_credit,
            "batching": asdict(service.batching),
            "limits": asdict(service.limits),
            "batches": asdict(service.batcher.stats),
        }

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=PROMETHEUS_CONTENT_TYPE)


def create_app(
    model: RewardModel,
    batching: BatchingConfig | None = None,
    limits: ServingLimitsConfig | None = None,
    api_key: str | None = None,
) -> FastAPI:
    """A FastAPI app serving `model` on every route; its lifespan starts and stops the one micro-batcher.

    Middleware, outermost first: metrics (every answer counted), API key (when set), body guard (size, read time).
    """
    service = ModelService(model, batching or BatchingConfig(), limits or ServingLimitsConfig())
    metrics = ServingMetrics(lambda: service.batcher.queued_items)
    service.batcher.on_call = metrics.record_call

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        service.batcher.start()
        yield
        await service.batcher.stop()

    app = FastAPI(title="rewardkit", summary=f"reward model {model.name}", lifespan=lifespan)
    app.state.service = service
    route_class = checked_json_route(service.limits)
    app.router.route_class = route_class
    app.add_exception_handler(RequestValidationError, validation_error_answer)
    _add_status_routes(app, service, metrics)
    _add_rewardkit_routes(app, service)
    app.include_router(pooling_router(service, int(time.time()), route_class))
    app.include_router(chat_router(service, route_class))
    app.add_middleware(BodyGuard, limits=service.limits)
    if api_key:
        app.add_middleware(api_key_guard, api_key=api_key)
    paths = set(app.openapi()["paths"])
    app.add_middleware(metrics.middleware, routes=lambda: paths)
    return app
