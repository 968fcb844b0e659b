"""Training and evaluation pairs for a BT run: read every source, add synthetic pairs, subsample and split (seeded)."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from rewardkit.data.master_keys import add_master_key_negatives
from rewardkit.data.schema import PreferencePair
from rewardkit.data.synthetic import DEFAULT_TASKS
from rewardkit.training.config import BTConfig, DataSourceConfig, SyntheticDataConfig
from rewardkit.training.math_pairs import build_math_pairs

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class BTData:
    """The pairs a run trains and evaluates on, with how many came from each source."""

    train: list[PreferencePair]
    eval: list[PreferencePair]
    source_counts: dict[str, int] = field(default_factory=dict)


def seeded_subsample(pairs: Sequence[PreferencePair], limit: int | None, seed: int) -> list[PreferencePair]:
    """At most `limit` pairs drawn without replacement (input order kept); all of them when limit is None."""
    if limit is None or limit >= len(pairs):
        return list(pairs)
    if limit < 0:
        raise ValueError(f"a pair limit must be >= 0, got {limit}")
    keep = sorted(random.Random(seed).sample(range(len(pairs)), limit))
    return [pairs[index] for index in keep]


def split_held_out(items: Sequence[T], fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """(train, held out): a seeded shuffle, then the first round(fraction · n) items held out."""
    if not 0 <= fraction < 1:
        raise ValueError(f"eval_fraction must be in [0, 1), got {fraction}")
    return split_off(items, round(len(items) * fraction), seed)


def split_off(items: Sequence[T], held_out: int, seed: int) -> tuple[list[T], list[T]]:
    """(rest, held out): a seeded shuffle, then the first `held_out` items held out."""
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    return shuffled[held_out:], shuffled[:held_out]


def _gsm8k_pairs(path: str, seed: int) -> list[PreferencePair]:
    """Reference-vs-corrupted pairs from every question of a GSM8K-style file that has a solution."""
    from rewardkit.data.bon_data import read_math_questions

    if not Path(path).is_file():
        raise FileNotFoundError(f"training source not found: {path} (relative paths start at {Path.cwd()})")
    questions = [item for item in read_math_questions(path) if item.solution]
    return build_math_pairs([(item.id, item.question, item.solution) for item in questions], seed=seed)


def _read_pairs(path: str, skip_bad_rows: bool) -> list[PreferencePair]:
    from rewardkit.data.readers import read_pairs

    result = read_pairs(path, on_error="skip" if skip_bad_rows else "raise")
    if not (result.skipped or result.repeated_ids):  # else the reader has already warned with this same line
        logger.info(result.summary())
    return result.pairs


def read_source(source: DataSourceConfig, *, skip_bad_rows: bool = False, seed: int = 0) -> list[PreferencePair]:
    """The pairs of one source (read as they are, or built from GSM8K rows), subsampled to its limit."""
    if source.builder == "gsm8k":
        pairs = _gsm8k_pairs(source.path, seed)
    else:
        pairs = _read_pairs(source.path, skip_bad_rows)
    return seeded_subsample(pairs, source.limit, seed)


def _synthetic_pairs(config: BTConfig) -> list[PreferencePair]:
    if config.synthetic.n <= 0:
        return []
    from rewardkit.data.synthetic import generate_synthetic_pairs

    return generate_synthetic_pairs(config.synthetic.n, seed=config.synthetic.seed, tasks=config.synthetic.tasks)


def _synthetic_source_name(synthetic: SyntheticDataConfig) -> str:
    tasks = "" if synthetic.tasks == list(DEFAULT_TASKS) else f", tasks={','.join(synthetic.tasks)}"
    return f"synthetic(n={synthetic.n}, seed={synthetic.seed}{tasks})"


def _eval_pairs(config: BTConfig, pool: list[PreferencePair]) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """(train, eval): eval from `eval_file` when set, else a seeded `eval_fraction` of the pool."""
    if config.eval_file:
        return pool, read_source(DataSourceConfig(path=config.eval_file), skip_bad_rows=config.skip_bad_rows)
    return split_held_out(pool, config.eval_fraction, config.seed)


def build_bt_data(config: BTConfig) -> BTData:
    """Read, mix, split and subsample the pairs a BTConfig asks for, add master-key negatives to the training side
    only (evaluation stays on real pairs); log the counts."""
    pool: list[PreferencePair] = []
    counts: dict[str, int] = {}
    for index, source in enumerate(config.train):
        pairs = read_source(source, skip_bad_rows=config.skip_bad_rows, seed=config.seed + index)
        counts[source.path] = len(pairs)
        pool.extend(pairs)
    synthetic = _synthetic_pairs(config)
    if synthetic:
        counts[_synthetic_source_name(config.synthetic)] = len(synthetic)
        pool.extend(synthetic)
    if not pool:
        raise ValueError("no training pairs: set `train` (paths) and/or `synthetic.n` in the config")
    train, evaluation = _eval_pairs(config, pool)
    train = seeded_subsample(train, config.max_train_pairs, config.seed)
    train, negatives = add_master_key_negatives(train, config.master_key_negatives, config.seed)
    if negatives.added:
        counts["master-key negatives"] = negatives.added
    evaluation = seeded_subsample(evaluation, config.max_eval_pairs, config.seed)
    for name, count in counts.items():
        logger.info("source %s: %d pairs", name, count)
    logger.info("training on %d pairs, evaluating on %d pairs", len(train), len(evaluation))
    return BTData(train=train, eval=evaluation, source_counts=counts)
