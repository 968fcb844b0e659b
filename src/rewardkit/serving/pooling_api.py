"""vLLM's pooling API and SGLang's reward endpoints, so clients of a vLLM- or SGLang-served reward model (verl's
reward loop among them) can use a rewardkit server unchanged.

- vLLM `POST /classify` and SGLang `POST /v1/classify`: `{"model", "input": str | [str]}` or `{"model",
  "messages"}`; answer `{"data": [{"index", "label", "probs", "num_classes"}], "usage"}`. As in vLLM, `probs` holds
  the activated output (sigmoid of the one reward logit) unless the request sets `use_activation` (older vLLM:
  `activation`, `softmax`) to false; then `probs[-1]` is the raw reward, which is what verl reads
  (verl/experimental/reward_loop/reward_loop.py, `compute_score_disrm`).
- vLLM `POST /pooling` with `"task": "classify"` (the same values, as `data: [value]`) or `"token_classify"`:
  process rewards, one row per step of the response (`data: [[r_1], ..., [r_K]]`, split at lines; rewardkit's
  prefix scoring, families/process.py), where vLLM has one row per token.
- SGLang `POST /v1/embeddings`: `data[i].embedding == [reward]`, what SGLang answers for a reward model served with
  `--is-embedding` and what verl reads.
- `GET /v1/models`: the one served model.

A text `input` is the reward model's chat template already applied (what verl sends): it is read back into chat
messages (ChatML) and scored as (prompt, last assistant turn), so it gets exactly the reward `/score` gives.
Token-id inputs are refused (rewardkit tokenizes itself). The `model` field is accepted whatever it names.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, model_validator

from rewardkit.families.process import split_steps, step_prefixes
from rewardkit.protocol import Prompt
from rewardkit.serving.model_service import ModelService
from rewardkit.serving.openrlhf import split_chatml_text, split_conversation
from rewardkit.serving.schemas import WireMessage

STEP_SPLIT = "lines"


class Usage(BaseModel):
    """Token counts as vLLM reports them for pooling: the tokens the model read (prompt_tokens = total_tokens). A
    model that cannot count them (a judge, a remote engine) reports 0."""

    prompt_tokens: int = 0
    total_tokens: int = 0
    completion_tokens: int = 0


class PoolingRequest(BaseModel):
    """The fields of vLLM's classify / pooling requests and SGLang's classify / embeddings requests rewardkit reads."""

    model: str | None = None
    input: str | list[str] | None = Field(default=None, description="Chat-formatted texts (ChatML).")
    messages: list[WireMessage] | None = Field(default=None, description="One conversation ending in the response.")
    use_activation: bool | None = Field(default=None, description="False: raw reward; true/None: sigmoid (vLLM).")
    activation: bool | None = Field(default=None, description="vLLM < 0.11.2 name of use_activation.")
    softmax: bool | None = Field(default=None, description="Older vLLM name of use_activation.")
    task: Literal["classify", "token_classify", "reward", "embed"] | None = Field(
        default=None, description="/pooling only: classify (one value) or token_classify (per-step values)."
    )

    @model_validator(mode="after")
    def _one_input(self) -> PoolingRequest:
        if (self.input is None) == (self.messages is None):
            raise ValueError("send exactly one of `input` (texts) and `messages` (one conversation)")
        if isinstance(self.input, list) and not self.input:
            raise ValueError("`input` is an empty list; send at least one text")
        return self

    @property
    def activated(self) -> bool:
        flags = [self.use_activation, self.activation, self.softmax]
        return next((flag for flag in flags if flag is not None), True)

    def conversations(self) -> tuple[list[Prompt], list[str]]:
        """(prompts, responses) of the request, one per input text or the one conversation."""
        if self.messages is not None:
            prompt, response = split_conversation([dict(message) for message in self.messages], "messages")
            return [prompt], [response]
        texts = [self.input] if isinstance(self.input, str) else self.input
        pairs = [split_chatml_text(text, f"input[{index}]") for index, text in enumerate(texts)]
        return [prompt for prompt, _ in pairs], [response for _, response in pairs]


class ClassificationData(BaseModel):
    index: int
    label: str = "reward"
    probs: list[float]
    num_classes: int = 1


class ClassificationResponse(BaseModel):
    id: str = Field(default_factory=lambda: f"classify-{uuid.uuid4().hex}")
    object: str = "list"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    data: list[ClassificationData]
    usage: Usage = Field(default_factory=Usage)


class PoolingData(BaseModel):
    index: int
    object: str = "pooling"
    data: list[float] | list[list[float]]


class PoolingResponse(BaseModel):
    id: str = Field(default_factory=lambda: f"pool-{uuid.uuid4().hex}")
    object: str = "list"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    data: list[PoolingData]
    usage: Usage = Field(default_factory=Usage)


class EmbeddingData(BaseModel):
    index: int
    object: str = "embedding"
    embedding: list[float]


class EmbeddingResponse(BaseModel):
    object: str = "list"
    model: str
    data: list[EmbeddingData]
    usage: Usage = Field(default_factory=Usage)


class ModelCard(BaseModel):
    id: str
    object: str = "model"
    created: int
    owned_by: str = "rewardkit"


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelCard]


def sigmoid(value: float) -> float:
    """vLLM's activation of a one-logit classifier."""
    return 1.0 / (1.0 + math.exp(-value)) if value >= 0 else math.exp(value) / (1.0 + math.exp(value))


