"""How CLoud puts a (prompt, response) to the model for critique, and the token budgets (saved with the model).

The conversation is the prompt, then the response as the assistant turn, then `request` as a new user turn; the
critique is the next assistant turn and the reward is read on its end-of-turn token (Ankner et al. 2024, arXiv
2408.11791, §3). The prompt is cut from the left and the response from the right (rewardkit.models.chat rules) so
that prompt + response + request + critique fit `max_length`; a critique longer than `max_new_tokens` is cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ConfigDict
from transformers import PreTrainedTokenizerBase

from rewardkit.models.chat import encode_prompt_response, legacy_truncation, render_prompt, render_response
from rewardkit.protocol import Prompt

DEFAULT_CRITIQUE_REQUEST = (
    "Critique the assistant's response above: say what it gets right and what it gets wrong or leaves out "
    "(accuracy, helpfulness, safety), then end with a line 'Rating: [[N]]' where N is from 1 to 10."
)
_PROBE_PROMPT = [{"role": "user", "content": "Q"}]


@dataclass
class CritiqueFormatConfig:
    """The critique request and the token budgets shared by training and inference."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    request: str = field(
        default=DEFAULT_CRITIQUE_REQUEST, metadata={"help": "User turn after the response that asks for the critique."}
    )
    max_new_tokens: int = field(
        default=128,
        metadata={"help": "Critique budget: the generation limit, and the cut applied to critiques when encoding."},
    )
    max_length: int = field(default=512, metadata={"help": "Tokens of prompt + response + request + critique."})
    max_response_length: int = field(
        default=256, metadata={"help": "Tokens kept of a response (cut from the right when longer)."}
    )

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"critique max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not self.request.strip():
            raise ValueError("the critique request is empty: give the user turn that asks for the critique")


@dataclass
class EncodedCritique:
    """Token ids of prompt + response + request + critique + end of turn; [critique_start, critique_end) are the
    tokens the LM loss trains (the end-of-turn marker only when the critique was not cut)."""

    input_ids: list[int]
    critique_start: int
    critique_end: int
    prompt_tokens_dropped: int = 0
    response_tokens_dropped: int = 0
    critique_tokens_dropped: int = 0


def critique_request_text(tokenizer: PreTrainedTokenizerBase, request: str) -> str:
    """Chat text that follows the end of the assistant's response: `request` as a user turn, then the assistant
    header the critique is written after."""
    answered = render_prompt(tokenizer, _PROBE_PROMPT) + render_response(tokenizer, _PROBE_PROMPT, "A")
    conversation = [*_PROBE_PROMPT, {"role": "assistant", "content": "A"}, {"role": "user", "content": request}]
    full = render_prompt(tokenizer, conversation)
    if not full.startswith(answered):
        raise ValueError(
            "the tokenizer's chat template does not render a follow-up user turn after an assistant turn as a plain "
            "continuation, so a critique request cannot be appended; use a model with a multi-turn chat template"
        )
    return full[len(answered) :]


class CritiqueEncoder:
    """Token ids of the critique context (prompt, response, request) and of whole critiqued sequences."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, critique_format: CritiqueFormatConfig) -> None:
        self.tokenizer = tokenizer
        self.format = critique_format
        self.request_ids = self._ids(critique_request_text(tokenizer, critique_format.request))
        self.end_ids = self._ids(render_response(tokenizer, _PROBE_PROMPT, ""))
        context_budget = critique_format.max_length - critique_format.max_new_tokens - len(self.end_ids)
        context_budget -= len(self.request_ids)
        if context_budget < critique_format.max_response_length + 1:
            raise ValueError(
                f"critique format: max_length {critique_format.max_length} leaves {context_budget} tokens for prompt "
                f"+ response after the request ({len(self.request_ids)} tokens) and the critique "
                f"({critique_format.max_new_tokens}); raise max_length or lower max_response_length "
                f"({critique_format.max_response_length}) or max_new_tokens"
            )
        # The critique request continues the assistant turn without its final newline (see critique_request_text).
        self.truncation = legacy_truncation(
            max_length=context_budget, max_response_length=critique_format.max_response_length
        )

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def context(self, prompt: Prompt, response: str) -> list[int]:
        """Prompt + response (truncated) + critique request + assistant header: what a critique is generated from."""
        return encode_prompt_response(self.tokenizer, prompt, response, self.truncation).input_ids + self.request_ids

    def with_critique(self, prompt: Prompt, response: str, critique: str) -> EncodedCritique:
        """The full sequence the reward head reads, with the span of critique tokens marked for the LM loss."""
        pair = encode_prompt_response(self.tokenizer, prompt, response, self.truncation)
        context = pair.input_ids + self.request_ids
        critique_ids = self._ids(critique)
        kept = critique_ids[: self.format.max_new_tokens]
        dropped = len(critique_ids) - len(kept)
        input_ids = context + kept + self.end_ids
        critique_end = len(context) + len(kept) + (0 if dropped else len(self.end_ids))
        return EncodedCritique(
            input_ids=input_ids,
            critique_start=len(context),
            critique_end=critique_end,
            prompt_tokens_dropped=pair.prompt_tokens_dropped,
            response_tokens_dropped=pair.response_tokens_dropped,
            critique_tokens_dropped=dropped,
        )
