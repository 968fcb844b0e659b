"""Best-of-N scoring throughput: rewardkit's shared-prefix scorer vs the same scorer reading every sequence whole.

Both paths score every candidate of a Best-of-N file (default: the GSM8K candidate file, 4 candidates a question)
with the same model object, in the batches `rewardkit bon` uses (32 candidates, whole items):
- **shared** — `evaluation.bon.score_all_candidates`: a question's tokens read once, its candidates packed after
  them in one row under a tree attention mask (and a repeated candidate scored once).
- **unshared** — the scorer before prefix sharing: each batch's sequences read whole, sorted by length, packed
  under the same padded-token budget.

With `--dense-mask`, another path: **shared** with packed rows read through the dense tree mask (every (query, key)
pair of a row computed, the masked ones discarded) instead of tree attention, the default on CPU.
With `--compiled`, another path: **shared** with the scorer's forward compiled (`REWARDKIT_COMPILE=on`, same model
object); its warm-up (the compile of the one graph all batches reuse) is reported apart.

`token_work` counts, without timing anything, the tokens of the candidates read whole, with each question's common
prefix read once, and with every prefix any two candidates of a question share read once (a token trie: the most
any exact prefix sharing can skip). `whole / trie` bounds the speedup that sharing work can give on this file.

The CPU's speed drifts within a run, so the items are split into `--chunks` consecutive chunks and the two paths
alternate which goes first from chunk to chunk (shared, unshared | unshared, shared | ...); each path's time is the
sum over chunks.

Run from the repository root (REWARDKIT_PRECISION=fp32 forces the fp32 path on a bf16 machine):

    python bench/bench_bon_scoring.py --model default

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rewardkit.bench_record import chunk_bounds, compiled_twin, machine_and_date
from rewardkit.data.bon_data import read_bon_jsonl
from rewardkit.evaluation.bon import score_all_candidates
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.models.shared_prefix import common_prefix_length

DEFAULT_DATA = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bon" / "gsm8k_test_candidates_dev.jsonl"
)
BATCH_SIZE = 32  # score_all_candidates' default, what `rewardkit bon` uses


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="A rewardkit BT model directory or a backbone spec.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Best-of-N file (id, prompt, candidates).")
    parser.add_argument("--items", type=int, default=None, help="Score only the first N items (default: all).")
    parser.add_argument(
        "--chunks", type=int, default=4, help="Chunks of items; the path timed first alternates between them."
    )
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="Also time shared scoring with its forward compiled (REWARDKIT_COMPILE=on); the compile is given apart.",
    )
    parser.add_argument(
        "--dense-mask",
        action="store_true",
        help="Also time shared scoring reading packed rows through the dense tree mask instead of tree attention.",
    )
    return parser.parse_args()


def load_model(spec: str) -> ScalarRewardModel:
    if (Path(spec) / "rewardkit.json").is_file():
        return ScalarRewardModel.load(spec)
    return ScalarRewardModel.from_backbone(spec)


def time_shared(model: ScalarRewardModel, items) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    grouped = score_all_candidates(model, items, batch_size=BATCH_SIZE, progress=False)
    seconds = time.perf_counter() - start
    return seconds, np.array([score.value for scores in grouped for score in scores])


def time_unshared(model: ScalarRewardModel, items) -> tuple[float, np.ndarray]:
    pairs = [(item.prompt, candidate) for item in items for candidate in item.candidates]
    batches = [pairs[start : start + BATCH_SIZE] for start in range(0, len(pairs), BATCH_SIZE)]
    encoded = [model.encode([prompt for prompt, _ in batch], [response for _, response in batch]) for batch in batches]
    start = time.perf_counter()
    rewards = [value for sequences in encoded for value in model.rewards_for_ids(sequences)]
    return time.perf_counter() - start, np.array(rewards)


def time_alternating(
    model: ScalarRewardModel, items: list, chunks: int, twins: dict[str, ScalarRewardModel]
) -> dict[str, tuple[float, np.ndarray]]:
    """Every path on every chunk, the order reversed from chunk to chunk; seconds summed, rewards concatenated in item
    order. `twins` are further scorers timed on the shared path under their names."""
    paths = {"shared": lambda chunk: time_shared(model, chunk), "unshared": lambda chunk: time_unshared(model, chunk)}
    for name, twin in twins.items():
        paths[name] = lambda chunk, twin=twin: time_shared(twin, chunk)
    seconds = dict.fromkeys(paths, 0.0)
    rewards: dict[str, list[np.ndarray]] = {name: [] for name in paths}
    for index, (start, end) in enumerate(chunk_bounds(len(items), chunks)):
        for name in list(paths) if index % 2 == 0 else list(paths)[::-1]:
            chunk_seconds, chunk_rewards = paths[name](items[start:end])
            seconds[name] += chunk_seconds
            rewards[name].append(chunk_rewards)
    return {name: (seconds[name], np.concatenate(rewards[name])) for name in paths}


def trie_tokens(sequences: list[list[int]]) -> int:
    """Distinct prefixes of `sequences` (the nodes of their token trie): in sorted order, each sequence adds the
    tokens after its common prefix with the one before it."""
    ordered = sorted(sequences)
    return sum(
        len(sequence) - (common_prefix_length(sequence, ordered[index - 1]) if index else 0)
        for index, sequence in enumerate(ordered)
    )


def token_work(model: ScalarRewardModel, items) -> dict:
    """Tokens of every candidate read whole, with its question's common prefix read once, and with every shared
    prefix read once (the trie); the last ratio bounds what exact prefix sharing can save."""
    whole = question_once = trie = 0
    for item in items:
        sequences = model.encode([item.prompt] * len(item.candidates), list(item.candidates))
        common = min(common_prefix_length(sequences[0], other) for other in sequences)
        whole += sum(len(sequence) for sequence in sequences)
        question_once += common + sum(len(sequence) - common for sequence in sequences)
        trie += trie_tokens(sequences)
    return {
        "whole": whole,
        "question_once": question_once,
        "trie": trie,
        "whole_over_question_once": round(whole / question_once, 3),
        "whole_over_trie": round(whole / trie, 3),
    }


def compiled_row(timed: tuple[float, np.ndarray], compile_seconds: float, shared: np.ndarray, unshared_seconds: float):
    """The compiled path: its rate, its speedup over the unshared path with and without the compile counted, and how
    far its rewards are from the eager shared path's."""
    seconds, rewards = timed
    return {
        "seconds": round(seconds, 2),
        "candidates_per_s": round(len(rewards) / seconds, 2),
        "compile_seconds": round(compile_seconds, 1),
        "speedup_vs_unshared": round(unshared_seconds / seconds, 2),
        "speedup_vs_unshared_counting_the_compile": round(unshared_seconds / (seconds + compile_seconds), 2),
        "max_abs_reward_diff_vs_shared": float(np.max(np.abs(rewards - shared))),
    }


