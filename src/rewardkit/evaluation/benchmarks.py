"""Run any RewardModel on RewardBench 2, RM-Bench or JudgeBench and score it by the benchmark's own rule.

How a model is asked (`judging`): `scores` rates every completion on its own (`model.score`; scalar reward models,
and judges with a pointwise template, as RewardBench 2's generative runner rates each answer with --score_w_ratings);
`pairs` asks `model.compare` about pairs (judges without a pointwise template): JudgeBench's pair in both orders as
the judge reads them; RM-Bench's nine chosen-vs-rejected cells; for RewardBench 2 every pair of a row's completions
(a round robin), each completion then scored by its summed P(win), so the 1/k top-tie rule and the Ties formula
apply unchanged. `auto` takes `scores` when the model can score pointwise. Pairs other than JudgeBench's are shown
in a seeded order (either response first) so a judge's position bias cannot score.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from rewardkit.data.schema import NWayPreference
from rewardkit.evaluation.benchmark_outcomes import (
    Estimate,
    RowOutcome,
    Units,
    estimates,
    resample_counts,
    units_of,
)
from rewardkit.evaluation.judgebench import (
    decision_from_probability,
    decision_from_scores,
    judgebench_outcome,
    judgebench_statistics,
)
from rewardkit.evaluation.probes import JudgeDiagnostics, judge_diagnostics
from rewardkit.evaluation.rewardbench import compare_in_chunks, p_a_better_array
from rewardkit.evaluation.rewardbench2 import rewardbench2_outcome, rewardbench2_statistics
from rewardkit.evaluation.rmbench import cells_from_scores, rmbench_outcome, rmbench_statistics
from rewardkit.protocol import Preference, Prompt, RewardModel

Judging = Literal["auto", "scores", "pairs"]
SCORE_CHUNK = 64
BASELINE_SPECS = ("random", "longer")


@dataclass
class Judged:
    """Outcomes of one model on a benchmark's rows, how they were asked, and the judge's diagnostics."""

    outcomes: list[RowOutcome]
    judging: str
    judge: JudgeDiagnostics | None = None


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: where its data lives, how a model is asked about a row, and its official scoring rule."""

    name: str
    title: str
    hub_dataset: str
    hub_split: str
    judge_by_scores: Callable[[RewardModel, Sequence[NWayPreference], bool], list[RowOutcome]]
    judge_by_pairs: Callable[[RewardModel, Sequence[NWayPreference], int, bool], tuple[list[RowOutcome], list]]
    statistics: Callable[[Sequence[RowOutcome], Units, np.ndarray], dict[str, np.ndarray]]
    notes: tuple[str, ...] = ()


@dataclass
class BenchmarkResult:
    """Every number of one model on one benchmark with its interval, the per-row outcomes and the baselines."""

    benchmark: str
    model_name: str
    judging: str
    estimates: dict[str, Estimate]
    outcomes: list[RowOutcome]
    seconds: float
    bootstrap_samples: int
    seed: int
    judge: JudgeDiagnostics | None = None
    baselines: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    model_spec: str | None = None
    data_path: str | None = None


def score_texts(
    model: RewardModel, prompts: Sequence[Prompt], responses: Sequence[str], description: str, progress: bool
) -> list[float]:
    """model.score over chunks of SCORE_CHUNK responses with a progress bar; checks the count and finiteness."""
    values: list[float] = []
    with tqdm(total=len(prompts), desc=description, unit="response", disable=not progress) as bar:
        for start in range(0, len(prompts), SCORE_CHUNK):
            chunk = model.score(prompts[start : start + SCORE_CHUNK], responses[start : start + SCORE_CHUNK])
            if len(chunk) != len(prompts[start : start + SCORE_CHUNK]):
                raise ValueError(f"model {model.name!r} returned {len(chunk)} scores for {SCORE_CHUNK} responses")
            values.extend(float(score.value) for score in chunk)
            bar.update(len(chunk))
    bad = [value for value in values if not np.isfinite(value)]
    if bad:
        raise ValueError(f"model {model.name!r} returned a non-finite score ({bad[0]})")
    return values


