"""Check rewardkit's RewardBench 2, RM-Bench and JudgeBench scoring against the benchmarks' own code.

The upstream scoring functions are read from their source files (not copied into rewardkit) and run side by side
with rewardkit's on random score sets full of ties, zero spreads, flips and unparsable verdicts; the script prints
the largest absolute difference per benchmark as its last line (JSON). Get the three files from clones:

    git -C reward-bench show HEAD:rewardbench/utils.py > /tmp/rb_utils.py
    git -C RM-Bench show HEAD:scripts/utils.py > /tmp/rmb_utils.py
    git -C JudgeBench show HEAD:utils/metrics.py > /tmp/jb_metrics.py
    python scripts/check_benchmark_scoring.py /tmp/rb_utils.py /tmp/rmb_utils.py /tmp/jb_metrics.py
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import warnings
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
from datasets import Dataset

from rewardkit.evaluation.benchmark_outcomes import RowOutcome, units_of
from rewardkit.evaluation.judgebench import decision_from_probability, judgebench_outcome, judgebench_statistics
from rewardkit.evaluation.rewardbench2 import rewardbench2_outcome, rewardbench2_statistics
from rewardkit.evaluation.rmbench import cells_from_scores, rmbench_outcome, rmbench_statistics

UPSTREAM_GLOBALS = {
    "np": np,
    "pd": pd,
    "Dataset": Dataset,
    "defaultdict": defaultdict,
    "Any": Any,
    "Dict": dict,  # the typing names the upstream annotations use
    "List": list,
    "Tuple": tuple,
}


def load_functions(path: str, names: set[str]) -> dict[str, Any]:
    """The named top-level functions of an upstream file, executed without running its imports."""
    tree = ast.parse(open(path).read())
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names]
    namespace = dict(UPSTREAM_GLOBALS)
    exec(compile(ast.Module(body=functions, type_ignores=[]), path, "exec"), namespace)
    return namespace


def point(statistics, outcomes: list[RowOutcome]) -> dict[str, float]:
    units = units_of(outcomes)
    return {name: float(v[0]) for name, v in statistics(outcomes, units, np.ones((1, len(units.strata)))).items()}


def best_of_four_gap(upstream: dict, rng: random.Random) -> float:
    scores = [[float(rng.randint(0, 3)) for _ in range(4)] for _ in range(rng.randint(3, 12))]
    flat = [{"text": "x", "scores": value, "id": str(row)} for row, values in enumerate(scores) for value in values]
    rerolled = upstream["reroll_and_score_dataset"](Dataset.from_pandas(pd.DataFrame(flat)), [4] * len(scores))
    fields = {"subset": "Math", "domain": "Math"}
    outcomes = [rewardbench2_outcome(str(i), s, 1, group=str(i), **fields) for i, s in enumerate(scores)]
    return abs(point(rewardbench2_statistics, outcomes)["Math"] - np.mean(rerolled["results"]))


def ties_gap(upstream: dict, rng: random.Random) -> float:
    rows = []
    for prompt in range(rng.randint(2, 8)):
        for kind, correct in (("ref", 1), ("tied", rng.randint(2, 3))):
            scores = [float(rng.randint(0, 2)) for _ in range(correct + rng.randint(1, 3))]
            rows.append({"id": f"{kind}:{prompt}", "scores": scores, "num_correct": correct})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, expected = upstream["process_single_model"](Dataset.from_list(rows))
    fields = {"subset": "Ties", "domain": "Ties"}
    outcomes = [
        rewardbench2_outcome(r["id"], r["scores"], r["num_correct"], group=r["id"].split(":")[1], **fields)
        for r in rows
    ]
    return abs(point(rewardbench2_statistics, outcomes)["Ties"] - expected)


def rmbench_gap(upstream: dict, rng: random.Random) -> float:
    results, outcomes = [], []
    domains = ["chat", "code", "math", "safety-refuse", "safety-response"]
    for row in range(rng.randint(8, 20)):
        domain = domains[row % len(domains)]
        chosen, rejected = ([float(rng.randint(0, 2)) for _ in range(3)] for _ in range(2))
        results.append({"score_chosen": chosen, "score_rejected": rejected, "domain": domain})
        cells = cells_from_scores(chosen, rejected)
        outcomes.append(rmbench_outcome(str(row), cells, subset=domain, domain=domain.split("-")[0], group=str(row)))
    expected = upstream["compute_accuracy"](results)
    ours = point(rmbench_statistics, outcomes)
    pairs = [
        ("overall", "total_avg_acc"),
        *((f"overall/{level}", f"{level}_acc") for level in ("hard", "normal", "easy")),
    ]
    pairs += [(domain, domain) for domain in ("chat", "code", "math", "safety")]
    return max(abs(ours[name] - expected[key]) for name, key in pairs)


def judgebench_gap(upstream: dict, rng: random.Random) -> float:
    verdict = {None: None, 0.2: "B>A", 0.5: "A=B", 0.8: "A>B"}
    reversed_verdict = {None: None, "A>B": "B>A", "B>A": "A>B", "A=B": "A=B"}
    pairs, outcomes = [], []
    for row in range(rng.randint(2, 12)):
        label = rng.choice(["A>B", "B>A"])
        first, second = rng.choice(list(verdict)), rng.choice(list(verdict))  # P(A better) read in each order
        judgments = [verdict[first], reversed_verdict[verdict[second]]]  # the (B, A) judge names B as "A"
        pairs.append(
            {
                "label": label,
                "source": "livebench-math",
                "judgments": [None if decision is None else {"decision": decision} for decision in judgments],
            }
        )
        orientation = 1 if label == "A>B" else -1
        decisions = [orientation * decision_from_probability(p) for p in (first, second)]
        outcomes.append(
            judgebench_outcome(str(row), decisions, subset="livebench-math", domain="math", group=str(row))
        )
    expected = upstream["compute_final_metrics"](pairs, True) / 100
    return abs(point(judgebench_statistics, outcomes)["overall"] - expected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reward_bench_utils", help="allenai/reward-bench rewardbench/utils.py")
    parser.add_argument("rm_bench_utils", help="THU-KEG/RM-Bench scripts/utils.py")
    parser.add_argument("judgebench_metrics", help="ScalerLab/JudgeBench utils/metrics.py")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    reward_bench = load_functions(
        args.reward_bench_utils, {"_compute_prompt_stats", "process_single_model", "reroll_and_score_dataset"}
    )
    rm_bench = load_functions(args.rm_bench_utils, {"compute_accuracy", "split_dataset_by_domain"})
    judgebench = load_functions(args.judgebench_metrics, {"flip_judgment", "compute_final_metrics"})
    rng = random.Random(args.seed)
    checks = {
        "rewardbench2_best_of_4": lambda: best_of_four_gap(reward_bench, rng),
        "rewardbench2_ties": lambda: ties_gap(reward_bench, rng),
        "rm_bench": lambda: rmbench_gap(rm_bench, rng),
        "judgebench": lambda: judgebench_gap(judgebench, rng),
    }
    worst = {name: max(check() for _ in range(args.trials)) for name, check in checks.items()}
    print(json.dumps({"trials": args.trials, "max_abs_difference": worst}))


if __name__ == "__main__":
    main()
