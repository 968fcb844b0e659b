"""Chain-of-thought judge with verdicts read after the rationale: the sampler's KV cache reused vs re-reading.

A CoT judge (`verdict_after_rationale`) that ends a rationale without a readable verdict gets one read after its
text + newline + verdict prefix. Before: the prompt and the rationale were run through the model again
(`next_token_logprobs`). After: the HF engine feeds the suffix on each sample's own cache right after sampling
(`HFEngine.generate_and_read`). Both paths run here on one loaded model, the same pairs (both orders), greedy
decoding; the JSON says the time of each, how many votes were forced, and how many verdicts agree.

The CPU's speed drifts within a run, so the pairs are split into `--chunks` consecutive chunks and the two paths
alternate which goes first from chunk to chunk; each path's time is the sum over chunks.

    python bench/bench_cot_verdicts.py --pairs 100 --max-new-tokens 128

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench_judge_voting import DEFAULT_DATA, accuracy, oriented

from rewardkit.bench_record import chunk_bounds, machine_and_date
from rewardkit.data.readers import read_pairs
from rewardkit.families.generative import GenerativeJudge
from rewardkit.models.precision import resolve_precision


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="Judge model spec.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Preference pairs (JSONL).")
    parser.add_argument("--pairs", type=int, default=100, help="First N pairs of the data.")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="Token budget of one rationale.")
    parser.add_argument("--max-field-tokens", type=int, default=384, help="Cut question/answers to this.")
    parser.add_argument("--template", default="pairwise")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--chunks", type=int, default=4, help="Chunks of pairs; the path timed first alternates between them."
    )
    return parser.parse_args()


def timed_compare(judge: GenerativeJudge, prompts, responses_a, responses_b) -> tuple[list, float]:
    started = time.perf_counter()
    preferences = judge.compare(prompts, responses_a, responses_b)
    return preferences, time.perf_counter() - started


def time_alternating(judges: dict[str, GenerativeJudge], prompts, responses_a, responses_b, chunks: int) -> dict:
    """Both judges on every chunk, the one timed first alternating from chunk to chunk: name -> (preferences in
    pair order, seconds summed over chunks)."""
    preferences: dict[str, list] = {name: [] for name in judges}
    seconds = dict.fromkeys(judges, 0.0)
    for index, (start, end) in enumerate(chunk_bounds(len(prompts), chunks)):
        for name in list(judges) if index % 2 == 0 else list(judges)[::-1]:
            chunk, chunk_seconds = timed_compare(
                judges[name], prompts[start:end], responses_a[start:end], responses_b[start:end]
            )
            preferences[name] += chunk
            seconds[name] += chunk_seconds
    return {name: (preferences[name], seconds[name]) for name in judges}


def verdicts(preferences) -> list[str | None]:
    return [vote for p in preferences for order in p.diagnostics.orders for vote in order.votes.verdicts]


def summary(preferences, seconds: float, chosen_first) -> dict:
    votes = verdicts(preferences)
    forced = sum(order.votes.forced for p in preferences for order in p.diagnostics.orders)
    return {
        "seconds": seconds,
        "pairs_per_s": len(preferences) / seconds,
        "accuracy": accuracy([p.p_a_better for p in preferences], chosen_first),
        "votes": len(votes),
        "forced_votes": forced,
        "unreadable_votes": sum(vote is None for vote in votes),
    }


def main() -> None:
    args = parse_args()
    if not args.data.is_file():
        raise SystemExit(f"data file not found: {args.data} (pass --data)")
    pairs = read_pairs(args.data, limit=args.pairs).pairs
    prompts, responses_a, responses_b, chosen_first = oriented(pairs, args.seed)
    options = dict(
        template=args.template,
        verdict_after_rationale=True,
        temperature=0.0,
        max_new_tokens=args.max_new_tokens,
        max_field_tokens=args.max_field_tokens,
        seed=args.seed,
    )
    reusing = GenerativeJudge(args.model, **options)
    rereading = GenerativeJudge(args.model, engine=reusing.engine, tokenizer=reusing.tokenizer, **options)
    rereading.config.reuse_sampler_cache = False
    reusing.compare(prompts[:2], responses_a[:2], responses_b[:2])  # warm-up: first-call allocations
    timed = time_alternating(
        {"rereading": rereading, "sampler_cache": reusing}, prompts, responses_a, responses_b, args.chunks
    )
    (before, before_s), (after, after_s) = timed["rereading"], timed["sampler_cache"]
    chunks = len(chunk_bounds(len(pairs), args.chunks))
    same = sum(a == b for a, b in zip(verdicts(before), verdicts(after), strict=True))
    result = {
        "bench": "cot_verdicts",
        "model": args.model,
        "pairs": len(pairs),
        "max_new_tokens": args.max_new_tokens,
        "precision": resolve_precision("auto", reusing.engine.device),
        "rereading": summary(before, before_s, chosen_first),
        "sampler_cache": summary(after, after_s, chosen_first),
        "speedup": before_s / after_s,
        "same_verdicts": same,
        "verdicts_compared": len(verdicts(before)),
        "order": f"alternating over {chunks} chunks, re-reading first in the first",
        **machine_and_date(),
    }
    print(
        f"re-reading {before_s:.1f} s, sampler cache {after_s:.1f} s ({result['speedup']:.2f}x); "
        f"{same} of {result['verdicts_compared']} verdicts the same"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
