"""The one place where prompts and responses become token ids (chat template + truncation rules).

Prompts are strings or chat-message lists (TRL's conversational format). A (prompt, response) pair is read as the
text the tokenizer's chat template writes for the conversation with the response as the assistant turn
(`apply_chat_template(messages + [assistant])`, the TRL / OpenRLHF / vLLM convention), tokenized as a whole, so a
stock `AutoModelForSequenceClassification` fed that text gets the same reward (read at its last token, for ChatML
the newline after `<|im_end|>`). Models saved by rewardkit before this format record none in their manifest and
keep the earlier one, `chat_template_no_final_newline` (the same text without the newline after the end-of-turn
marker, reward read at `<|im_end|>`). See docs/TEXT_FORMAT.md.

Within `max_length`, the prompt is cut from the left (the end of a conversation matters most); a response longer
than `max_response_length` keeps its start, its end, or both ends around an ellipsis (`response_truncation`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from transformers import PreTrainedTokenizerBase

from rewardkit.models.shared_prefix import common_prefix_length
from rewardkit.protocol import Prompt
from rewardkit.vocabulary import ResponseTruncation, TextFormat

LEGACY_TEXT_FORMAT: TextFormat = "chat_template_no_final_newline"
LEGACY_RESPONSE_TRUNCATION: ResponseTruncation = "keep_start"
ELLIPSIS_TEXT = " ... "  # what stands for the middle of a response cut at both ends


def as_messages(prompt: Prompt) -> list[dict[str, str]]:
    """A string prompt becomes one user message; message lists pass through."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [dict(message) for message in prompt]


def prompt_key(prompt: Prompt) -> str:
    """A canonical string for a text or chat-message prompt."""
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False)


def render_prompt(tokenizer: PreTrainedTokenizerBase, prompt: Prompt) -> str:
    """Prompt text up to and including the assistant header."""
    return tokenizer.apply_chat_template(as_messages(prompt), tokenize=False, add_generation_prompt=True)


def render_conversation(tokenizer: PreTrainedTokenizerBase, prompt: Prompt, response: str) -> str:
    """The whole conversation with `response` as the assistant turn, exactly as the chat template writes it."""
    messages = as_messages(prompt) + [{"role": "assistant", "content": response}]
    return tokenizer.apply_chat_template(messages, tokenize=False)


def render_response(tokenizer: PreTrainedTokenizerBase, prompt: Prompt, response: str) -> str:
    """The assistant turn's text as the template writes it (response plus end-of-turn marker), without the final
    newline (the `chat_template_no_final_newline` format)."""
    prompt_text = render_prompt(tokenizer, prompt)
    full_text = render_conversation(tokenizer, prompt, response)
    if not full_text.startswith(prompt_text):
        return response + (tokenizer.eos_token or "")
    return full_text[len(prompt_text) :].rstrip("\n")


@dataclass
class ResponseCuts:
    """How many responses a model has encoded and how many of them its truncation rule cut (a running tally)."""

    responses: int = 0
    cut: int = 0

    def add(self, encoded: list[EncodedPair]) -> int:
        """Count a batch of encodings; returns how many of them had their response cut."""
        cut = sum(pair.response_tokens_dropped > 0 for pair in encoded)
        self.responses += len(encoded)
        self.cut += cut
        return cut


@dataclass
class EncodedPair:
    """Token ids for prompt+response, with how much was cut."""

    input_ids: list[int]
    prompt_tokens_dropped: int
    response_tokens_dropped: int


