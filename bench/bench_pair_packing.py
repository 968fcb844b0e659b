"""BT training step time with pair packing (a pair's prompt read once) vs each side read whole, same pairs.

A recipe's model is built as training builds it (LoRA adapters and score head as configured), and a seeded sample of
its training pairs is tokenized as training tokenizes them. Each path batches the sample the way training would (the
length-grouped order, by the longer side when whole, by the packed row when packed) and runs the training forward
and backward of every batch (no optimizer step, so the weights stay fixed and the two paths' rewards can be
compared pair by pair). The sample is split into `--chunks` chunks and the path timed first alternates between
them, so the CPU's drift falls on both alike.

Run from the repository root (REWARDKIT_PRECISION=fp32 forces the fp32 path on a bf16 machine):

    python bench/bench_pair_packing.py --recipe quickstart --batches 24
    python bench/bench_pair_packing.py --recipe configs/bt_default.yaml --batches 16

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from transformers.trainer_pt_utils import get_length_grouped_indices

from rewardkit.bench_record import machine_and_date
from rewardkit.models.precision import autocast_context
from rewardkit.training.bt import build_reward_model
from rewardkit.training.collate import PackedPairCollator, PairwiseCollator, tokenize_pairs
from rewardkit.training.pairwise_trainer import bradley_terry_loss, pair_rewards

PATHS = ("packed", "whole")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipe", default="quickstart", help="'quickstart' (the main job's recipe) or a BT config YAML."
    )
    parser.add_argument("--batches", type=int, default=24, help="Batches of the recipe's size in the sample.")
    parser.add_argument("--chunks", type=int, default=4, help="Chunks; the path timed first alternates.")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def recipe_config(recipe: str):
    """The BTConfig the recipe trains with."""
    if recipe == "quickstart":
        from rewardkit.commands.quickstart_cmd import QuickstartConfig, quickstart_bt_config

        output = Path("runs/bench_pair_packing")
        return quickstart_bt_config(QuickstartConfig(output=output), 1, output)
    from rewardkit.training.config import load_config

    return load_config(recipe)


def recipe_pairs(recipe: str, config, count: int, seed: int):
    """A seeded sample of `count` of the pairs the recipe trains on (the quickstart's synthetic pairs)."""
    if recipe == "quickstart":
        from rewardkit.commands.quickstart_cmd import QuickstartConfig
        from rewardkit.data.synthetic import synthetic_splits

        return synthetic_splits(count, 1, seed=QuickstartConfig(output=Path("runs/bench_pair_packing")).seed)[0]
    from rewardkit.training.bt_data import build_bt_data

    pairs = build_bt_data(config).train
    return random.Random(seed).sample(pairs, min(count, len(pairs)))


def grouped_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """The length-grouped order training draws (transformers' megabatches, longest first), cut into batches."""
    order = get_length_grouped_indices(lengths, batch_size, generator=torch.Generator().manual_seed(seed))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def run_path(reward_model, dataset, batches, collator) -> tuple[float, dict[int, tuple[float, float]], int]:
    """Seconds of forward + backward over `batches`, each pair's (chosen, rejected) rewards, padded tokens read."""
    model, rewards, tokens = reward_model.model, {}, 0
    started = time.perf_counter()
    for batch in batches:
        inputs = collator([dataset[index] for index in batch])
        tokens += inputs["input_ids"].numel()
        model.zero_grad(set_to_none=True)
        with autocast_context(reward_model.device, reward_model.precision):
            chosen, rejected = pair_rewards(model, inputs)
            loss = bradley_terry_loss(chosen, rejected)
        loss.backward()
        for index, pair in zip(batch, torch.stack([chosen, rejected], 1).tolist(), strict=True):
            rewards[index] = (pair[0], pair[1])
    return time.perf_counter() - started, rewards, tokens


def main() -> None:
    args = parse_args()
    config = recipe_config(args.recipe)
    batch_size = config.per_device_train_batch_size
    pairs = recipe_pairs(args.recipe, config, args.batches * batch_size, args.seed)
    reward_model = build_reward_model(config)
    reward_model.model.train()
    tokenizer, truncation = reward_model.tokenizer, reward_model.truncation
    datasets = {path: tokenize_pairs(pairs, tokenizer, truncation, packed=path == "packed")[0] for path in PATHS}
    pad = tokenizer.pad_token_id
    collators = {"packed": PackedPairCollator(pad), "whole": PairwiseCollator(pad)}
    chunk_bounds = np.linspace(0, len(pairs), args.chunks + 1).astype(int)
    seconds, tokens, rewards = dict.fromkeys(PATHS, 0.0), dict.fromkeys(PATHS, 0), {path: {} for path in PATHS}
    run_path(reward_model, datasets["packed"], [[0]], collators["packed"])  # warm-up
    for chunk, (start, end) in enumerate(zip(chunk_bounds[:-1], chunk_bounds[1:], strict=True)):
        for path in PATHS if chunk % 2 == 0 else PATHS[::-1]:
            lengths = datasets[path]["length"][start:end]
            batches = [[start + i for i in batch] for batch in grouped_batches(lengths, batch_size, args.seed)]
            chunk_seconds, chunk_rewards, chunk_tokens = run_path(
                reward_model, datasets[path], batches, collators[path]
            )
            seconds[path] += chunk_seconds
            tokens[path] += chunk_tokens
            rewards[path].update(chunk_rewards)
    difference = max(
        abs(packed - whole)
        for index, sides in rewards["whole"].items()
        for packed, whole in zip(rewards["packed"][index], sides, strict=True)
    )
    result = {
        "benchmark": "pair_packing",
        "recipe": args.recipe,
        "model": config.model,
        "pairs": len(pairs),
        "batch_size": batch_size,
        "max_length": config.max_length,
        "precision": reward_model.precision,
        "adapter": config.adapter,
        **{path: {"seconds": round(seconds[path], 2), "padded_tokens": tokens[path]} for path in PATHS},
        "speedup": round(seconds["whole"] / seconds["packed"], 2),
        "tokens_ratio": round(tokens["whole"] / tokens["packed"], 2),
        "max_abs_reward_diff": difference,
        "order": f"alternating over {args.chunks} chunks, packed first in the first",
        **machine_and_date(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
