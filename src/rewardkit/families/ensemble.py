"""Reward-model ensembles: mean, worst-case (WCO) and uncertainty-weighted (UWO) aggregation of normalized member
rewards (Coste et al. 2023, "Reward Model Ensembles Help Mitigate Overoptimization", arXiv 2310.02743, §3).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rewardkit.families.registry import MANIFEST_NAME, load_reward_model, read_manifest
from rewardkit.metrics.reward_aggregation import DEFAULT_UWO_LAMBDA, aggregate_rewards, check_method
from rewardkit.protocol import (
    Capabilities,
    MemberRewards,
    Preference,
    Prompt,
    RewardModel,
    Score,
    compare_by_scoring,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RewardNormalization:
    """Affine map r -> (r - mean) / std that puts a member's rewards on a common scale."""

    mean: float = 0.0
    std: float = 1.0

    def apply(self, rewards: np.ndarray) -> np.ndarray:
        return (np.asarray(rewards, dtype=float) - self.mean) / self.std


def fit_reward_normalization(rewards: Sequence[float]) -> RewardNormalization:
    """Mean/std of one member's rewards on a calibration set; constant rewards cannot be normalized."""
    rewards = np.asarray(rewards, dtype=float)
    if rewards.size < 2 or float(rewards.std()) == 0.0:
        raise ValueError(
            f"cannot fit a normalization on {rewards.size} reward(s) with std {rewards.std() if rewards.size else 0}: "
            "use a calibration set of several different responses"
        )
    return RewardNormalization(mean=float(rewards.mean()), std=float(rewards.std()))


def _variances(a: Score, b: Score) -> dict[str, float]:
    return {"variance_a": a.meta["variance"], "variance_b": b.meta["variance"]}


