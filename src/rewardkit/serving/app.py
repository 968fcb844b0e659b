"""The HTTP server: any RewardModel behind `/score`, `/compare` and OpenRLHF's `/get_reward`, micro-batched.

Start it with `rewardkit serve MODEL` (any spec `rewardkit eval --model` takes). All routes share one model
executor (one thread), so the model runs one call at a time whichever route it serves. Errors are answered, never
swallowed: a malformed request gets 422 naming the field, a model without the asked capability (a pairwise-only
judge asked for pointwise scores) 501, a model failure 500 with its message; other requests are unaffected.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, HTTPException

from rewardkit.protocol import Preference, RewardModel, Score, UnsupportedOperation
from rewardkit.serving.micro_batcher import BatchingConfig, MicroBatcher
from rewardkit.serving.openrlhf import split_queries
from rewardkit.serving.schemas import (
    CompareRequest,
    CompareResponse,
    OpenRLHFRequest,
    OpenRLHFResponse,
    ScoreRequest,
    ScoreResponse,
)

logger = logging.getLogger(__name__)


def _score_items(model: RewardModel, items: list[tuple[Any, str]]) -> list[Score]:
    return model.score([prompt for prompt, _ in items], [response for _, response in items])


def _compare_items(model: RewardModel, items: list[tuple[Any, str, str]]) -> list[Preference]:
    prompts, responses_a, responses_b = (list(column) for column in zip(*items, strict=True))
    return model.compare(prompts, responses_a, responses_b)


def _http_error(error: Exception) -> HTTPException:
    if isinstance(error, UnsupportedOperation):
        return HTTPException(status_code=501, detail=f"the model cannot do this: {error}")
    if isinstance(error, ValueError):
        return HTTPException(status_code=422, detail=str(error))
    logger.exception("model call failed", exc_info=error)
    return HTTPException(status_code=500, detail=f"model call failed: {type(error).__name__}: {error}")


async def _submit(batcher: MicroBatcher, items: list) -> list:
    try:
        return await batcher.submit(items)
    except Exception as error:  # noqa: BLE001 - turned into the HTTP answer
        raise _http_error(error) from error


def _texts(texts: Sequence[str | None]) -> list[str | None] | None:
    return list(texts) if any(text is not None for text in texts) else None


def _require(model: RewardModel, operation: str, can: bool) -> None:
    if not can:
        raise _http_error(UnsupportedOperation(f"{model.name} has no {operation}() (see /info for its capabilities)"))


def create_app(model: RewardModel, batching: BatchingConfig | None = None) -> FastAPI:
    """A FastAPI app serving `model`; its lifespan starts and stops the two micro-batchers (score, compare) and
    the one executor both run the model on."""
    batching = batching or BatchingConfig()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rewardkit-model")
    scorer = MicroBatcher(lambda items: _score_items(model, items), batching, executor)
    comparer = MicroBatcher(lambda items: _compare_items(model, items), batching, executor)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        scorer.start()
        comparer.start()
        yield
        await scorer.stop()
        await comparer.stop()
        executor.shutdown(wait=True)

    app = FastAPI(title="rewardkit", summary=f"reward model {model.name}", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/info")
    async def info() -> dict[str, Any]:
        return {
            "model": model.name,
            "capabilities": asdict(model.capabilities),
            "tie_credit": model.tie_credit,
            "batching": asdict(batching),
            "score_batches": asdict(scorer.stats),
            "compare_batches": asdict(comparer.stats),
        }

    @app.post("/score")
    async def score(request: ScoreRequest) -> ScoreResponse:
        _require(model, "score", model.capabilities.score)
        scores = await _submit(scorer, list(zip(request.prompts, request.responses, strict=True)))
        return ScoreResponse(scores=[s.value for s in scores], texts=_texts([s.text for s in scores]))

    @app.post("/compare")
    async def compare(request: CompareRequest) -> CompareResponse:
        _require(model, "compare", model.capabilities.compare)
        items = list(zip(request.prompts, request.responses_a, request.responses_b, strict=True))
        preferences = await _submit(comparer, items)
        return CompareResponse(
            p_a_better=[p.p_a_better for p in preferences], rationales=_texts([p.rationale for p in preferences])
        )

    @app.post("/get_reward")
    async def get_reward(request: OpenRLHFRequest) -> OpenRLHFResponse:
        try:
            prompts, responses = split_queries(request.query, request.prompts)
        except ValueError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error
        _require(model, "score", model.capabilities.score)
        scores = await _submit(scorer, list(zip(prompts, responses, strict=True)))
        rewards = [s.value for s in scores]
        return OpenRLHFResponse(rewards=rewards, scores=rewards)

    return app
