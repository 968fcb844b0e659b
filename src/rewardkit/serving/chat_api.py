"""OpenAI-compatible `POST /v1/chat/completions` for judging: the conversation's last assistant turn is the response
judged, the served model (a generative judge, or any reward model) scores it, and the answer is a chat completion
whose message is the judge's text (its verdict or rating; the reward as text for a model that writes none) and
whose extension field `reward` holds the parsed reward, exactly what `/score` returns for the same turn.

So a GenRM served by rewardkit works where verl's reward loop (a custom reward function posting to the router's
`/v1/chat/completions`) or an LLM-as-a-judge client expects an OpenAI endpoint. The `openai` client reads the
reward as `completion.model_extra["reward"]`. Sampling parameters are accepted and ignored (the judge's own
configuration decides); streaming is refused.
"""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from rewardkit.serving.model_service import ModelService
from rewardkit.serving.openrlhf import split_conversation
from rewardkit.serving.pooling_api import Usage, usage_of
from rewardkit.serving.schemas import WireMessage


class ChatCompletionRequest(BaseModel):
    """The OpenAI chat-completions fields rewardkit reads; other OpenAI fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[WireMessage] = Field(min_length=2, description="The prompt, then the assistant turn to judge.")
    stream: bool = False


class ChatMessageOut(BaseModel):
    role: str = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: str = "stop"
    logprobs: None = None


class ChatCompletionResponse(BaseModel):
    id: str = Field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    object: str = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatChoice]
    usage: Usage = Field(default_factory=Usage)
    reward: float = Field(description="rewardkit extension: the reward of the judged turn (what /score returns).")


def chat_router(service: ModelService, route_class: type[APIRoute] = APIRoute) -> APIRouter:
    """`/v1/chat/completions` over `service`."""
    router = APIRouter(route_class=route_class)

    @router.post("/v1/chat/completions", summary="Judge the last assistant turn; the reward is in `reward`")
    async def chat_completions(http: Request, request: ChatCompletionRequest) -> ChatCompletionResponse:
        if request.stream:
            raise HTTPException(400, "stream: streaming is not supported; send stream=false")
        try:
            prompt, response = split_conversation([dict(message) for message in request.messages], "messages")
        except ValueError as error:
            raise HTTPException(422, str(error)) from error
        (score,) = await service.score(http, [prompt], [response])
        content = score.text if score.text is not None else repr(score.value)
        return ChatCompletionResponse(
            model=service.model.name,
            choices=[ChatChoice(message=ChatMessageOut(content=content))],
            usage=usage_of(service.model, [prompt], [response]),
            reward=score.value,
        )

    return router