@dataclass
class TruncationConfig:
    """How a (prompt, response) pair becomes at most `max_length` tokens: the text format, the response budget and
    which part of a long response is kept. Saved in a model's manifest and applied by every path that encodes."""

    max_length: int = 512
    max_response_length: int = 384
    response_truncation: ResponseTruncation = "keep_end"
    text_format: TextFormat = "chat_template"

    def __post_init__(self) -> None:
        if not 0 < self.max_response_length <= self.max_length:
            raise ValueError(
                f"need 0 < max_response_length ({self.max_response_length}) <= max_length ({self.max_length})"
            )
        if self.response_truncation not in ResponseTruncation.__args__:
            raise ValueError(
                f"response_truncation must be one of {', '.join(ResponseTruncation.__args__)}, "
                f"got {self.response_truncation!r}"
            )
        if self.text_format not in TextFormat.__args__:
            raise ValueError(f"text_format must be one of {', '.join(TextFormat.__args__)}, got {self.text_format!r}")

    def to_manifest(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_manifest(cls, entry: dict[str, Any]) -> TruncationConfig:
        """The saved settings; a manifest written before the format and the cut side were recorded keeps the
        behaviour it was trained with (no final newline, response start kept)."""
        return cls(**{**asdict(legacy_truncation()), **entry})


def legacy_truncation(**budgets: int) -> TruncationConfig:
    """The encoding of rewardkit's first format (no final newline, response start kept), for recipes and saved
    models that were measured with it; `budgets` sets max_length / max_response_length."""
    return TruncationConfig(**budgets, response_truncation=LEGACY_RESPONSE_TRUNCATION, text_format=LEGACY_TEXT_FORMAT)


def _ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def prompt_and_response_ids(
    tokenizer: PreTrainedTokenizerBase, prompt: Prompt, response: str, text_format: TextFormat
) -> tuple[list[int], list[int]]:
    """(prompt ids, response ids) whose concatenation is the pair's whole text in `text_format`.

    `chat_template` tokenizes the whole conversation at once (as a stock loader does) and splits it where the
    tokenized prompt stops matching, so no token merge across the boundary is lost.
    """
    prompt_ids = _ids(tokenizer, render_prompt(tokenizer, prompt))
    if text_format == LEGACY_TEXT_FORMAT:
        return prompt_ids, _ids(tokenizer, render_response(tokenizer, prompt, response))
    full_ids = _ids(tokenizer, render_conversation(tokenizer, prompt, response))
    boundary = common_prefix_length(prompt_ids, full_ids)
    return full_ids[:boundary], full_ids[boundary:]


def cut_response(
    tokenizer: PreTrainedTokenizerBase, response_ids: list[int], budget: int, mode: ResponseTruncation
) -> tuple[list[int], int]:
    """(at most `budget` response tokens, how many were dropped): the first ones, the last ones, or both ends joined
    by an ellipsis (the last ones when the budget cannot hold the ellipsis and a token of each end)."""
    dropped = len(response_ids) - budget
    if dropped <= 0:
        return response_ids, 0
    if mode == "keep_start":
        return response_ids[:budget], dropped
    ellipsis = _ids(tokenizer, ELLIPSIS_TEXT)
    ends = budget - len(ellipsis)
    if mode == "keep_end" or ends < 2:
        return response_ids[dropped:], dropped
    head = ends // 2
    tail_start = len(response_ids) - (ends - head)
    return response_ids[:head] + ellipsis + response_ids[tail_start:], tail_start - head


def encode_prompt_response(
    tokenizer: PreTrainedTokenizerBase, prompt: Prompt, response: str, truncation: TruncationConfig
) -> EncodedPair:
    """Token ids of the chat-formatted pair within budget: the response cut as `truncation` says, the prompt cut from
    the left to fill what is left."""
    prompt_ids, response_ids = prompt_and_response_ids(tokenizer, prompt, response, truncation.text_format)
    kept_response, response_dropped = cut_response(
        tokenizer, response_ids, truncation.max_response_length, truncation.response_truncation
    )
    prompt_budget = truncation.max_length - len(kept_response)
    kept_prompt = prompt_ids[-prompt_budget:] if prompt_budget > 0 else []
    return EncodedPair(
        input_ids=kept_prompt + kept_response,
        prompt_tokens_dropped=len(prompt_ids) - len(kept_prompt),
        response_tokens_dropped=response_dropped,
    )
