"""Scalar reward scoring throughput: rewardkit's scorer vs the path a reward-bench user gets today.

reward-bench path (as `scripts/run_rm.py` does it): chat-formatted texts through a transformers
`pipeline("text-classification")` with `function_to_apply="none"`, chosen texts in one pass and rejected texts in
another, batches of `--baseline-batch-size` (64, its default) in data order, padded to the longest text of each
batch, truncated from the left to the same token budget. The texts are the exact token sequences rewardkit scores
(decoded), so both paths see the same inputs. It is timed with the weights in fp32 (what `from_pretrained`
gives on CPU) and with bf16 weights; the faster of the two is the reference.

rewardkit path: `ScalarRewardModel.compare` on the same model object: a pair's prompt read once and both responses
packed after it in one row under a tree attention mask (models/shared_prefix.py), rows sorted by length and batched
under a padded-token budget, `inference_mode`, bf16 autocast where the precision resolves to bf16
(REWARDKIT_PRECISION=fp32 forces fp32).
rewardkit without prefix sharing (the scorer before it: every sequence whole, one length-sorted pool) is timed too.
With `--compiled`, so is rewardkit with its forward compiled (`REWARDKIT_COMPILE=on`: torch.compile, dynamic shapes),
on the same model object; its warm-up (the compile of the one graph all batches reuse) is reported apart.

A matmul probe measures the machine's rate (FLOP/s of a [budget x hidden] @ [hidden x intermediate] product in the
scorer's dtype, best of several) before each chunk and after the last; the scorer's rate is read as a fraction of
their median: model FLOPs per token are 2 x the parameters of the linear layers (attention scores are left out, so
the fraction is a slight underestimate).

All paths score the same pairs with the same weights; the script reports accuracies and the largest reward
difference. The CPU's speed drifts within a run, so the pairs are split into `--chunks` consecutive chunks, every
path runs on each, and the order of the paths reverses from one chunk to the next (A B C | C B A | ...); a path's
time is the sum over chunks. Run from the repository root:

    python bench/bench_scoring.py --model default --pairs 500

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import pipeline

from rewardkit.bench_record import chunk_bounds, compiled_twin, machine_and_date
from rewardkit.data.readers import read_pairs
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.models.chat import TruncationConfig, prompt_key
from rewardkit.models.shared_prefix import groups_by_key

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "rewardbench_like_dev.jsonl"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="default",
        help="A rewardkit BT model directory, or a backbone spec (then a fresh score head is put on it; speed does "
        "not depend on training).",
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="Preference pairs (any format rewardkit reads)"
    )
    parser.add_argument("--pairs", type=int, default=500, help="How many pairs (a seeded sample of the file).")
    parser.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="Token budget per scored sequence, both paths (default: the saved model's, or 512 for a backbone).",
    )
    parser.add_argument(
        "--baseline-batch-size", type=int, default=64, help="Pipeline batch size (reward-bench's default)."
    )
    parser.add_argument(
        "--max-tokens-per-batch", type=int, default=None, help="rewardkit's padded-token budget (default: by device)."
    )
    parser.add_argument(
        "--baseline-dtypes",
        default="fp32,bf16",
        help="Weight dtypes of the reward-bench path (comma-separated: fp32, bf16); the fastest is the reference.",
    )
    parser.add_argument(
        "--baseline-first",
        action="store_true",
        help="In the first chunk, time the reward-bench path before rewardkit's (default: after).",
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=4,
        help="Consecutive chunks of the pairs; every path runs on each, in an order that reverses from chunk to chunk "
        "(the CPU's speed drifts), and each path's time is the sum.",
    )
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="Also time the scorer with its forward compiled (REWARDKIT_COMPILE=on); the compile is reported apart.",
    )
    parser.add_argument(
        "--dense-mask",
        action="store_true",
        help="Also time the scorer reading packed rows through the dense tree mask (every (query, key) pair of a "
        "row computed, the masked ones discarded) instead of tree attention, on the same model object.",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def load_model(spec: str, max_length: int | None, max_tokens_per_batch: int | None) -> ScalarRewardModel:
    if (Path(spec) / "rewardkit.json").is_file():
        model = ScalarRewardModel.load(spec, max_tokens_per_batch=max_tokens_per_batch)
        if max_length is not None:
            model.truncation = TruncationConfig(max_length, min(max_length, model.truncation.max_response_length))
        return model
    max_length = max_length or 512
    truncation = TruncationConfig(max_length=max_length, max_response_length=max_length * 3 // 4)
    return ScalarRewardModel.from_backbone(spec, truncation=truncation, max_tokens_per_batch=max_tokens_per_batch)


def sample_pairs(path: Path, count: int, seed: int):
    pairs = read_pairs(path).pairs
    return random.Random(seed).sample(pairs, min(count, len(pairs)))


def identical_texts(reward_model: ScalarRewardModel, prompts, responses) -> list[str]:
    """The exact token sequences rewardkit scores, as text, so both paths see the same inputs."""
    return [reward_model.tokenizer.decode(ids) for ids in reward_model.encode(prompts, responses)]


def time_reward_bench_path(reward_model: ScalarRewardModel, chosen_texts, rejected_texts, args, dtype):
    """Seconds and (chosen, rejected) rewards for the pipeline path with a copy of the model's weights in `dtype`
    (a copy: casting the scorer's own weights to bf16 and back would round them for every path timed after)."""
    model = copy.deepcopy(reward_model.model).to(dtype)
    tokenizer = copy.deepcopy(reward_model.tokenizer)
    tokenizer.truncation_side = "left"  # as run_rm.py sets it
    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device=model.device)
    kwargs = dict(
        batch_size=args.baseline_batch_size,
        truncation=True,
        padding=True,
        max_length=args.max_length,
        function_to_apply="none",
        top_k=None,
    )
    start = time.perf_counter()
    with torch.inference_mode():
        chosen = [output[0]["score"] for output in classifier(chosen_texts, **kwargs)]
        rejected = [output[0]["score"] for output in classifier(rejected_texts, **kwargs)]
    seconds = time.perf_counter() - start
    return seconds, np.array(chosen), np.array(rejected)


