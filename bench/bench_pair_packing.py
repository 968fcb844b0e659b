"""BT training step time with pair packing (a pair's prompt read once) vs each side read whole, same pairs.

A recipe's model is built as training builds it (LoRA adapters and score head as configured), and a seeded sample of
its training pairs is tokenized as training tokenizes them. Each path batches the whole sample the way training
would (the length-grouped order, by the longer side when whole, by the packed row when packed) and runs the training
forward and backward of every batch (no optimizer step, so the weights stay fixed and the two paths' rewards can be
compared pair by pair). Each path's batches are split into `--chunks` consecutive runs and the path timed first
alternates from run to run, so the CPU's drift falls on both alike. The JSON also counts the padded tokens of one
epoch over the recipe's whole training set each way (`epoch_padded_tokens`): a sample groups less tightly than an
epoch does.

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

import torch
from transformers.trainer_pt_utils import get_length_grouped_indices

from rewardkit.bench_record import chunk_bounds, machine_and_date
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


def training_set(recipe: str, config):
    """Every pair the recipe trains on (the quickstart: the synthetic pairs its longest run is offered)."""
    if recipe == "quickstart":
        from rewardkit.commands.quickstart_cmd import BATCH_SIZE, QuickstartConfig
        from rewardkit.data.synthetic import synthetic_splits

        quickstart = QuickstartConfig(output=Path(config.output_dir))
        return synthetic_splits(quickstart.ceiling_steps * BATCH_SIZE, 1, seed=quickstart.seed)[0]
    from rewardkit.training.bt_data import build_bt_data

    return build_bt_data(config).train


def epoch_padded_tokens(datasets: dict, batch_size: int, seed: int) -> dict:
    """Padded tokens of one epoch over the whole training set each way, in the order training draws (epoch 0)."""
    tokens = {}
    for path, dataset in datasets.items():
        lengths = dataset["length"]
        batches = grouped_batches(lengths, batch_size, seed)
        rows = 1 if path == "packed" else 2
        tokens[path] = sum(rows * len(batch) * max(lengths[index] for index in batch) for batch in batches)
    return {**tokens, "ratio": round(tokens["whole"] / tokens["packed"], 2)}


def grouped_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """The length-grouped order training draws (transformers' megabatches, longest first), cut into batches."""
    order = get_length_grouped_indices(lengths, batch_size, generator=torch.Generator().manual_seed(seed))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def chunked(batches: list[list[int]], count: int) -> list[list[list[int]]]:
    """`batches` in `count` consecutive runs of near-equal size (the path's own order kept)."""
    return [batches[start:end] for start, end in chunk_bounds(len(batches), count)]


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
    reward_model = build_reward_model(config)
    reward_model.model.train()
    tokenizer, truncation = reward_model.tokenizer, reward_model.truncation
    everything = training_set(args.recipe, config)
    whole_set = {path: tokenize_pairs(everything, tokenizer, truncation, packed=path == "packed")[0] for path in PATHS}
    epoch_tokens = epoch_padded_tokens(whole_set, batch_size, config.seed)
    sample = random.Random(args.seed).sample(range(len(everything)), min(args.batches * batch_size, len(everything)))
    datasets = {path: whole_set[path].select(sample) for path in PATHS}  # tokenized once, with the whole set
    pad = tokenizer.pad_token_id
    collators = {"packed": PackedPairCollator(pad), "whole": PairwiseCollator(pad)}
    seconds, tokens, rewards = dict.fromkeys(PATHS, 0.0), dict.fromkeys(PATHS, 0), {path: {} for path in PATHS}
    chunks = {
        path: chunked(grouped_batches(datasets[path]["length"], batch_size, args.seed), args.chunks) for path in PATHS
    }
    run_path(reward_model, datasets["packed"], [[0]], collators["packed"])  # warm-up
    for chunk in range(args.chunks):
        for path in PATHS if chunk % 2 == 0 else PATHS[::-1]:
            chunk_seconds, chunk_rewards, chunk_tokens = run_path(
                reward_model, datasets[path], chunks[path][chunk], collators[path]
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
        "pairs": len(sample),
        "batch_size": batch_size,
        "max_length": config.max_length,
        "precision": reward_model.precision,
        "adapter": config.adapter,
        **{path: {"seconds": round(seconds[path], 2), "padded_tokens": tokens[path]} for path in PATHS},
        "speedup": round(seconds["whole"] / seconds["packed"], 2),
        "tokens_ratio": round(tokens["whole"] / tokens["packed"], 2),
        "max_abs_reward_diff": difference,
        "training_set_pairs": len(everything),
        "epoch_padded_tokens": epoch_tokens,
        "order": f"each path's batches in {args.chunks} runs, alternating, packed first in the first",
        **machine_and_date(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
