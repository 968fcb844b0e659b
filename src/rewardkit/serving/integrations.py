"""Any RewardModel as the reward of an RL trainer: TRL's `reward_funcs` and verl's `compute_score`.

TRL (GRPOTrainer, RLOOTrainer) calls `reward_func(prompts=..., completions=..., **columns)` and takes one float
per completion; prompts and completions are strings, or chat-message lists in its conversational format.
verl's reward managers call a module-level `compute_score(data_source, solution_str, ground_truth, extra_info,
**reward_kwargs)` per sample (NaiveRewardManager), or `compute_score(data_sources, solution_strs, ground_truths,
extra_infos, **reward_kwargs)` on a batch (BatchRewardManager); point `custom_reward_function.path` at this file,
name `compute_score` or `compute_score_batch`, and set `reward_kwargs.model` to a rewardkit spec.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

from rewardkit.families.registry import load_reward_model
from rewardkit.protocol import Prompt, RewardModel

MODEL_ENV = "REWARDKIT_MODEL"
PROMPT_KEYS = ("prompt", "question", "query", "problem")


def completion_text(completion: str | list[dict[str, str]]) -> str:
    """A completion as text: the string, or the content of its assistant messages (TRL conversational format)."""
    if isinstance(completion, str):
        return completion
    return "".join(message["content"] for message in completion if message.get("role", "assistant") == "assistant")


class TRLRewardFunction:
    """A RewardModel as a TRL reward function: one `score` call per chunk of `batch_size` completions."""

    def __init__(self, model: RewardModel, batch_size: int = 32, name: str | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.batch_size = batch_size
        self.__name__ = name or f"rewardkit:{model.name}"  # TRL names its logged reward columns after it

    def __call__(self, prompts: Sequence[Prompt], completions: Sequence[Any], **_: Any) -> list[float]:
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        responses = [completion_text(completion) for completion in completions]
        rewards: list[float] = []
        for start in range(0, len(responses), self.batch_size):
            end = start + self.batch_size
            rewards += [score.value for score in self.model.score(list(prompts[start:end]), responses[start:end])]
        return rewards


def trl_reward_function(spec: str | RewardModel, batch_size: int = 32, name: str | None = None) -> TRLRewardFunction:
    """`reward_funcs=[trl_reward_function("runs/bt")]` for GRPOTrainer: a spec (loaded once) or a model."""
    model = load_reward_model(spec) if isinstance(spec, str) else spec
    return TRLRewardFunction(model, batch_size=batch_size, name=name)


@functools.lru_cache(maxsize=4)
def _cached_model(spec: str) -> RewardModel:
    return load_reward_model(spec)


def _model_spec(model: str | None) -> str:
    spec = model or os.environ.get(MODEL_ENV)
    if not spec:
        raise ValueError(
            f"no reward model: set custom_reward_function.reward_kwargs.model (a rewardkit spec) or ${MODEL_ENV}"
        )
    return spec


def prompt_of(extra_info: dict[str, Any] | None, index: int = 0) -> Prompt:
    """The prompt of a verl sample, from its extra_info ('prompt', 'question', 'query' or 'problem')."""
    for key in PROMPT_KEYS:
        if extra_info and extra_info.get(key):
            return extra_info[key]
    raise ValueError(
        f"sample {index}: extra_info has none of {', '.join(PROMPT_KEYS)}; a reward model needs the prompt - "
        "add it to extra_info when preparing the parquet (verl's examples put 'question' there)"
    )


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any = None,
    extra_info: dict[str, Any] | None = None,
    model: str | None = None,
    **_: Any,
) -> float:
    """verl NaiveRewardManager entry: the reward model's score of one solution (the model is loaded once)."""
    return _cached_model(_model_spec(model)).score([prompt_of(extra_info)], [solution_str])[0].value


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any] | None = None,
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    model: str | None = None,
    **_: Any,
) -> list[float]:
    """verl BatchRewardManager entry: one `score` call for the whole batch."""
    infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    prompts = [prompt_of(info, index) for index, info in enumerate(infos)]
    return [score.value for score in _cached_model(_model_spec(model)).score(prompts, list(solution_strs))]
