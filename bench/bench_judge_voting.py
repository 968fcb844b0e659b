"""Judge voting throughput: K votes per pair in both orders, rewardkit's shared-prefill engine vs a naive HF loop.

rewardkit: GenerativeJudge(num_samples=K, both_orders=True): each prompt is prefilled once (the two orders share
their common prefix), the KV cache is expanded to K sample rows, prompts are decoded together in batches, and a
prompt's remaining samples are dropped once the majority is settled. Naive: for each pair and each order, HF
`model.generate(num_return_sequences=K)` (which prefills the prompt K times), parse, majority vote.
Both use the same model weights, prompts, sampling settings and verdict parser.

    python bench/bench_judge_voting.py --pairs 4 --max-new-tokens 32

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from rewardkit.data.readers import read_pairs
from rewardkit.data.slices import assign_positions
from rewardkit.evaluation.rewardbench import correctness
from rewardkit.families.generative import GenerativeJudge, Reading, combine_orders
from rewardkit.families.verdicts import parse_verdict
from rewardkit.inference.voting import pairwise_probability
from rewardkit.models.precision import autocast_context
from rewardkit.protocol import Votes

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "rewardbench_like_dev.jsonl"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="Judge model spec.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Preference pairs (JSONL).")
    parser.add_argument("--pairs", type=int, default=100, help="First N pairs of the data.")
    parser.add_argument("--num-samples", "--k", type=int, default=8, help="Votes per order (--k: older name).")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="Token budget of one judgement.")
    parser.add_argument("--max-field-tokens", type=int, default=384, help="Cut question/answers to this.")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--template", default="pairwise")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="hf", help="Generation engine of the rewardkit path (hf, vllm, ...).")
    parser.add_argument(
        "--skip-naive", action="store_true", help="Time only the rewardkit path (the naive loop needs the HF model)."
    )
    return parser.parse_args()


def oriented(pairs, seed):
    """Prompts and (A, B) responses with the chosen response first in a seeded half of the rows."""
    chosen_first = assign_positions(len(pairs), seed)
    responses_a = [p.chosen if first else p.rejected for p, first in zip(pairs, chosen_first, strict=True)]
    responses_b = [p.rejected if first else p.chosen for p, first in zip(pairs, chosen_first, strict=True)]
    return [p.prompt for p in pairs], responses_a, responses_b, chosen_first


def accuracy(p_a: list[float], chosen_first: np.ndarray) -> float:
    p_chosen = np.where(chosen_first, p_a, 1.0 - np.asarray(p_a))
    return float(correctness(p_chosen, tie_credit=0.5).mean())


def naive_order_reading(judge: GenerativeJudge, text: str, args: argparse.Namespace) -> Reading:
    """One order of one pair: HF generate with num_return_sequences=K, parse, majority vote."""
    tokenizer, model = judge.tokenizer, judge.engine.model
    input_ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]], device=model.device)
    with torch.inference_mode(), autocast_context(model.device):
        output = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=True,
            temperature=args.temperature,
            top_p=1.0,
            top_k=0,
            num_return_sequences=args.num_samples,
            max_new_tokens=args.max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    texts = tokenizer.batch_decode(output[:, input_ids.shape[1] :], skip_special_tokens=True)
    votes = [parse_verdict(sample, judge.template, text).verdict for sample in texts]
    values = {verdict: judge.template.verdict_value(verdict) for verdict in judge.template.candidate_verdicts}
    p_first = pairwise_probability(votes, values, "majority")
    return Reading(0.5 if p_first is None else p_first, Votes(tuple(votes), unreadable=p_first is None))


def run_naive(judge: GenerativeJudge, prompts, responses_a, responses_b, args) -> tuple[list, float]:
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    preferences = []
    for prompt, answer_a, answer_b in zip(prompts, responses_a, responses_b, strict=True):
        texts, _ = judge.pair_prompts(prompt, answer_a, answer_b)
        forward, backward = (naive_order_reading(judge, text, args) for text in texts)
        preferences.append(combine_orders(forward, backward))
    return preferences, time.perf_counter() - started


def run_rewardkit(judge: GenerativeJudge, prompts, responses_a, responses_b) -> tuple[list, float]:
    started = time.perf_counter()
    preferences = judge.compare(prompts, responses_a, responses_b)
    return preferences, time.perf_counter() - started


def summarize(name: str, preferences, seconds: float, chosen_first: np.ndarray, num_samples: int) -> dict:
    p_a = [preference.p_a_better for preference in preferences]
    votes = [vote for p in preferences for order in p.diagnostics.orders for vote in order.votes.verdicts]
    samples = [sum(len(order.votes.verdicts) for order in p.diagnostics.orders) for p in preferences]
    result = {
        "pairs_per_s": len(p_a) / seconds,
        "seconds": seconds,
        "accuracy": accuracy(p_a, chosen_first),
        "position_consistency": float(np.mean([preference.diagnostics.orders_agree for preference in preferences])),
        "parse_failure_rate": sum(vote is None for vote in votes) / len(votes),
        "samples_per_pair": float(np.mean(samples)),
    }
    print(
        f"{name:>9}: {result['pairs_per_s']:.4f} pairs/s ({seconds:.1f} s), accuracy {result['accuracy']:.3f}, "
        f"consistency {result['position_consistency']:.2f}, parse failures {result['parse_failure_rate']:.2f}, "
        f"samples/pair {result['samples_per_pair']:.1f} of {2 * num_samples}"
    )
    return result


def main() -> None:
    args = parse_args()
    if not args.data.is_file():
        raise SystemExit(f"data file not found: {args.data} (pass --data)")
    pairs = read_pairs(args.data, limit=args.pairs).pairs
    prompts, responses_a, responses_b, chosen_first = oriented(pairs, args.seed)
    judge = GenerativeJudge(
        args.model,
        template=args.template,
        num_samples=args.num_samples,
        both_orders=True,
        max_new_tokens=args.max_new_tokens,
        max_field_tokens=args.max_field_tokens,
        temperature=args.temperature,
        seed=args.seed,
        engine=args.engine,
    )
    votes = args.num_samples
    ours = summarize("rewardkit", *run_rewardkit(judge, prompts, responses_a, responses_b), chosen_first, votes)
    naive, speedup = None, None
    if not args.skip_naive:
        naive = summarize("naive", *run_naive(judge, prompts, responses_a, responses_b, args), chosen_first, votes)
        speedup = ours["pairs_per_s"] / naive["pairs_per_s"]
        print(f"speedup: {speedup:.2f}x")
    record = {
        "bench": "judge_voting",
        "model": args.model,
        "engine": args.engine,
        "data": str(args.data),
        "pairs": len(pairs),
        "num_samples": args.num_samples,
        "max_new_tokens": args.max_new_tokens,
        "max_field_tokens": args.max_field_tokens,
        "rewardkit": ours,
        "naive": naive,
        "speedup": speedup,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
