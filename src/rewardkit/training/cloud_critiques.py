"""CLoud stage 2: the stage-1 critic rewrites the critiques of the preference training set itself (on-policy
critiques, Ankner et al. 2024, arXiv 2408.11791, §3), so stage 3 trains the reward head on critiques like the ones
it will read at inference.

Pairs are critiqued `pairs_per_call` at a time (chosen and rejected in one HFEngine call: one prefill per response,
shared prompt prefixes read once) and appended to OUTPUT/critiques.jsonl after each call, so an interrupted run
continues with --resume; OUTPUT/generation.json records the settings a resumed run must share. Under `torchrun` /
`accelerate launch` each call's pairs are dealt across the processes and rank 0 writes them all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rewardkit.data.critiques import append_critiqued_pairs, read_critiqued_pairs, with_critiques
from rewardkit.data.master_keys import add_master_key_negatives, is_master_key_negative
from rewardkit.data.schema import PreferencePair
from rewardkit.families.cloud import CloudRewardModel, CritiqueSamplingConfig
from rewardkit.training import distributed
from rewardkit.training.bt_data import read_source, seeded_subsample
from rewardkit.training.cloud_config import CritiqueGenerationConfig

CRITIQUES_FILE = "critiques.jsonl"
SETTINGS_FILE = "generation.json"


@dataclass
class CritiqueGenerationResult:
    """Where the critiques went, how many pairs the file holds, and this run's generation speed."""

    critiques_path: str
    pairs: int
    master_key_negatives: int
    resumed_at: int
    runtime_s: float
    critiques_per_second: float


def planned_pairs(config: CritiqueGenerationConfig) -> list[PreferencePair]:
    """Every source read and limited, then `max_pairs` drawn (seeded) and the master-key negatives added, in a fixed
    order; ids must be unique."""
    pool: list[PreferencePair] = []
    for index, source in enumerate(config.train):
        pool.extend(read_source(source, skip_bad_rows=config.skip_bad_rows, seed=config.seed + index))
    if not pool:
        raise ValueError("no pairs to critique: set `train` to one or more preference pair files")
    pairs, _ = add_master_key_negatives(
        seeded_subsample(pool, config.max_pairs, config.seed), config.master_key_negatives, config.seed
    )
    repeated = sorted(pair_id for pair_id, count in Counter(pair.id for pair in pairs).items() if count > 1)
    if repeated:
        raise ValueError(f"pair ids repeat across sources (e.g. {repeated[:3]}): a resumable run needs unique ids")
    return pairs


def critique_pairs(
    critic: CloudRewardModel, pairs: Sequence[PreferencePair], sampling: CritiqueSamplingConfig
) -> list[PreferencePair]:
    """The pairs with one critique per response; chosen and rejected are critiqued in one generation call."""
    count = len(pairs)
    prompts = [pair.prompt for pair in pairs] * 2
    responses = [pair.chosen for pair in pairs] + [pair.rejected for pair in pairs]
    critiques = critic.generate_critiques(prompts, responses, sampling)
    return [with_critiques(pair, critiques[i][0], critiques[count + i][0]) for i, pair in enumerate(pairs)]


def generation_settings(config: CritiqueGenerationConfig, critic: CloudRewardModel) -> dict[str, Any]:
    """What decides the critiques written: a resumed run must match it."""
    settings = config.to_dict()
    for name in ("output_dir", "max_batch_rows"):
        settings.pop(name)
    model_path = Path(config.model).expanduser()
    settings["model"] = str(model_path.resolve()) if model_path.exists() else config.model
    settings["critique_format"] = asdict(critic.critique_format)
    return settings


def _pairs_done(output: Path, settings: dict[str, Any], planned: Sequence[PreferencePair], resume: bool) -> int:
    """How many planned pairs OUTPUT already holds (0 for a fresh run); errors when that cannot be trusted."""
    critiques_path, settings_path = output / CRITIQUES_FILE, output / SETTINGS_FILE
    if not critiques_path.exists():
        if resume:
            raise FileNotFoundError(f"--resume: {critiques_path} does not exist; run without --resume")
        return 0
    if not resume:
        raise FileExistsError(f"{critiques_path} exists: pass --resume to continue it, or use another --output")
    saved = json.loads(settings_path.read_text()) if settings_path.is_file() else {}
    changed = sorted(key for key in settings if saved.get(key) != settings[key])
    if changed:
        raise ValueError(f"{settings_path}: the run was started with other {', '.join(changed)}; use another --output")
    done = read_critiqued_pairs(critiques_path)
    if [pair.id for pair in done] != [pair.id for pair in planned[: len(done)]]:
        raise ValueError(
            f"{critiques_path}: its pairs are not the first {len(done)} planned ones; use another --output"
        )
    return len(done)


def generate_self_critiques(
    config: CritiqueGenerationConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    critic: CloudRewardModel | None = None,
) -> CritiqueGenerationResult:
    """Critique every planned pair with the stage-1 critic into OUTPUT/critiques.jsonl (resumable per call)."""
    started = time.monotonic()
    distributed.initialize()
    critic = critic or CloudRewardModel.load(
        config.model, precision=config.precision, max_batch_rows=config.max_batch_rows
    )
    planned = planned_pairs(config)
    output = Path(config.output_dir)
    settings = generation_settings(config, critic)
    done = _pairs_done(output, settings, planned, resume)
    distributed.wait_for_everyone()  # every rank has checked OUTPUT before rank 0 writes to it
    main = distributed.is_main_process()
    if main:
        output.mkdir(parents=True, exist_ok=True)
        (output / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n")
    sampling = CritiqueSamplingConfig(temperature=config.temperature, top_p=config.top_p)
    step = config.pairs_per_call
    generation_started = time.monotonic()
    with (
        (output / CRITIQUES_FILE).open("a") if main else contextlib.nullcontext() as handle,
        tqdm(total=len(planned), initial=done, desc="critiquing", unit="pair", disable=not (progress and main)) as bar,
    ):
        for start in range(done, len(planned), step):
            chunk_sampling = dataclasses.replace(sampling, seed=config.seed + start)
            critique_chunk = functools.partial(critique_pairs, critic, sampling=chunk_sampling)
            critiqued = distributed.sharded_map(critique_chunk, planned[start : start + step])
            if main:
                append_critiqued_pairs(critiqued, handle)
            bar.update(len(critiqued))
    generation_seconds = time.monotonic() - generation_started
    return CritiqueGenerationResult(
        critiques_path=str(output / CRITIQUES_FILE),
        pairs=len(planned),
        master_key_negatives=sum(is_master_key_negative(pair.id) for pair in planned),
        resumed_at=done,
        runtime_s=time.monotonic() - started,
        critiques_per_second=2 * (len(planned) - done) / max(generation_seconds, 1e-9),
    )