@dataclass
class Sample:
    """The pairs every path scores: rewardkit's inputs and, for the pipeline, the same token sequences as text."""

    prompts: list
    chosen: list[str]
    rejected: list[str]
    chosen_texts: list[str]
    rejected_texts: list[str]

    def chunks(self, count: int) -> list[Sample]:
        """Consecutive near-equal chunks (fewer when there are fewer pairs)."""
        fields = [getattr(self, field.name) for field in dataclasses.fields(self)]
        return [
            Sample(*(values[start:end] for values in fields)) for start, end in chunk_bounds(len(self.prompts), count)
        ]


def pipeline_padded_tokens(lengths: list[int], chunks: int, batch_size: int) -> int:
    """Tokens the pipeline path computes for sequences of `lengths` (one pass, data order): every batch of
    `batch_size` within a chunk padded to its longest sequence."""
    total = 0
    for start, end in chunk_bounds(len(lengths), chunks):
        for first in range(start, end, batch_size):
            batch = lengths[first : min(first + batch_size, end)]
            total += len(batch) * max(batch)
    return total


def work_ratio(reward_model: ScalarRewardModel, sample: Sample, read_tokens: int, args) -> dict:
    """The token work of the pipeline path (padded) against what rewardkit reads: the speedup rewardkit would show
    if both ran at the same rate per token, i.e. what fewer tokens alone can buy."""
    padded = sum(
        pipeline_padded_tokens(
            [len(ids) for ids in reward_model.encode(sample.prompts, responses)], args.chunks, args.baseline_batch_size
        )
        for responses in (sample.chosen, sample.rejected)
    )
    return {
        "pipeline_padded_tokens": padded,
        "rewardkit_read_tokens": read_tokens,
        "ratio": round(padded / read_tokens, 2),
    }