def _output(value: float, activated: bool) -> float:
    return sigmoid(value) if activated else value


def _conversations(request: PoolingRequest) -> tuple[list[Prompt], list[str]]:
    try:
        return request.conversations()
    except ValueError as error:
        raise HTTPException(422, str(error)) from error


def usage_of(model: object, prompts: Sequence[Prompt], responses: Sequence[str]) -> Usage:
    """The tokens `model` reads for these conversations (its `token_count`, truncation included), 0 without one."""
    count = getattr(model, "token_count", None)
    tokens = count(prompts, responses) if callable(count) else 0
    return Usage(prompt_tokens=tokens, total_tokens=tokens)


async def _rewards(service: ModelService, http: Request, request: PoolingRequest) -> tuple[list[float], Usage]:
    prompts, responses = _conversations(request)
    scores = await service.score(http, prompts, responses)
    return [score.value for score in scores], usage_of(service.model, prompts, responses)


async def _step_rewards(
    service: ModelService, http: Request, request: PoolingRequest
) -> tuple[list[list[float]], Usage]:
    """r_k = reward of (prompt, first k steps) for every step, all prefixes in one batched score call."""
    prompts, responses = _conversations(request)
    prefixes = [step_prefixes(split_steps(response, STEP_SPLIT)) for response in responses]
    flat_prompts = [prompt for prompt, items in zip(prompts, prefixes, strict=True) for _ in items]
    flat_responses = [prefix for items in prefixes for prefix in items]
    flat = await service.score(http, flat_prompts, flat_responses)
    usage = usage_of(service.model, flat_prompts, flat_responses)
    return _regroup([score.value for score in flat], [len(items) for items in prefixes]), usage


def _regroup(values: Sequence[float], sizes: Sequence[int]) -> list[list[float]]:
    groups, start = [], 0
    for size in sizes:
        groups.append(list(values[start : start + size]))
        start += size
    return groups


def pooling_router(service: ModelService, started: int, route_class: type[APIRoute] = APIRoute) -> APIRouter:
    """The vLLM / SGLang routes over `service`."""
    router = APIRouter(route_class=route_class)
    name = service.model.name

    async def classify(http: Request, request: PoolingRequest) -> ClassificationResponse:
        rewards, usage = await _rewards(service, http, request)
        data = [ClassificationData(index=i, probs=[_output(r, request.activated)]) for i, r in enumerate(rewards)]
        return ClassificationResponse(model=name, data=data, usage=usage)

    router.add_api_route("/classify", classify, methods=["POST"], summary="vLLM classify")
    router.add_api_route("/v1/classify", classify, methods=["POST"], summary="SGLang classify")

    @router.post("/pooling", summary="vLLM pooling: task classify or token_classify (per-step process rewards)")
    async def pooling(http: Request, request: PoolingRequest) -> PoolingResponse:
        if request.task == "token_classify":
            steps, usage = await _step_rewards(service, http, request)
            rows = [[[_output(r, request.activated)] for r in values] for values in steps]
            data = [PoolingData(index=i, data=row) for i, row in enumerate(rows)]
            return PoolingResponse(model=name, data=data, usage=usage)
        rewards, usage = await _rewards(service, http, request)
        data = [PoolingData(index=i, data=[_output(r, request.activated)]) for i, r in enumerate(rewards)]
        return PoolingResponse(model=name, data=data, usage=usage)

    @router.post("/v1/embeddings", summary="SGLang embeddings of a reward model: [reward]")
    async def embeddings(http: Request, request: PoolingRequest) -> EmbeddingResponse:
        rewards, usage = await _rewards(service, http, request)
        data = [EmbeddingData(index=i, embedding=[r]) for i, r in enumerate(rewards)]
        return EmbeddingResponse(model=name, data=data, usage=usage)

    @router.get("/v1/models", summary="The served model")
    async def models() -> ModelList:
        return ModelList(data=[ModelCard(id=name, created=started)])

    return router
