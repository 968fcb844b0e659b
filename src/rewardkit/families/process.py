"""Step-level (process) rewards from any scalar reward model, with the Clip and Delta refinements of Gao et al. 2024,
"On Designing Effective RL Reward at Training Time for LLM Reasoning" (arXiv 2410.15115, §4).

A solution p is split into steps s_1..s_K; the process reward of step k is the reward model's score of the prefix,
r_k = r(q, p^(k)) with p^(k) = s_1 … s_k. Both refinements bound the return of any trajectory, so a policy cannot
collect reward by repeating correct but unnecessary steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import parse_qsl

import numpy as np

from rewardkit.protocol import Capabilities, Preference, Prompt, RewardModel, Score, compare_by_scoring

SPLIT_MODES = ("lines", "steps", "sentences")
REFINEMENTS = ("none", "clip", "delta", "clip-delta")
_STEP_MARKER = re.compile(r"(?im)^[ \t]*(?:#+\s*)?step\s*\d+\s*[:.)]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def _pieces(text: str, starts: list[int]) -> list[str]:
    """Text cut at the given offsets; whitespace-only pieces join a neighbour, so "".join(pieces) == text."""
    bounds = sorted({0, len(text), *(start for start in starts if 0 < start < len(text))})
    pieces: list[str] = []
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        piece = text[begin:end]
        if pieces and (not piece.strip() or not pieces[-1].strip()):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces or [text]


def split_steps(solution: str, mode: str = "lines") -> list[str]:
    """Steps of a solution, by non-empty `lines`, by `steps` ("Step k:" markers) or by `sentences`.

    Steps keep their separators, so "".join(steps[:k]) is exactly the solution's k-step prefix.
    """
    if mode == "lines":
        starts = [match.end() for match in re.finditer(r"\n", solution)]
    elif mode == "steps":
        starts = [match.start() for match in _STEP_MARKER.finditer(solution)]
    elif mode == "sentences":
        starts = [match.end() for match in _SENTENCE_END.finditer(solution)]
    else:
        raise ValueError(f"unknown step split mode {mode!r}: choose one of {', '.join(SPLIT_MODES)}")
    return _pieces(solution, starts)


def step_prefixes(steps: Sequence[str]) -> list[str]:
    """p^(1), ..., p^(K): the first k steps joined, outer whitespace removed."""
    return ["".join(steps[:k]).strip() for k in range(1, len(steps) + 1)]


def prefix_step_rewards(
    model: RewardModel, prompts: Sequence[Prompt], solutions: Sequence[str], mode: str = "lines"
) -> list[list[float]]:
    """r_k = model.score(prompt, p^(k)) for every step of every solution, in one batched score call."""
    prefixes = [step_prefixes(split_steps(solution, mode)) for solution in solutions]
    flat_prompts = [prompt for prompt, items in zip(prompts, prefixes, strict=True) for _ in items]
    flat_values = [score.value for score in model.score(flat_prompts, [p for items in prefixes for p in items])]
    rewards, start = [], 0
    for items in prefixes:
        rewards.append(flat_values[start : start + len(items)])
        start += len(items)
    return rewards


def clip_rewards(step_rewards: Sequence[float], eta: float) -> np.ndarray:
    """Clip (Gao et al. §4): r_k ← min(r_k − η, 0). Every step reward is ≤ 0, so extra steps can only cost."""
    return np.minimum(np.asarray(step_rewards, dtype=float) - eta, 0.0)


def delta_rewards(step_rewards: Sequence[float]) -> np.ndarray:
    """Delta (Gao et al. §4): r_k ← r_k − r_{k+1} for k < K and r_K ← r_K.

    The return from step t telescopes to Σ_{k≥t} = r_t, the reward of a single prefix, so it stays bounded.
    """
    rewards = np.asarray(step_rewards, dtype=float)
    if rewards.size == 0:
        return rewards
    return np.append(rewards[:-1] - rewards[1:], rewards[-1])


def refine_step_rewards(step_rewards: Sequence[float], refinement: str = "clip-delta", eta: float = 0.0) -> np.ndarray:
    """Apply `none`, `clip`, `delta` or `clip-delta` (Clip first, then Delta, as Gao et al. combine them)."""
    if refinement not in REFINEMENTS:
        raise ValueError(f"unknown refinement {refinement!r}: choose one of {', '.join(REFINEMENTS)}")
    rewards = np.asarray(step_rewards, dtype=float)
    if refinement in ("clip", "clip-delta"):
        rewards = clip_rewards(rewards, eta)
    if refinement in ("delta", "clip-delta"):
        rewards = delta_rewards(rewards)
    return rewards


def process_return(refined_step_rewards: Sequence[float]) -> float:
    """The return of a trajectory: Σ_k refined r_k."""
    return float(np.sum(refined_step_rewards))


class ProcessRewardModel:
    """Any scalar reward model used step by step: value = return of the refined prefix rewards."""

    tie_credit = 0.0
    capabilities = Capabilities()

    def __init__(
        self, model: RewardModel, refinement: str = "clip-delta", eta: float = 0.0, split_mode: str = "lines"
    ) -> None:
        refine_step_rewards([], refinement)
        if split_mode not in SPLIT_MODES:
            raise ValueError(f"unknown step split mode {split_mode!r}: choose one of {', '.join(SPLIT_MODES)}")
        self.model, self.refinement, self.eta, self.split_mode = model, refinement, eta, split_mode
        self.name = f"process-{refinement}({model.name})"

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        """Return of the refined step rewards; meta carries the raw and refined step rewards."""
        scores = []
        for rewards in prefix_step_rewards(self.model, prompts, responses, self.split_mode):
            refined = refine_step_rewards(rewards, self.refinement, self.eta)
            meta = {"step_rewards": list(rewards), "refined_step_rewards": refined.tolist()}
            scores.append(Score(value=process_return(refined), meta=meta))
        return scores

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        """p(A better) = σ(return(A) − return(B))."""
        return compare_by_scoring(self.score, prompts, responses_a, responses_b)


def load_process(argument: str) -> ProcessRewardModel:
    """Spec `process:INNER?refinement=clip-delta&eta=0&split=lines`: INNER is any reward-model spec (e.g. a saved
    BT directory), scored on every step prefix of a solution and refined by Clip and/or Delta."""
    inner, _, query = argument.partition("?")
    if not inner:
        raise ValueError("process spec needs an inner reward model: process:DIR?refinement=clip-delta&eta=0")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - {"refinement", "eta", "split"})
    if unknown:
        allowed = "refinement, eta, split"
        raise ValueError(f"process spec {argument!r}: unknown option(s) {', '.join(unknown)}; use {allowed}")
    from rewardkit.families.registry import load_reward_model

    return ProcessRewardModel(
        load_reward_model(inner),
        refinement=options.get("refinement", "clip-delta"),
        eta=float(options.get("eta", 0.0)),
        split_mode=options.get("split", "lines"),
    )
