"""Per-token speed levers of the scorer's forward pass on this CPU, side by side on one model.

The scorer (`ScalarRewardModel`) runs a forward under bf16 autocast over fp32 weights where bf16 is fast. This bench
times the same forward in forms a user could switch to, and says how far each moves the rewards. The input is what
the scorer reads: `--rows` packed pair rows of `--width` tokens (the CPU token budget), each a random prompt of
half the width and two random answers of a quarter each under the tree attention mask (models/shared_prefix.py).
Forms:
- **autocast** — what rewardkit runs (fp32 weights, bf16 matmuls, norms and the residual stream in fp32).
- **autocast, linear weights stored bf16** — the same arithmetic without casting every weight on each call
  (autocast's weight cache is off under `inference_mode`); rewards must be bit-identical.
- **bf16 weights** — the whole model in bf16, as the reward-bench pipeline loads it (residual stream in bf16).
- **torch.compile** (`--compile`): autocast compiled by inductor, once for the fixed shape and once with dynamic
  shapes (what varying batches need); the compile time is reported apart.
On a CPU without bf16 only the fp32 forward and its compiled forms run. On a GPU the same forms run there (the
scorer's device).

The forms alternate in each of `--rounds` rounds (the order reversing from round to round); a form's rate is its
tokens over its summed time. Run from the repository root:

    python bench/bench_forward_levers.py --model default --compile

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from rewardkit.bench_record import machine_and_date
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.models.precision import autocast_context
from rewardkit.models.shared_prefix import pack_pair, packed_attention_mask, packed_scores


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="A rewardkit BT model directory or a backbone spec.")
    parser.add_argument("--rows", type=int, default=8, help="Rows per forward.")
    parser.add_argument("--width", type=int, default=256, help="Tokens per row (rows x width = the CPU budget).")
    parser.add_argument("--rounds", type=int, default=6, help="Timed forwards per form, alternating.")
    parser.add_argument("--compile", action="store_true", help="Also time torch.compile (static and dynamic).")
    return parser.parse_args()


def load_scorer(spec: str) -> ScalarRewardModel:
    if (Path(spec) / "rewardkit.json").is_file():
        return ScalarRewardModel.load(spec)
    return ScalarRewardModel.from_backbone(spec)


def linear_weights_in(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """A copy of `model` whose Linear layers hold `dtype` weights (norms and embeddings keep theirs)."""
    copied = copy.deepcopy(model)
    for module in copied.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(dtype)
    return copied


def packed_pair_rows(rows: int, width: int, vocabulary: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Model inputs of `rows` packed pairs (a prompt of width/2 random ids, then two answers of width/4 each), and the
    (rows, 2) indices of each answer's last token, where the scorer reads its reward."""
    generator = torch.manual_seed(0)
    prompt, answer = width // 2, width // 4

    def random_ids(count: int) -> list[int]:
        return torch.randint(0, vocabulary, (count,), generator=generator).tolist()

    packed = []
    for _ in range(rows):
        shared = random_ids(prompt)
        packed.append(pack_pair(shared + random_ids(answer), shared + random_ids(answer)))
    inputs = {
        "input_ids": torch.tensor([row.tokens for row in packed]),
        "position_ids": torch.tensor([row.positions for row in packed]),
        "attention_mask": packed_attention_mask(torch.tensor([row.segments for row in packed])),
    }
    return inputs, torch.tensor([[row.ends[0], row.ends[1]] for row in packed])


def forward_form(model: torch.nn.Module, context: Callable[[], contextlib.AbstractContextManager]):
    """A function of the packed rows' inputs (on the model's device): the score head's outputs at every token under
    `context`, in inference mode, brought to the CPU (which waits for a GPU to finish, so the timing is whole)."""

    def forward(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode(), context():
            return packed_scores(model, **inputs).float().cpu()

    return forward


def forms(scorer: ScalarRewardModel, compile_too: bool) -> dict[str, Callable]:
    """Name -> forward, the scorer's own form first."""
    device, precision = scorer.device, scorer.precision
    model = scorer.model.eval()
    own = forward_form(model, lambda: autocast_context(device, precision))
    found = {"autocast" if precision == "bf16" else "fp32": own}
    if precision == "bf16":
        found["autocast, linear weights stored bf16"] = forward_form(
            linear_weights_in(model, torch.bfloat16), lambda: autocast_context(device, precision)
        )
        found["bf16 weights"] = forward_form(copy.deepcopy(model).to(torch.bfloat16), contextlib.nullcontext)
    if compile_too:
        for name, dynamic in (("compiled, static shape", False), ("compiled, dynamic shapes", True)):
            found[name] = forward_form(
                torch.compile(copy.deepcopy(model), dynamic=dynamic), lambda: autocast_context(device, precision)
            )
    return found


def first_calls(named: dict[str, Callable], inputs: dict[str, torch.Tensor]) -> tuple[dict, dict]:
    """Each form's first call (compilation, allocations): seconds and scores."""
    seconds, scores = {}, {}
    for name, forward in named.items():
        started = time.perf_counter()
        scores[name] = forward(inputs)
        seconds[name] = time.perf_counter() - started
    return seconds, scores


def time_alternating(named: dict[str, Callable], inputs: dict[str, torch.Tensor], rounds: int) -> dict[str, float]:
    """Seconds per form summed over `rounds` calls, the order reversing every round."""
    seconds = dict.fromkeys(named, 0.0)
    for index in range(rounds):
        for name in list(named) if index % 2 == 0 else list(named)[::-1]:
            started = time.perf_counter()
            named[name](inputs)
            seconds[name] += time.perf_counter() - started
    return seconds


def main() -> None:
    args = parse_args()
    scorer = load_scorer(args.model)
    inputs, ends = packed_pair_rows(args.rows, args.width, scorer.model.config.vocab_size)
    inputs = {name: tensor.to(scorer.device) for name, tensor in inputs.items()}
    named = forms(scorer, args.compile)
    first_s, scores = first_calls(named, inputs)
    seconds = time_alternating(named, inputs, args.rounds)
    reference = next(iter(named))
    tokens = args.rounds * inputs["input_ids"].numel()
    result = {
        "benchmark": "forward_levers",
        "model": args.model,
        "precision": scorer.precision,
        "rows": args.rows,
        "width": args.width,
        "rounds": args.rounds,
        "reward_std": float(scores[reference].gather(1, ends).std()),
        "forms": {
            name: {
                "tokens_per_s": round(tokens / seconds[name], 1),
                "speed_vs_scorer": round(seconds[reference] / seconds[name], 3),
                "max_abs_reward_diff": float((scores[name] - scores[reference]).gather(1, ends).abs().max()),
                "first_call_s": round(first_s[name], 2),
            }
            for name in named
        },
        **machine_and_date(),
    }
    for name, form in result["forms"].items():
        rate, speed, diff = form["tokens_per_s"], form["speed_vs_scorer"], form["max_abs_reward_diff"]
        print(f"{name}: {rate} tokens/s, {speed}x the scorer's form, rewards differ by up to {diff:.3g}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