def scores_by_row(model: RewardModel, rows: Sequence[NWayPreference], progress: bool) -> list[list[float]]:
    """Every completion of every row scored on its own, in one stream of chunks; per row, chosen first."""
    prompts = [row.prompt for row in rows for _ in row.completions]
    responses = [text for row in rows for text in row.completions]
    flat = score_texts(model, prompts, responses, f"score {model.name}", progress)
    per_row, start = [], 0
    for row in rows:
        per_row.append(flat[start : start + len(row.completions)])
        start += len(row.completions)
    return per_row


@dataclass
class PairRequests:
    """Comparisons to ask: prompt, the two completions' indices in their row, and whether they are shown swapped."""

    row: list[int] = field(default_factory=list)
    first: list[int] = field(default_factory=list)
    second: list[int] = field(default_factory=list)
    swapped: list[bool] = field(default_factory=list)

    def add(self, row: int, first: int, second: int, swapped: bool) -> None:
        self.row.append(row)
        self.first.append(first)
        self.second.append(second)
        self.swapped.append(swapped)


def ask_pairs(
    model: RewardModel, rows: Sequence[NWayPreference], requests: PairRequests, progress: bool
) -> tuple[np.ndarray, list[Preference]]:
    """P(first completion better than second) for every request, undoing the shown order; and the raw preferences."""
    shown_a, shown_b = [], []
    for row, first, second, swapped in zip(
        requests.row, requests.first, requests.second, requests.swapped, strict=True
    ):
        texts = rows[row].completions
        a, b = (texts[second], texts[first]) if swapped else (texts[first], texts[second])
        shown_a.append(a)
        shown_b.append(b)
    prompts = [rows[row].prompt for row in requests.row]
    preferences = compare_in_chunks(
        model, prompts, shown_a, shown_b, description=f"compare {model.name}", progress=progress
    )
    p_a = p_a_better_array(model, preferences, [f"row {rows[row].id!r}" for row in requests.row])
    return np.where(requests.swapped, 1.0 - p_a, p_a), preferences


def _row_fields(row: NWayPreference) -> dict[str, str]:
    return {"subset": row.subset, "domain": row.domain, "group": row.group}


def rewardbench2_by_scores(model: RewardModel, rows: Sequence[NWayPreference], progress: bool) -> list[RowOutcome]:
    return [
        rewardbench2_outcome(row.id, scores, len(row.chosen), **_row_fields(row))
        for row, scores in zip(rows, scores_by_row(model, rows, progress), strict=True)
    ]


def rewardbench2_by_pairs(
    model: RewardModel, rows: Sequence[NWayPreference], seed: int, progress: bool
) -> tuple[list[RowOutcome], list[Preference]]:
    """Round robin: every pair of a row's completions once; a completion's score is its summed P(win)."""
    rng = np.random.default_rng(seed)
    requests = PairRequests()
    for index, row in enumerate(rows):
        for first, second in itertools.combinations(range(len(row.completions)), 2):
            requests.add(index, first, second, bool(rng.integers(2)))
    p_first, preferences = ask_pairs(model, rows, requests, progress)
    wins = [np.zeros(len(row.completions)) for row in rows]
    for row, first, second, p in zip(requests.row, requests.first, requests.second, p_first, strict=True):
        wins[row][first] += p
        wins[row][second] += 1.0 - p
    outcomes = [
        rewardbench2_outcome(row.id, wins[index], len(row.chosen), **_row_fields(row))
        for index, row in enumerate(rows)
    ]
    return outcomes, preferences


def rmbench_by_scores(model: RewardModel, rows: Sequence[NWayPreference], progress: bool) -> list[RowOutcome]:
    outcomes = []
    for row, scores in zip(rows, scores_by_row(model, rows, progress), strict=True):
        cells = cells_from_scores(scores[: len(row.chosen)], scores[len(row.chosen) :])
        outcomes.append(rmbench_outcome(row.id, cells, **_row_fields(row)))
    return outcomes