def paths_to_time(reward_model: ScalarRewardModel, args, compiled: ScalarRewardModel | None = None) -> dict:
    """{path name: function(sample) -> (seconds, chosen rewards, rejected rewards)}, rewardkit's paths first."""
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    paths = {
        "rewardkit": lambda s: time_rewardkit_path(reward_model, s.prompts, s.chosen, s.rejected),
        "unshared": lambda s: time_unshared_path(reward_model, s.prompts, s.chosen, s.rejected),
    }
    if compiled is not None:
        paths["compiled"] = lambda s: time_rewardkit_path(compiled, s.prompts, s.chosen, s.rejected)
    if args.dense_mask:
        dense = reward_model.dense_mask_copy()
        paths["dense mask"] = lambda s: time_rewardkit_path(dense, s.prompts, s.chosen, s.rejected)
    for name in args.baseline_dtypes.split(","):
        paths[f"reward-bench {name}"] = lambda s, dtype=dtypes[name]: time_reward_bench_path(
            reward_model, s.chosen_texts, s.rejected_texts, args, dtype
        )
    return paths


def time_alternating(paths: dict, sample: Sample, chunks: int, baseline_first: bool, before_chunk=None) -> dict:
    """{path name: (seconds, chosen rewards, rejected rewards)}: every path on every chunk, the order reversed from
    one chunk to the next; seconds summed and rewards concatenated in pair order. `before_chunk(index)`, when given,
    runs before each chunk (outside the timed paths)."""
    order = list(paths)[::-1] if baseline_first else list(paths)
    totals = {name: [0.0, [], []] for name in paths}
    for index, chunk in enumerate(sample.chunks(chunks)):
        if before_chunk is not None:
            before_chunk(index)
        for name in order if index % 2 == 0 else order[::-1]:
            seconds, chosen, rejected = paths[name](chunk)
            totals[name][0] += seconds
            totals[name][1].append(chosen)
            totals[name][2].append(rejected)
        print(f"chunk {index + 1}: {len(chunk.prompts)} pairs timed on every path", flush=True)
    return {name: (seconds, np.concatenate(c), np.concatenate(r)) for name, (seconds, c, r) in totals.items()}


def time_rewardkit_path(reward_model: ScalarRewardModel, prompts, chosen, rejected):
    start = time.perf_counter()
    preferences = reward_model.compare(prompts, chosen, rejected)
    seconds = time.perf_counter() - start
    scores_chosen = np.array([p.diagnostics.scores[0] for p in preferences])
    scores_rejected = np.array([p.diagnostics.scores[1] for p in preferences])
    return seconds, scores_chosen, scores_rejected


def time_unshared_path(reward_model: ScalarRewardModel, prompts, chosen, rejected):
    """The scorer without prefix sharing: every sequence read whole, chosen and rejected in one sorted pool."""
    sequences = reward_model.encode([*prompts, *prompts], [*chosen, *rejected])
    start = time.perf_counter()
    rewards = np.array(reward_model.rewards_for_ids(sequences))
    seconds = time.perf_counter() - start
    return seconds, rewards[: len(prompts)], rewards[len(prompts) :]


def compiled_result(timed: tuple, compile_seconds: float, kit: tuple, reference_seconds: float) -> dict:
    """The compiled path's row: its rate, its speedup over the reference with and without the compile counted, and
    how far its rewards are from the eager scorer's."""
    seconds, chosen, rejected = timed
    return {
        "seconds": round(seconds, 2),
        "pairs_per_s": round(len(chosen) / seconds, 2),
        "compile_seconds": round(compile_seconds, 1),
        "accuracy": accuracy(chosen, rejected),
        "speedup_vs_eager_rewardkit": round(kit[0] / seconds, 2),
        "speedup_vs_reference": round(reference_seconds / seconds, 2),
        "speedup_vs_reference_counting_the_compile": round(reference_seconds / (seconds + compile_seconds), 2),
        "max_abs_reward_diff_vs_rewardkit": reward_difference((chosen, rejected), kit[1:]),
    }