def dense_mask_row(timed: tuple[float, np.ndarray], shared_seconds: float, shared: np.ndarray) -> dict:
    """The dense-mask path: its rate, how much faster tree attention (the shared path) is, and how far its rewards
    are from the shared path's."""
    seconds, rewards = timed
    return {
        "seconds": round(seconds, 2),
        "candidates_per_s": round(len(rewards) / seconds, 2),
        "tree_attention_speedup": round(seconds / shared_seconds, 2),
        "max_abs_reward_diff_vs_shared": float(np.max(np.abs(rewards - shared))),
    }


def main() -> None:
    args = parse_args()
    items = read_bon_jsonl(args.data, limit=args.items)
    model = load_model(args.model)
    model.rewards([items[0].prompt], [items[0].candidates[0]])  # warm-up
    compiled, compile_seconds = compiled_twin(model) if args.compiled else (None, 0.0)
    twins = {"compiled": compiled} if compiled else {}
    if args.dense_mask:
        twins["dense mask"] = model.dense_mask_copy()
    timed = time_alternating(model, items, args.chunks, twins)
    (shared_seconds, shared), (unshared_seconds, unshared) = timed["shared"], timed["unshared"]
    candidates = len(shared)
    result = {
        "benchmark": "bon_scoring",
        "model": args.model,
        "data": str(args.data),
        "items": len(items),
        "candidates": candidates,
        "precision": model.precision,
        "max_tokens_per_batch": model.max_tokens_per_batch,
        "shared": {"seconds": round(shared_seconds, 2), "candidates_per_s": round(candidates / shared_seconds, 2)},
        "unshared": {
            "seconds": round(unshared_seconds, 2),
            "candidates_per_s": round(candidates / unshared_seconds, 2),
        },
        "speedup": round(unshared_seconds / shared_seconds, 2),
        **(
            {"compiled": compiled_row(timed["compiled"], compile_seconds, shared, unshared_seconds)}
            if compiled
            else {}
        ),
        **(
            {"shared_dense_tree_mask": dense_mask_row(timed["dense mask"], shared_seconds, shared)}
            if args.dense_mask
            else {}
        ),
        "token_work": token_work(model, items),
        "order": f"alternating over {min(args.chunks, len(items))} chunks, shared first in the first",
        "max_abs_reward_diff": float(np.max(np.abs(shared - unshared))),
        "reward_std": float(np.std(unshared)),
        **machine_and_date(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
