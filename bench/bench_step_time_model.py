"""How well the quickstart's re-plans predict the time of the steps ahead, from the steps before.

`rewardkit quickstart` re-plans its training after REPLAN_AFTER_STEPS steps and again at REPLAN_AGAIN_AT of the run
(training/time_budget.py `ReplanFromMeasuredSteps`). Length-grouped batches come longest first within each
megabatch, so the steps ahead are predicted from their padded tokens. This bench trains the quickstart's own LoRA
recipe for `--steps` steps, records every step's seconds and padded tokens, and compares the seconds of steps 7..
with what four rules predict from steps 2..6:
- **per padded token** (the re-plan's rule until the later re-plans came): median seconds per token x the tokens ahead;
- **per step**: median seconds per step x the steps ahead;
- **affine** (seconds = a + b x tokens, least squares over steps 2..6);
- **blend** (the mean of per padded token and per step: what the re-plans use now).
It also fits the affine rule over all steps, which shows the fixed cost of a step, and asks the same of later
re-plans (`--replan-at`, fractions of the run): at each, the rules see only the steps since the previous re-plan and
predict the seconds of the steps after it. Run from the repository root:

    python bench/bench_step_time_model.py --steps 200 --replan-at 0.5 0.8

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from transformers import TrainerCallback

from rewardkit.bench_record import machine_and_date
from rewardkit.commands.quickstart_cmd import BATCH_SIZE, REPLAN_AFTER_STEPS, QuickstartConfig, quickstart_bt_config
from rewardkit.data.synthetic import synthetic_splits
from rewardkit.training.bt import train_bt
from rewardkit.training.bt_data import BTData
from rewardkit.training.time_budget import batch_costs, blended_seconds_ahead


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="Backbone of the quickstart's BT model.")
    parser.add_argument("--steps", type=int, default=90, help="Optimizer steps to train and time.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--replan-at", type=float, nargs="*", default=[0.5, 0.8], help="Later re-plans, as fractions of the steps."
    )
    return parser.parse_args()


class StepRecorder(TrainerCallback):
    """Seconds of every step, and the padded tokens of every batch in the order the Trainer draws them."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.costs: list[int] | None = None
        self.trainer = None
        self._started = 0.0

    def bind_trainer(self, trainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, args, state, control, **kwargs):
        self.costs = batch_costs(self.trainer, args)

    def on_step_begin(self, args, state, control, **kwargs):
        self._started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self._started)


def predictions(seconds: np.ndarray, costs: np.ndarray, after: int, since: int = 1) -> dict[str, float]:
    """Seconds of steps `after`+1.. as each rule predicts them from steps `since`+1..`after` (by default 2..`after`:
    the first is a warm-up)."""
    timed, timed_costs, ahead = seconds[since:after], costs[since:after], costs[after:]
    slope_intercept = np.polyfit(timed_costs, timed, 1) if np.ptp(timed_costs) > 0 else (0.0, float(np.mean(timed)))
    return {
        "per_padded_token": float(statistics.median(timed / timed_costs) * ahead.sum()),
        "per_step": float(statistics.median(timed) * len(ahead)),
        "affine": float(np.polyval(slope_intercept, ahead).sum()),
        "blend": float(sum(blended_seconds_ahead(list(timed), list(timed_costs), list(ahead))[1])),
    }


def replan_points(steps: int, fractions: list[float]) -> list[int]:
    """The steps after which the re-plans come: REPLAN_AFTER_STEPS, then each fraction of `steps` beyond it."""
    later = sorted({round(fraction * steps) for fraction in fractions})
    return [REPLAN_AFTER_STEPS] + [point for point in later if REPLAN_AFTER_STEPS < point < steps]


def errors_at_replans(seconds: np.ndarray, costs: np.ndarray, points: list[int]) -> list[dict]:
    """At each re-plan, each rule's error on the seconds of the steps after it, from the steps since the last one."""
    rows = []
    for since, after in zip([1] + points[:-1], points, strict=True):
        actual = float(seconds[after:].sum())
        predicted = predictions(seconds, costs, after, since)
        rows.append(
            {
                "after_step": after,
                "timed_steps": f"{since + 1}..{after}",
                "actual_seconds_after": round(actual, 1),
                "error_vs_actual": {rule: round(value / actual - 1, 3) for rule, value in predicted.items()},
            }
        )
    return rows


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        config = QuickstartConfig(output=Path(scratch), model=args.model, seed=args.seed)
        train_pairs, _ = synthetic_splits(2 * args.steps * BATCH_SIZE, 0, seed=args.seed)
        recorder = StepRecorder()
        data = BTData(train=train_pairs, eval=[], source_counts={})
        train_bt(quickstart_bt_config(config, args.steps, Path(scratch) / "model"), data=data, callbacks=[recorder])
    if recorder.costs is None:
        raise SystemExit("the batches' order is not known ahead (not length-grouped?): nothing to compare")
    seconds, costs = np.array(recorder.seconds), np.array(recorder.costs[: len(recorder.seconds)], dtype=float)
    actual = float(seconds[REPLAN_AFTER_STEPS:].sum())
    predicted = predictions(seconds, costs, REPLAN_AFTER_STEPS)
    slope, intercept = np.polyfit(costs[1:], seconds[1:], 1)
    result = {
        "benchmark": "step_time_model",
        "model": args.model,
        "steps": len(seconds),
        "timed_steps": f"2..{REPLAN_AFTER_STEPS}",
        "padded_tokens": {"first": int(costs[0]), "last": int(costs[-1])},
        "actual_seconds_after": round(actual, 1),
        "predicted_seconds_after": {rule: round(value, 1) for rule, value in predicted.items()},
        "error_vs_actual": {rule: round(value / actual - 1, 3) for rule, value in predicted.items()},
        "affine_over_all_steps": {"fixed_s": round(float(intercept), 3), "ms_per_padded_token": round(1e3 * slope, 3)},
        "replans": errors_at_replans(seconds, costs, replan_points(len(seconds), args.replan_at)),
        "step_seconds": [round(float(value), 3) for value in seconds],
        "step_padded_tokens": [int(value) for value in costs],
        **machine_and_date(),
    }
    for rule, error in result["error_vs_actual"].items():
        print(f"{rule}: predicted {result['predicted_seconds_after'][rule]} s vs {actual:.1f} s ({error:+.1%})")
    for replan in result["replans"]:
        errors = ", ".join(f"{rule} {error:+.1%}" for rule, error in replan["error_vs_actual"].items())
        print(f"re-plan after step {replan['after_step']} (timed {replan['timed_steps']}): {errors}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