def dense_mask_result(timed: tuple, kit: tuple) -> dict:
    """The dense-mask path's row: its rate, how much faster tree attention (the default scorer) is, and how far
    their rewards are apart."""
    seconds, chosen, rejected = timed
    return {
        "seconds": round(seconds, 2),
        "pairs_per_s": round(len(chosen) / seconds, 2),
        "accuracy": accuracy(chosen, rejected),
        "tree_attention_speedup": round(seconds / kit[0], 2),
        "max_abs_reward_diff_vs_rewardkit": reward_difference((chosen, rejected), kit[1:]),
    }


def matmul_flops_per_second(model: torch.nn.Module, rows: int, dtype: torch.dtype, repeats: int = 5) -> float:
    """Best-of-`repeats` FLOP/s of [rows x hidden] @ [hidden x intermediate] in `dtype` (the scorer's MLP shape)."""
    config, device = model.config, model.device
    left = torch.randn(rows, config.hidden_size, dtype=dtype, device=device)
    right = torch.randn(config.hidden_size, config.intermediate_size, dtype=dtype, device=device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(left, right)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * rows * config.hidden_size * config.intermediate_size / best


def linear_flops_per_token(model: torch.nn.Module) -> int:
    """2 x the weights of every linear layer: the matmul work of one token through the model."""
    return 2 * sum(module.weight.numel() for module in model.modules() if isinstance(module, torch.nn.Linear))


def computed_tokens(reward_model: ScalarRewardModel, prompts, responses) -> tuple[int, int]:
    """(tokens of the scored sequences, tokens the shared-prefix scorer reads: each shared prefix once)."""
    sequences = reward_model.encode(prompts, responses)
    unique = list(dict.fromkeys(tuple(ids) for ids in sequences))
    keys = {tuple(ids): prompt_key(prompt) for ids, prompt in zip(sequences, prompts, strict=True)}
    groups = groups_by_key(unique, [keys[ids] for ids in unique])
    read = sum(
        group.prefix_length + sum(len(unique[m]) - group.prefix_length for m in group.members) for group in groups
    )
    return sum(len(ids) for ids in sequences), read


def probe_matmul_rate(reward_model: ScalarRewardModel) -> float:
    """The machine's matmul FLOP/s now, in the scorer's dtype and batch shape."""
    dtype = torch.bfloat16 if reward_model.precision == "bf16" else torch.float32
    return matmul_flops_per_second(reward_model.model, reward_model.max_tokens_per_batch, dtype)


def hardware_fraction(
    reward_model: ScalarRewardModel, tokens: tuple[int, int], seconds: float, machine_rates: list[float]
) -> dict:
    """The scorer's matmul rate (model FLOPs of the tokens it read, per second) against the median of the probes
    taken before each chunk and after the last (the CPU's speed drifts over a long run; one probe misleads)."""
    machine = float(np.median(machine_rates))
    scored, read = tokens
    achieved = linear_flops_per_token(reward_model.model) * read / seconds
    return {
        "matmul_gflops": round(machine / 1e9, 1),
        "matmul_gflops_probes": [round(rate / 1e9, 1) for rate in machine_rates],
        "scored_tokens_per_s": round(scored / seconds, 1),
        "read_tokens_per_s": round(read / seconds, 1),
        "scorer_gflops": round(achieved / 1e9, 1),
        "fraction_of_matmul_rate": round(achieved / machine, 3),
    }


def reward_difference(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.max(np.abs(np.concatenate([first[0] - second[0], first[1] - second[1]]))))


def accuracy(chosen: np.ndarray, rejected: np.ndarray) -> float:
    return float((chosen > rejected).mean())


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    reward_model = load_model(args.model, args.max_length, args.max_tokens_per_batch)
    args.max_length = reward_model.truncation.max_length
    pairs = sample_pairs(args.data, args.pairs, args.seed)
    prompts = [pair.prompt for pair in pairs]
    chosen = [pair.chosen for pair in pairs]
    rejected = [pair.rejected for pair in pairs]
    sample = Sample(
        prompts,
        chosen,
        rejected,
        identical_texts(reward_model, prompts, chosen),
        identical_texts(reward_model, prompts, rejected),
    )
    reward_model.compare(prompts[:4], chosen[:4], rejected[:4])  # warm-up (allocator, autocast caches)
    compiled, compile_seconds = compiled_twin(reward_model) if args.compiled else (None, 0.0)

    machine_rates: list[float] = []
    timed = time_alternating(
        paths_to_time(reward_model, args, compiled),
        sample,
        args.chunks,
        args.baseline_first,
        before_chunk=lambda _: machine_rates.append(probe_matmul_rate(reward_model)),
    )
    machine_rates.append(probe_matmul_rate(reward_model))
    kit_seconds, kit_chosen, kit_rejected = timed.pop("rewardkit")
    unshared_seconds, unshared_chosen, unshared_rejected = timed.pop("unshared")
    compiled_timed = timed.pop("compiled", None)
    dense_timed = timed.pop("dense mask", None)
    scored_tokens = computed_tokens(reward_model, [*prompts, *prompts], [*chosen, *rejected])
    baselines = {
        name.removeprefix("reward-bench "): {
            "seconds": round(seconds, 2),
            "pairs_per_s": round(len(pairs) / seconds, 2),
            "accuracy": accuracy(base_chosen, base_rejected),
            "max_abs_reward_diff_vs_rewardkit": reward_difference(
                (base_chosen, base_rejected), (kit_chosen, kit_rejected)
            ),
        }
        for name, (seconds, base_chosen, base_rejected) in timed.items()
    }
    best_name = max(baselines, key=lambda name: baselines[name]["pairs_per_s"])
    kit_rate = len(pairs) / kit_seconds
    ratio = kit_rate / baselines[best_name]["pairs_per_s"]
    print(f"rewardkit: {kit_rate:.2f} pairs/s; {ratio:.2f}x the fastest reward-bench path ({best_name})")
    result = {
        "benchmark": "scalar_scoring",
        "model": args.model,
        "data": str(args.data),
        "pairs": len(pairs),
        "max_length": args.max_length,
        "rewardkit": {
            "seconds": round(kit_seconds, 2),
            "pairs_per_s": round(kit_rate, 2),
            "accuracy": accuracy(kit_chosen, kit_rejected),
            "precision": reward_model.precision,
            "max_tokens_per_batch": reward_model.max_tokens_per_batch,
            "hardware": hardware_fraction(reward_model, scored_tokens, kit_seconds, machine_rates),
        },
        "rewardkit_without_prefix_sharing": {
            "seconds": round(unshared_seconds, 2),
            "pairs_per_s": round(len(pairs) / unshared_seconds, 2),
            "accuracy": accuracy(unshared_chosen, unshared_rejected),
            "max_abs_reward_diff_vs_rewardkit": reward_difference(
                (unshared_chosen, unshared_rejected), (kit_chosen, kit_rejected)
            ),
        },
        **(
            {
                "rewardkit_compiled": compiled_result(
                    compiled_timed,
                    compile_seconds,
                    (kit_seconds, kit_chosen, kit_rejected),
                    baselines[best_name]["seconds"],
                )
            }
            if compiled_timed
            else {}
        ),
        **(
            {"rewardkit_dense_tree_mask": dense_mask_result(dense_timed, (kit_seconds, kit_chosen, kit_rejected))}
            if dense_timed
            else {}
        ),
        "prefix_sharing_speedup": round(unshared_seconds / kit_seconds, 2),
        "token_work_vs_pipeline": work_ratio(reward_model, sample, scored_tokens[1], args),
        "reward_bench_path": baselines,
        "reference": best_name,
        "speedup": round(ratio, 2),
        "order": f"alternating over {min(args.chunks, len(pairs))} chunks, "
        + ("reward-bench path first" if args.baseline_first else "rewardkit paths first")
        + " in the first",
        **machine_and_date(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
