"""Any RewardModel as the reward of an RL trainer: TRL's `reward_funcs` and verl's `compute_score`.

TRL (GRPOTrainer, RLOOTrainer) calls `reward_func(prompts=..., completions=..., log_metric=..., **columns)` and takes
one float per completion; prompts and completions are strings, or chat-message lists in its conversational format.
It names the logged reward columns after the function's `__name__` and awaits reward functions whose `__call__` is
a coroutine together, in parallel with one another (`asynchronous=True` here).

verl 0.9's reward loop (`reward.reward_manager.name`: `naive` by default, also `dapo`, `gdpo`, `remote`,
`rate_limited`) calls a module-level `compute_score(data_source, solution_str, ground_truth, extra_info,
**reward_kwargs)` once per sample, each call in an executor thread, many at once; point
`reward.custom_reward_function.path` at this file and set `reward_kwargs.model` to a rewardkit spec. The model is
loaded once per process under a lock, however many threads ask at once. `compute_score_batch` fits the legacy
`verl.workers.reward_manager` BatchRewardManager (registered as `batch`), which verl 0.9's trainer no longer resolves.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardkit.families.registry import load_reward_model
from rewardkit.protocol import Prompt, RewardModel, Score

MODEL_ENV = "REWARDKIT_MODEL"
PROMPT_KEYS = ("prompt", "question", "query", "problem")


def completion_text(completion: str | list[dict[str, str]]) -> str:
    """A completion as text: the string, or the content of its assistant messages (TRL conversational format)."""
    if isinstance(completion, str):
        return completion
    return "".join(message["content"] for message in completion if message.get("role", "assistant") == "assistant")


def short_metric_name(model_name: str) -> str:
    """The last part of a model name (`bt:/home/me/runs/bt-lora` -> `bt-lora`), for TRL's logged column names."""
    return Path(model_name.rsplit(":", 1)[-1]).name or model_name


def score_diagnostics(scores: Sequence[Score]) -> dict[str, float]:
    """Batch means of what the scores' typed fields say: a judge's unreadable-verdict rate and forced verdicts per
    score (`Score.votes`), an ensemble's member disagreement (`Score.members`, standard deviation of the members)."""
    voted = [score.votes for score in scores if score.votes is not None]
    members = [score.members.rewards for score in scores if score.members is not None]
    diagnostics = {}
    if voted:
        diagnostics["unreadable"] = sum(votes.unreadable for votes in voted) / len(voted)
        diagnostics["forced_verdicts"] = sum(votes.forced for votes in voted) / len(voted)
    if members:
        diagnostics["member_std"] = float(np.mean([np.std(rewards) for rewards in members]))
    return diagnostics


class TRLRewardFunction:
    """A RewardModel as a TRL reward function: one `score` call per chunk of `batch_size` completions; the batch's
    score diagnostics (judge verdicts, ensemble disagreement) go to TRL's `log_metric` as `<name>/<diagnostic>`."""

    def __init__(self, model: RewardModel, batch_size: int = 32, name: str | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.batch_size = batch_size
        self.__name__ = name or short_metric_name(model.name)  # TRL names its logged reward columns after it

    def __call__(
        self,
        prompts: Sequence[Prompt],
        completions: Sequence[Any],
        log_metric: Callable[[str, float], None] | None = None,
        **_: Any,
    ) -> list[float]:
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        responses = [completion_text(completion) for completion in completions]
        scores: list[Score] = []
        for start in range(0, len(responses), self.batch_size):
            end = start + self.batch_size
            scores += self.model.score(list(prompts[start:end]), responses[start:end])
        if log_metric is not None:
            for key, mean in score_diagnostics(scores).items():
                log_metric(f"{self.__name__}/{key}", mean)
        return [score.value for score in scores]


class AsyncTRLRewardFunction(TRLRewardFunction):
    """The same reward function as a coroutine: TRL awaits it on its event loop, beside its other async reward
    functions, while the model scores in a worker thread."""

    async def __call__(self, prompts: Sequence[Prompt], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        return await asyncio.to_thread(super().__call__, prompts, completions, **kwargs)


def trl_reward_function(
    spec: str | RewardModel, batch_size: int = 32, name: str | None = None, asynchronous: bool = False
) -> TRLRewardFunction:
    """`reward_funcs=[trl_reward_function("runs/bt")]` for GRPOTrainer: a spec (loaded once) or a model;
    `asynchronous=True` gives a coroutine reward function that TRL runs concurrently with its other async ones."""
    model = load_reward_model(spec) if isinstance(spec, str) else spec
    function_class = AsyncTRLRewardFunction if asynchronous else TRLRewardFunction
    return function_class(model, batch_size=batch_size, name=name)


_loaded_models: dict[str, RewardModel] = {}
_loading_lock = threading.Lock()


def _cached_model(spec: str) -> RewardModel:
    """The model of `spec`, loaded once per process: verl's reward loop calls compute_score from many executor
    threads at once, and without the lock each of them would load its own copy."""
    with _loading_lock:
        if spec not in _loaded_models:
            _loaded_models[spec] = load_reward_model(spec)
        return _loaded_models[spec]


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
