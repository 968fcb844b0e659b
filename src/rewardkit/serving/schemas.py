"""The server's wire protocol (pydantic): rewardkit's own `/score` and `/compare`, and OpenRLHF's `/get_reward`.

A prompt is a string or a chat-message list (TRL's conversational format), as everywhere in rewardkit.
Every list in a request must have the same length; a mismatch is refused with the field named (HTTP 422).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from typing_extensions import TypedDict


class WireMessage(TypedDict):
    """One chat message; both keys are required (a message without a role is refused with its index)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str


WirePrompt = str | list[WireMessage]


def _check_lengths(request: BaseModel, *names: str) -> None:
    lengths = {name: len(getattr(request, name)) for name in names if getattr(request, name) is not None}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {length}" for name, length in lengths.items())
        raise ValueError(f"lists must have one entry per item: {described}")


class ScoreRequest(BaseModel):
    """Pointwise rewards of responses to prompts."""

    prompts: list[WirePrompt] = Field(
        min_length=1, description="One prompt per response: a string or a list of chat messages."
    )
    responses: list[str] = Field(min_length=1, description="The responses to score.")

    @model_validator(mode="after")
    def _same_lengths(self) -> ScoreRequest:
        _check_lengths(self, "prompts", "responses")
        return self


class ScoreResponse(BaseModel):
    scores: list[float] = Field(description="One reward per response.")
    texts: list[str | None] | None = Field(
        default=None, description="The text behind each score (a critique or rationale), when the model writes one."
    )


class CompareRequest(BaseModel):
    """Pairwise preferences: the probability that response A is better than response B."""

    prompts: list[WirePrompt] = Field(min_length=1)
    responses_a: list[str] = Field(min_length=1)
    responses_b: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _same_lengths(self) -> CompareRequest:
        _check_lengths(self, "prompts", "responses_a", "responses_b")
        return self


class CompareResponse(BaseModel):
    p_a_better: list[float] = Field(description="P(A better than B) per pair.")
    rationales: list[str | None] | None = None


class OpenRLHFRequest(BaseModel):
    """OpenRLHF's remote reward-model request (`--remote_rm_url`): full texts (prompt + response) and, in recent
    versions, the prompts they start with and the dataset labels."""

    query: list[str] = Field(
        min_length=1, description="Prompt followed by response, as the policy's tokenizer decoded them."
    )
    prompts: list[str] | None = Field(default=None, description="The prompt each query starts with.")
    labels: list[Any] | None = Field(default=None, description="Dataset labels (passed through, unused by models).")

    @model_validator(mode="after")
    def _same_lengths(self) -> OpenRLHFRequest:
        _check_lengths(self, "query", "prompts", "labels")
        return self


class OpenRLHFResponse(BaseModel):
    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]] = Field(default_factory=dict)