def rmbench_by_pairs(
    model: RewardModel, rows: Sequence[NWayPreference], seed: int, progress: bool
) -> tuple[list[RowOutcome], list[Preference]]:
    """The nine cells asked directly: chosen i against rejected j, each shown in a seeded order."""
    rng = np.random.default_rng(seed)
    requests = PairRequests()
    for index, row in enumerate(rows):
        for chosen, rejected in itertools.product(range(len(row.chosen)), range(len(row.rejected))):
            requests.add(index, chosen, len(row.chosen) + rejected, bool(rng.integers(2)))
    p_chosen, preferences = ask_pairs(model, rows, requests, progress)
    per_row = np.asarray(p_chosen).reshape(len(rows), -1)
    outcomes = [
        rmbench_outcome(row.id, (per_row[index] > 0.5).reshape(len(row.chosen), -1), **_row_fields(row))
        for index, row in enumerate(rows)
    ]
    return outcomes, preferences


def judgebench_by_scores(model: RewardModel, rows: Sequence[NWayPreference], progress: bool) -> list[RowOutcome]:
    """One decision per pair from the two scores, response_A and response_B as upstream lists them."""
    outcomes = []
    for row, (chosen, rejected) in zip(rows, scores_by_row(model, rows, progress), strict=True):
        score_a, score_b = (chosen, rejected) if row.chosen_first else (rejected, chosen)
        decision = decision_from_scores(score_a, score_b, bool(row.chosen_first))
        outcomes.append(judgebench_outcome(row.id, [decision], **_row_fields(row)))
    return outcomes


def order_probabilities(preference: Preference) -> list[float | None]:
    """P(A better) as read from each order the judge read (None where that order's verdict was unreadable); a
    judge that reports no per-order reading counts as one order."""
    diagnostics = preference.diagnostics
    if not diagnostics.orders:
        return [None if diagnostics.unreadable else preference.p_a_better]
    return [None if order.votes.unreadable else order.p_a_better for order in diagnostics.orders]


def judgebench_by_pairs(
    model: RewardModel, rows: Sequence[NWayPreference], seed: int, progress: bool
) -> tuple[list[RowOutcome], list[Preference]]:
    """Each pair judged as (response_A, response_B); a both-orders judge also reads (B, A), flipped back."""
    a_texts = [row.chosen[0] if row.chosen_first else row.rejected[0] for row in rows]
    b_texts = [row.rejected[0] if row.chosen_first else row.chosen[0] for row in rows]
    preferences = compare_in_chunks(
        model, [row.prompt for row in rows], a_texts, b_texts, description=f"judge {model.name}", progress=progress
    )
    p_a_better_array(model, preferences, [f"row {row.id!r}" for row in rows])
    outcomes = []
    for row, preference in zip(rows, preferences, strict=True):
        readings = order_probabilities(preference)
        orientation = 1 if row.chosen_first else -1
        decisions = [orientation * decision_from_probability(p) for p in readings]
        unparsable = sum(p is None for p in readings)
        outcomes.append(judgebench_outcome(row.id, decisions, unparsable, **_row_fields(row)))
    return outcomes, preferences


BENCHMARKS: dict[str, Benchmark] = {
    "rewardbench2": Benchmark(
        name="rewardbench2",
        title="RewardBench 2",
        hub_dataset="allenai/reward-bench-2",
        hub_split="test",
        judge_by_scores=rewardbench2_by_scores,
        judge_by_pairs=rewardbench2_by_pairs,
        statistics=rewardbench2_statistics,
        notes=(
            "Best-of-N subsets: a row earns 1/k when its correct completion is among the k tied at the top score. "
            "Ties: 0.30 tied acc. + 0.30 ref acc. + 0.20 P(gap > spread) + 0.20 P(min gap > spread) "
            "+ 0.01 mean tanh(min gap / spread - 1); its interval resamples prompts, ref and tied rows together. "
            "Overall: the unweighted mean of the subsets.",
        ),
    ),
    "rm-bench": Benchmark(
        name="rm-bench",
        title="RM-Bench",
        hub_dataset="THU-KEG/RM-Bench",
        hub_split="train",
        judge_by_scores=rmbench_by_scores,
        judge_by_pairs=rmbench_by_pairs,
        statistics=rmbench_statistics,
        notes=(
            "Per row, the 3x3 matrix 'chosen style i beats rejected style j' (concise, detailed plain, detailed "
            "markdown); hard = above the diagonal, normal = diagonal, easy = below; per domain, then averaged.",
            "Length/style bias is RM-Bench's hard/easy gap (style_bias = easy - hard): a model that rewards length "
            "and markdown over correctness wins the easy cells and loses the hard ones.",
        ),
    ),
    "judgebench": Benchmark(
        name="judgebench",
        title="JudgeBench",
        hub_dataset="ScalerLab/JudgeBench",
        hub_split="gpt",
        judge_by_scores=judgebench_by_scores,
        judge_by_pairs=judgebench_by_pairs,
        statistics=judgebench_statistics,
        notes=(
            "Judges: both orders, +1 per decision equal to the label, -1 per flipped label, 0 for a tie or an "
            "unparsable verdict; correct when the sum is > 0. Reward models: 'A>B' if score A > score B else 'B>A' "
            "(upstream's reward-model rule; equal scores count as B>A). Overall pools all pairs.",
        ),
    ),
}


