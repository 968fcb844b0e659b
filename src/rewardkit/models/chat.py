"""The one place where prompts and responses become token ids (chat template + truncation rules).

Prompts are strings or chat-message lists (TRL's conversational format). The prompt is truncated from the left
(the end of a conversation matters most), the response is kept and only cut from the right when it alone exceeds
its budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from rewardkit.protocol import Prompt


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


def render_response(tokenizer: PreTrainedTokenizerBase, prompt: Prompt, response: str) -> str:
    """The assistant turn's text as the template writes it (response plus end-of-turn marker)."""
    messages = as_messages(prompt)
    prompt_text = render_prompt(tokenizer, messages)
    full_text = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": response}], tokenize=False)
    if not full_text.startswith(prompt_text):
        return response + (tokenizer.eos_token or "")
    return full_text[len(prompt_text) :].rstrip("\n")


@dataclass
class EncodedPair:
    """Token ids for prompt+response, with how much was cut."""

    input_ids: list[int]
    prompt_tokens_dropped: int
    response_tokens_dropped: int


@dataclass
class TruncationConfig:
    """Token budgets for (prompt, response) sequences."""

    max_length: int = 512
    max_response_length: int = 384

    def __post_init__(self) -> None:
        if not 0 < self.max_response_length <= self.max_length:
            raise ValueError(
                f"need 0 < max_response_length ({self.max_response_length}) <= max_length ({self.max_length})"
            )


def encode_prompt_response(
    tokenizer: PreTrainedTokenizerBase, prompt: Prompt, response: str, truncation: TruncationConfig
) -> EncodedPair:
    """Token ids of the chat-formatted pair: prompt cut from the left, response from the right, within budget."""
    prompt_ids = tokenizer(render_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(render_response(tokenizer, prompt, response), add_special_tokens=False)["input_ids"]
    kept_response = response_ids[: truncation.max_response_length]
    prompt_budget = truncation.max_length - len(kept_response)
    kept_prompt = prompt_ids[-prompt_budget:] if prompt_budget > 0 else []
    return EncodedPair(
        input_ids=kept_prompt + kept_response,
        prompt_tokens_dropped=len(prompt_ids) - len(kept_prompt),
        response_tokens_dropped=len(response_ids) - len(kept_response),
    )
