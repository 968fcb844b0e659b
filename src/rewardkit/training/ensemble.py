"""Ensembles of reward models (Coste et al. 2023, arXiv 2310.02743 §3): train Bradley-Terry members that differ by
seed, or combine already trained models, fitting each member's normalization on a calibration set, and save the
ensemble as one reward model.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rewardkit.data.bon_data import read_bon_jsonl, read_math_questions
from rewardkit.data.readers import read_pairs
from rewardkit.families.ensemble import EnsembleRewardModel
from rewardkit.families.registry import MANIFEST_NAME
from rewardkit.metrics.reward_aggregation import DEFAULT_UWO_LAMBDA, check_method
from rewardkit.protocol import Prompt
from rewardkit.training.config import RESOLVED_CONFIG_NAME

logger = logging.getLogger(__name__)


@dataclass
class EnsembleConfig:
    """An ensemble of Bradley-Terry reward models trained with different seeds, then normalized and combined."""

    member_config: str = field(metadata={"help": "BT recipe YAML each member trains with (relative to this file)."})
    seeds: list[int] = field(
        default_factory=lambda: [0, 1, 2, 3],
        metadata={"help": "One member per seed; the BT seed sets the score-head init and the data order."},
    )
    member_overrides: list[str] = field(
        default_factory=list, metadata={"help": "`key=value` BT settings for every member (as `--set` takes them)."}
    )
    method: str = field(default="uwo", metadata={"help": "Aggregation: mean, wco (min) or uwo (mean − λ·var)."})
    uwo_lambda: float = field(default=DEFAULT_UWO_LAMBDA, metadata={"help": "λ of UWO."})
    calibration_data: str | None = field(
        default=None,
        metadata={"help": "Pairs, Best-of-N or math-question file whose responses fit each member's mean/std."},
    )
    calibration_limit: int = field(default=256, metadata={"help": "Rows of calibration_data to use."})

    def __post_init__(self) -> None:
        check_method(self.method)
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be a non-empty list of distinct integers, got {self.seeds}")


def load_recipe(path: str | Path) -> EnsembleConfig:
    """Read an ensemble recipe YAML: member_config is relative to the YAML file, data paths to the working dir."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: invalid YAML ({error})") from error
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of recipe fields, got {type(values).__name__}")
    known = {recipe_field.name for recipe_field in dataclasses.fields(EnsembleConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}; known fields: {', '.join(sorted(known))}")
    if "member_config" not in values:
        raise ValueError(f"{path}: field 'member_config' is missing (the BT recipe every member trains with)")
    recipe = EnsembleConfig(**values)
    recipe.member_config = str(path.parent / recipe.member_config)
    return recipe


def member_overrides(seed: int, output_dir: Path, recipe: EnsembleConfig) -> list[str]:
    """`key=value` overrides that turn the base BT recipe into one member: shared overrides, its seed and output."""
    return [*recipe.member_overrides, f"seed={seed}", f"output_dir={json.dumps(str(output_dir))}"]


def read_calibration_set(path: str | Path, limit: int) -> tuple[list[Prompt], list[str]]:
    """(prompt, response) pairs to normalize with: both sides of preference pairs, every Best-of-N candidate, or
    the reference solutions of math questions (GSM8K rows).
    """
    if _first_row_has(path, "candidates"):
        items = read_bon_jsonl(path, limit=limit)
        return [item.prompt for item in items for _ in item.candidates], [c for item in items for c in item.candidates]
    if _first_row_has(path, "question"):
        questions = [question for question in read_math_questions(path, limit=limit) if question.solution]
        return [question.question for question in questions], [question.solution for question in questions]
    pairs = read_pairs(str(path), limit=limit).pairs
    return [pair.prompt for pair in pairs] * 2, [pair.chosen for pair in pairs] + [pair.rejected for pair in pairs]


def _first_row_has(path: str | Path, key: str) -> bool:
    """Whether the first JSONL row holds `key` (False for other formats; their reader reports real errors)."""
    with Path(path).open(encoding="utf-8") as lines:
        first = next((line for line in lines if line.strip()), "{}")
    try:
        return key in json.loads(first)
    except json.JSONDecodeError:
        return False


def _bt_trainer() -> tuple[Callable[[str, list[str]], Any], Callable[[Any], Any]]:
    from rewardkit.training.bt import train_bt
    from rewardkit.training.config import load_config

    return load_config, train_bt


def trained_with(member_dir: Path, config: Any) -> bool:
    """True when member_dir holds a finished model whose saved training config equals `config` (so a rerun of the
    recipe, e.g. after an interruption or with more seeds, reuses it instead of training it again)."""
    to_dict = getattr(config, "to_dict", None)
    saved = member_dir / RESOLVED_CONFIG_NAME
    if to_dict is None or not (member_dir / MANIFEST_NAME).is_file() or not saved.is_file():
        return False
    return yaml.safe_load(saved.read_text()) == to_dict()


def train_ensemble(
    recipe: EnsembleConfig,
    output_dir: str | Path,
    load_member_config: Callable[[str, list[str]], Any] | None = None,
    train_member: Callable[[Any], Any] | None = None,
) -> EnsembleRewardModel:
    """Train one BT member per seed into output_dir/members/seed-K, fit normalization, save the ensemble.

    `load_member_config(path, overrides)` and `train_member(config)` default to rewardkit's BT recipe.
    """
    if load_member_config is None or train_member is None:
        load_member_config, train_member = _bt_trainer()
    output_dir = Path(output_dir)
    member_dirs = []
    for seed in recipe.seeds:
        member_dir = output_dir / "members" / f"seed-{seed}"
        config = load_member_config(recipe.member_config, member_overrides(seed, member_dir, recipe))
        position = f"{len(member_dirs) + 1}/{len(recipe.seeds)} (seed {seed})"
        if trained_with(member_dir, config):
            logger.info(
                "Ensemble member %s is already trained with this config in %s; reusing it", position, member_dir
            )
            member_dirs.append(str(member_dir))
            continue
        logger.info("Training ensemble member %s", position)
        train_member(config)
        gc.collect()  # the finished member's Trainer and model hold reference cycles; free them before the next
        if not (member_dir / MANIFEST_NAME).is_file():
            raise RuntimeError(f"the BT trainer wrote no model to {member_dir} ({MANIFEST_NAME} missing)")
        member_dirs.append(str(member_dir))
    return build_ensemble(
        member_dirs, output_dir, recipe.method, recipe.uwo_lambda, recipe.calibration_data, recipe.calibration_limit
    )


def build_ensemble(
    member_specs: list[str],
    output_dir: str | Path,
    method: str,
    uwo_lambda: float,
    calibration_data: str | None,
    calibration_limit: int,
) -> EnsembleRewardModel:
    """Load the members, fit their normalization on the calibration set (when given) and save the ensemble."""
    ensemble = EnsembleRewardModel.from_specs(member_specs, method=method, uwo_lambda=uwo_lambda)
    if calibration_data:
        prompts, responses = read_calibration_set(calibration_data, calibration_limit)
        ensemble.fit_normalization(prompts, responses)
    else:
        logger.warning("No calibration data: members stay unnormalized (mean/WCO/UWO then mix raw reward scales)")
    ensemble.save(output_dir)
    return ensemble


def describe(ensemble: EnsembleRewardModel, output_dir: str | Path) -> str:
    """One line on what was saved: member count, method, each member's fitted mean±std, the directory."""
    normalization = ensemble.normalizations or []
    fitted = ", ".join(f"{n.mean:+.3f}±{n.std:.3f}" for n in normalization) or "none"
    return f"Ensemble of {len(ensemble.members)} ({ensemble.method}); member mean±std: {fitted}. Saved to {output_dir}"
