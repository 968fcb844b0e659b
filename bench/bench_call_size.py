"""Does the size of a `compare` call change rewardkit's scoring throughput? Same process, same pairs, the call
sizes timed in an order that reverses between repeats (A B C | C B A).

`rewardkit eval` sends 64 pairs a call (COMPARE_CHUNK); bench_scoring.py's chunks send len(pairs)/--chunks. Rows are
sorted by length and batched under a padded-token budget inside each call, so smaller calls pad more. Run from the
repository root (REWARDKIT_PRECISION=fp32 forces the fp32 path on a bf16 machine):

    python bench/bench_call_size.py --model runs/bt_default --pairs 100 --sizes 100,50,25

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scoring import DEFAULT_DATA, load_model, sample_pairs  # noqa: E402

from rewardkit.bench_record import machine_and_date


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="A rewardkit BT model directory or a backbone spec.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--sizes", default="100,50,25", help="Pairs per compare call (comma-separated).")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def time_calls(model, prompts, chosen, rejected, size: int) -> float:
    start = time.perf_counter()
    for first in range(0, len(prompts), size):
        last = first + size
        model.compare(prompts[first:last], chosen[first:last], rejected[first:last])
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    model = load_model(args.model, args.max_length, None)
    pairs = sample_pairs(args.data, args.pairs, args.seed)
    prompts, chosen, rejected = ([getattr(pair, name) for pair in pairs] for name in ("prompt", "chosen", "rejected"))
    model.compare(prompts[:4], chosen[:4], rejected[:4])  # warm-up
    sizes = [int(size) for size in args.sizes.split(",")]
    seconds: dict[int, list[float]] = {size: [] for size in sizes}
    for repeat in range(args.repeats):
        for size in sizes if repeat % 2 == 0 else sizes[::-1]:
            seconds[size].append(time_calls(model, prompts, chosen, rejected, size))
            print(f"{size} pairs a call: {seconds[size][-1]:.1f} s", flush=True)
    result = {
        "benchmark": "compare_call_size",
        "model": args.model,
        "pairs": len(pairs),
        "max_length": args.max_length,
        "precision": model.precision,
        "by_call_size": {
            str(size): {
                "seconds": [round(value, 1) for value in values],
                "pairs_per_s": round(len(pairs) * len(values) / sum(values), 2),
            }
            for size, values in seconds.items()
        },
        **machine_and_date(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
