"""Baselines every trained reward model has to beat: random scores, "longer wins", and LM log-likelihood.

All three are scalar models: compare = sigmoid(r_a - r_b), so an exact tie gives p = 0.5 and earns no credit
(tie_credit = 0). Load them by spec through the registry: `random[:seed]`, `longer`, `loglik[:model-spec]`.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from rewardkit.models.chat import (
    TruncationConfig,
    encode_prompt_response,
    legacy_truncation,
    prompt_key,
    render_prompt,
)
from rewardkit.models.device import pick_device
from rewardkit.models.loading import DEFAULT_MODEL, load_causal_lm, load_tokenizer
from rewardkit.models.precision import autocast_context
from rewardkit.models.token_budget import token_budget_batches
from rewardkit.protocol import Capabilities, Preference, Prompt, Score, compare_by_scoring


def _check_same_length(**sequences: Sequence) -> None:
    lengths = {name: len(values) for name, values in sequences.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs must have the same length, got {lengths}")


class ScalarBaseline(abc.ABC):
    """Protocol plumbing shared by the baselines; subclasses define `response_scores`."""

    name = "baseline"
    tie_credit = 0.0
    capabilities = Capabilities()

    @abc.abstractmethod
    def response_scores(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[float]:
        """One scalar reward per (prompt, response)."""

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        _check_same_length(prompts=prompts, responses=responses)
        return [Score(value=value) for value in self.response_scores(prompts, responses)]

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        """Score A and B responses in one call (one batched pass for model-based scores), then sigmoid(r_a - r_b)."""
        return compare_by_scoring(self.score, prompts, responses_a, responses_b)


class RandomRewardModel(ScalarBaseline):
    """Uniform random rewards in [0, 1), a pure function of (seed, prompt, response) so re-runs agree."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.name = f"random:{seed}"

    def uniform(self, prompt: Prompt, response: str) -> float:
        message = f"{self.seed}\0{prompt_key(prompt)}\0{response}".encode()
        return int.from_bytes(hashlib.blake2b(message, digest_size=8).digest(), "big") / 2**64

    def response_scores(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[float]:
        return [self.uniform(prompt, response) for prompt, response in zip(prompts, responses, strict=True)]


class LongerRewardModel(ScalarBaseline):
    """Reward = response length in characters: the longer response wins (the length-bias baseline)."""

    name = "longer"

    def response_scores(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[float]:
        return [float(len(response)) for response in responses]


class LogLikelihoodRewardModel(ScalarBaseline):
    """Reward = mean log-probability of the response tokens given the chat-formatted prompt under a causal LM."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        name: str = "loglik",
        truncation: TruncationConfig | None = None,
        token_budget: int = 2048,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.truncation = truncation or legacy_truncation()
        self.token_budget = token_budget
        self.device = next(model.parameters()).device

    def encode(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[tuple[list[int], int]]:
        """(token ids, index of the first response token) per pair, after the shared truncation rules."""
        prompt_lengths: dict[str, int] = {}
        encoded = []
        for prompt, response in zip(prompts, responses, strict=True):
            key = prompt_key(prompt)
            if key not in prompt_lengths:
                rendered = render_prompt(self.tokenizer, prompt)
                prompt_lengths[key] = len(self.tokenizer(rendered, add_special_tokens=False)["input_ids"])
            pair = encode_prompt_response(self.tokenizer, prompt, response, self.truncation)
            encoded.append((pair.input_ids, prompt_lengths[key] - pair.prompt_tokens_dropped))
        return encoded

    def padded_batch(self, sequences: list[tuple[list[int], int]]) -> tuple[torch.Tensor, ...]:
        """Right-padded input ids, attention mask, and a mask of the response tokens that have a left context."""
        width = max(len(ids) for ids, _ in sequences)
        input_ids = torch.full((len(sequences), width), self.tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        response_mask = torch.zeros_like(input_ids, dtype=torch.bool)
        for row, (ids, response_start) in enumerate(sequences):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention_mask[row, : len(ids)] = 1
            response_mask[row, max(response_start, 1) : len(ids)] = True
        return input_ids.to(self.device), attention_mask.to(self.device), response_mask.to(self.device)

    @torch.inference_mode()
    def mean_response_logprobs(self, sequences: list[tuple[list[int], int]]) -> torch.Tensor:
        """One forward pass; token t's log-probability comes from the logits at t - 1."""
        input_ids, attention_mask, response_mask = self.padded_batch(sequences)
        with autocast_context(self.device):
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        target_mask = response_mask[:, 1:]
        token_logprobs = -F.cross_entropy(
            logits[:, :-1][target_mask].float(), input_ids[:, 1:][target_mask], reduction="none"
        )
        rows = torch.arange(len(sequences), device=self.device).unsqueeze(1).expand_as(target_mask)[target_mask]
        sums = torch.zeros(len(sequences), device=self.device).index_add_(0, rows, token_logprobs)
        return sums / target_mask.sum(dim=1).clamp(min=1)

    def response_scores(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[float]:
        encoded = self.encode(prompts, responses)
        scores = [0.0] * len(encoded)
        for batch in token_budget_batches([len(ids) for ids, _ in encoded], self.token_budget):
            values = self.mean_response_logprobs([encoded[index] for index in batch]).tolist()
            for index, value in zip(batch, values, strict=True):
                scores[index] = value
        return scores


def load_random(argument: str) -> RandomRewardModel:
    """`random` or `random:SEED`."""
    try:
        return RandomRewardModel(seed=int(argument or 0))
    except ValueError:
        raise ValueError(f"random baseline: seed must be an integer (e.g. random:1), got {argument!r}") from None


def load_longer(argument: str) -> LongerRewardModel:
    """`longer` (takes no argument)."""
    if argument:
        raise ValueError(f"longer baseline takes no argument, got 'longer:{argument}'")
    return LongerRewardModel()


def load_loglik(argument: str) -> LogLikelihoodRewardModel:
    """`loglik` (the default model) or `loglik:MODEL` with any model spec (directory, GGUF file, Hub id)."""
    spec = argument or DEFAULT_MODEL
    model = load_causal_lm(spec, device=pick_device())
    return LogLikelihoodRewardModel(model, load_tokenizer(spec), name=f"loglik:{spec}")
