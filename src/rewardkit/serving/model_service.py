"""The one served model behind every route: its micro-batcher, the per-request timeout, and errors as HTTP answers.

Every route (rewardkit's, OpenRLHF's, vLLM's, SGLang's, OpenAI's) scores through `ModelService.score` or
`compare`, so the same (prompt, response) gets the same reward whichever shape asked for it. A request that is not
answered within `request_timeout_s` gets 503 and its waiting items are dropped; so are those of a client that
closed the connection. A full queue is 429 with `Retry-After`; a shutting-down server 503; what the model's
capabilities exclude (a pairwise-only judge asked for scores), or a model raising UnsupportedOperation, 501.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request

from rewardkit.protocol import Preference, Prompt, RewardModel, Score, UnsupportedOperation
from rewardkit.serving.limits import ServingLimitsConfig
from rewardkit.serving.micro_batcher import BatchingConfig, MicroBatcher, QueueFull, ShuttingDown

logger = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST = 499  # nginx's status for "the client went away"; nobody reads it
DISCONNECT_POLL_S = 0.05


def _score_items(model: RewardModel, items: list[tuple[Prompt, str]]) -> list[Score]:
    return model.score([prompt for prompt, _ in items], [response for _, response in items])


def _compare_items(model: RewardModel, items: list[tuple[Prompt, str, str]]) -> list[Preference]:
    prompts, responses_a, responses_b = (list(column) for column in zip(*items, strict=True))
    return model.compare(prompts, responses_a, responses_b)


def http_error(error: Exception) -> HTTPException:
    """The HTTP answer to an error of the batcher or the model."""
    if isinstance(error, QueueFull):
        return HTTPException(429, str(error), headers={"Retry-After": str(error.retry_after_s)})
    if isinstance(error, ShuttingDown):
        return HTTPException(503, str(error), headers={"Retry-After": "1"})
    if isinstance(error, UnsupportedOperation):
        return HTTPException(501, f"the model cannot do this: {error}")
    if isinstance(error, ValueError):
        return HTTPException(422, str(error))
    logger.exception("model call failed", exc_info=error)
    return HTTPException(500, f"model call failed: {type(error).__name__}: {error}")


async def _client_gone(request: Request) -> None:
    """Returns once the client has closed its connection (the server's `receive` says `http.disconnect`)."""
    while (await request.receive())["type"] != "http.disconnect":
        await asyncio.sleep(DISCONNECT_POLL_S)


class ModelService:
    """`model` behind one micro-batcher, answering within the limits."""

    def __init__(self, model: RewardModel, batching: BatchingConfig, limits: ServingLimitsConfig) -> None:
        self.model = model
        self.batching = batching
        self.limits = limits
        runners = {
            "score": lambda items: _score_items(model, items),
            "compare": lambda items: _compare_items(model, items),
        }
        self.batcher = MicroBatcher(runners, batching)

    def _require(self, operation: str, can: bool) -> None:
        if not can:
            detail = f"{self.model.name} has no {operation}() (see /info for its capabilities)"
            raise http_error(UnsupportedOperation(detail))

    async def score(self, request: Request, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        self._require("score", self.model.capabilities.score)
        return await self._answer(request, "score", list(zip(prompts, responses, strict=True)))

    async def compare(
        self, request: Request, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        self._require("compare", self.model.capabilities.compare)
        return await self._answer(request, "compare", list(zip(prompts, responses_a, responses_b, strict=True)))

    async def _answer(self, request: Request, kind: str, items: list[Any]) -> list[Any]:
        work = asyncio.ensure_future(self.batcher.submit(kind, items))
        gone = asyncio.ensure_future(_client_gone(request))
        try:
            done, _ = await asyncio.wait(
                {work, gone}, timeout=self.limits.request_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            gone.cancel()
        if work in done:
            if work.exception() is not None:
                raise http_error(work.exception())
            return work.result()
        work.cancel()
        if gone in done:
            raise HTTPException(CLIENT_CLOSED_REQUEST, "the client closed the connection")
        raise HTTPException(
            503,
            f"not answered within {self.limits.request_timeout_s:g} s (--request-timeout-s); the server is busy",
            headers={"Retry-After": "1"},
        )