class EnsembleRewardModel:
    """Several reward models scored together; value = aggregate of their normalized rewards."""

    family = "ensemble"
    tie_credit = 0.0
    capabilities = Capabilities()

    def __init__(
        self,
        members: Sequence[RewardModel],
        method: str = "mean",
        uwo_lambda: float = DEFAULT_UWO_LAMBDA,
        normalizations: Sequence[RewardNormalization] | None = None,
        member_specs: Sequence[str] | None = None,
        name: str | None = None,
    ) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self._check_lengths(len(members), normalizations, member_specs)
        self.members = list(members)
        self.method = check_method(method)
        self.uwo_lambda = float(uwo_lambda)
        self.normalizations = list(normalizations) if normalizations is not None else None
        self.member_specs = list(member_specs) if member_specs is not None else None
        self.name = name or f"ensemble-{method}({len(members)})"

    @property
    def compiles(self) -> bool:
        """Whether any member runs a compiled forward (BT members under REWARDKIT_COMPILE=on)."""
        return any(getattr(member, "compiles", False) for member in self.members)

    def warm_up(self) -> None:
        """Each compiled member compiles now (`ScalarRewardModel.warm_up`), not in the first real batch."""
        for member in self.members:
            if getattr(member, "compiles", False):
                member.warm_up()

    @staticmethod
    def _check_lengths(count: int, normalizations: Sequence | None, specs: Sequence | None) -> None:
        for label, values in (("normalizations", normalizations), ("member_specs", specs)):
            if values is not None and len(values) != count:
                raise ValueError(f"{label} has {len(values)} entries for {count} members")

    @classmethod
    def from_specs(cls, specs: Sequence[str], **kwargs) -> EnsembleRewardModel:
        """Load each member with load_reward_model (any registered spec or saved directory)."""
        return cls([load_reward_model(spec) for spec in specs], member_specs=specs, **kwargs)

    def raw_member_rewards(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> np.ndarray:
        """[members, items] rewards as each member scores them (one batched call per member)."""
        return np.array([[score.value for score in member.score(prompts, responses)] for member in self.members])

    def fit_normalization(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[RewardNormalization]:
        """Fit each member's mean/std on a calibration set of (prompt, response), so members share one scale."""
        raw = self.raw_member_rewards(prompts, responses)
        self.normalizations = [fit_reward_normalization(row) for row in raw]
        return self.normalizations

    def normalize(self, raw: np.ndarray) -> np.ndarray:
        if self.normalizations is None:
            return raw
        return np.stack([norm.apply(row) for norm, row in zip(self.normalizations, raw, strict=True)])

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        """Aggregated normalized reward; `members` holds the normalized member rewards and the rule that combined them,
        meta the raw member rewards and their variance."""
        if self.normalizations is None:
            logger.warning("%s: members are not normalized; call fit_normalization on a calibration set", self.name)
        raw = self.raw_member_rewards(prompts, responses)
        normalized = self.normalize(raw)
        values = aggregate_rewards(normalized, self.method, self.uwo_lambda)
        variances = normalized.var(axis=0)
        return [
            Score(
                value=float(values[i]),
                meta={"member_raw_rewards": raw[:, i].tolist(), "variance": float(variances[i])},
                members=MemberRewards(normalized[:, i].tolist(), self.method, self.uwo_lambda),
            )
            for i in range(len(responses))
        ]

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        """p(A better) = σ(aggregate(A) - aggregate(B)), both sides scored in one batch."""
        return compare_by_scoring(self.score, prompts, responses_a, responses_b, meta=_variances)

    def save(self, directory: str | Path) -> Path:
        """Write rewardkit.json (members relative to `directory` when inside it, method, λ, normalization)."""
        if self.member_specs is None:
            raise ValueError(
                "this ensemble was built from model objects, so it cannot name its members on disk: "
                "build it with EnsembleRewardModel.from_specs(...) or pass member_specs"
            )
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        manifest = {
            "family": self.family,
            "members": [_spec_relative_to(spec, directory) for spec in self.member_specs],
            "method": self.method,
            "uwo_lambda": self.uwo_lambda,
            "normalization": None if self.normalizations is None else [asdict(n) for n in self.normalizations],
        }
        (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> EnsembleRewardModel:
        """Load a directory written by `save` (members via load_reward_model, relative paths from `directory`)."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        specs = _manifest_members(manifest, directory)
        normalizations = _manifest_normalizations(manifest, directory, len(specs))
        return cls.from_specs(
            specs,
            method=manifest.get("method", "mean"),
            uwo_lambda=float(manifest.get("uwo_lambda", DEFAULT_UWO_LAMBDA)),
            normalizations=normalizations,
            name=directory.name,
        )


def _spec_relative_to(spec: str, directory: Path) -> str:
    """A member path inside the ensemble directory is stored relative to it, so the directory can move."""
    path = Path(spec).expanduser()
    if path.exists() and path.resolve().is_relative_to(directory.resolve()):
        return str(path.resolve().relative_to(directory.resolve()))
    return str(path.resolve()) if path.exists() else spec


def _manifest_members(manifest: dict, directory: Path) -> list[str]:
    members = manifest.get("members")
    if not isinstance(members, list) or not members or not all(isinstance(spec, str) for spec in members):
        raise ValueError(f"{directory / MANIFEST_NAME}: field 'members': expected a non-empty list of model specs")
    return [str(directory / spec) if (directory / spec).exists() else spec for spec in members]


def _manifest_normalizations(manifest: dict, directory: Path, count: int) -> list[RewardNormalization] | None:
    entries = manifest.get("normalization")
    if entries is None:
        return None
    valid = isinstance(entries, list) and len(entries) == count
    if not valid or not all(isinstance(e, dict) and {"mean", "std"} <= set(e) and e["std"] > 0 for e in entries):
        raise ValueError(
            f"{directory / MANIFEST_NAME}: field 'normalization': expected {count} entries {{mean, std > 0}} "
            "(one per member) or null"
        )
    return [RewardNormalization(mean=float(e["mean"]), std=float(e["std"])) for e in entries]