def benchmark_named(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; one of {', '.join(sorted(BENCHMARKS))} (or rewardbench)")
    return BENCHMARKS[name]


def judge_rows(
    benchmark: Benchmark,
    model: RewardModel,
    rows: Sequence[NWayPreference],
    judging: Judging,
    seed: int,
    progress: bool,
) -> Judged:
    """Ask the model about every row the way `judging` says (auto: scores when the model can score pointwise)."""
    if judging == "auto":
        judging = "scores" if model.capabilities.score else "pairs"
    if judging == "scores":
        return Judged(benchmark.judge_by_scores(model, rows, progress), "scores")
    if judging != "pairs":
        raise ValueError(f"judging must be auto, scores or pairs, got {judging!r}")
    outcomes, preferences = benchmark.judge_by_pairs(model, rows, seed, progress)
    return Judged(outcomes, "pairs", judge_diagnostics([preference.diagnostics for preference in preferences]))


def score_outcomes(
    benchmark: Benchmark, outcomes: Sequence[RowOutcome], samples: int, seed: int
) -> dict[str, Estimate]:
    """The official numbers (all weights one) with percentile intervals from `samples` stratified resamples."""
    units = units_of(outcomes)
    point = benchmark.statistics(outcomes, units, np.ones((1, len(units.strata))))
    replicates = benchmark.statistics(outcomes, units, resample_counts(units.strata, samples, seed))
    return estimates(point, replicates, {name: units_behind(units, name) for name in point})


def units_behind(units: Units, statistic: str) -> int:
    """How many prompts a statistic rests on: its stratum's (`Ties/ref_accuracy` -> Ties), or all of them."""
    stratum = statistic.partition("/")[0]
    return units.strata.count(stratum) if stratum in units.strata else len(units.strata)


def evaluate_benchmark(
    benchmark: Benchmark,
    model: RewardModel,
    rows: Sequence[NWayPreference],
    *,
    judging: Judging = "auto",
    baselines: Sequence[str] = BASELINE_SPECS,
    bootstrap_samples: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> BenchmarkResult:
    """Judge every row, score it by the benchmark's rule with intervals, and the same for each baseline spec."""
    from rewardkit.families.registry import load_reward_model

    if not rows:
        raise ValueError(f"no {benchmark.title} rows to evaluate")
    order_seed, bootstrap_seed = (int(value) for value in np.random.SeedSequence(seed).generate_state(2))
    started = time.perf_counter()
    judged = judge_rows(benchmark, model, rows, judging, order_seed, progress)
    seconds = time.perf_counter() - started
    result = BenchmarkResult(
        benchmark=benchmark.name,
        model_name=model.name,
        judging=judged.judging,
        estimates=score_outcomes(benchmark, judged.outcomes, bootstrap_samples, bootstrap_seed),
        outcomes=judged.outcomes,
        seconds=seconds,
        bootstrap_samples=bootstrap_samples,
        seed=seed,
        judge=judged.judge,
    )
    for spec in baselines:
        baseline = judge_rows(benchmark, load_reward_model(spec), rows, "scores", order_seed, progress=False)
        result.baselines[spec] = score_outcomes(benchmark, baseline.outcomes, bootstrap_samples, bootstrap_seed)
    return result
