"""Best-of-N evaluation with exact expectations over uniformly random N-subsets of each prompt's candidates.

A reward model picks the highest-scored candidate of a random N-subset (ties broken uniformly). With candidates
grouped by score level, a level with `below` candidates under it and `tied` candidates on it holds the subset's
maximum with probability (C(below + tied, N) - C(below, N)) / C(M, N), shared equally by its tied candidates
(without ties this is C(below, N - 1) / C(M, N)). The oracle, random and majority-vote baselines are exact too.
The proxy-vs-gold view follows Coste et al. 2023 (arXiv 2310.02743, §4 BoN).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from math import comb

import numpy as np
from tqdm import tqdm

from rewardkit.data.bon_data import BonItem
from rewardkit.data.math_answers import answer_key, extract_answer
from rewardkit.metrics.reward_aggregation import DEFAULT_UWO_LAMBDA, ENSEMBLE_METHODS, aggregate_rewards, zscore_rows
from rewardkit.protocol import RewardModel, Score

logger = logging.getLogger(__name__)


def best_of_n_kl(n: int) -> float:
    """KL(best-of-n policy || base policy) = log n - (n - 1) / n nats (Stiennon et al. 2020), the x-axis of the
    over-optimization plots of Gao et al. 2022 and Coste et al. 2023."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return float(np.log(n) - (n - 1) / n)


def _check_subset_size(candidate_count: int, n: int) -> None:
    if not 1 <= n <= candidate_count:
        raise ValueError(f"subset size N={n} must be between 1 and the number of candidates ({candidate_count})")


def selection_probabilities(scores: Sequence[float], n: int) -> np.ndarray:
    """P(candidate i is picked as the best of a uniformly random n-subset), ties broken uniformly; exact."""
    scores = np.asarray(scores, dtype=float)
    _check_subset_size(len(scores), n)
    subsets = comb(len(scores), n)
    probabilities = np.zeros(len(scores))
    for level in np.unique(scores):
        on_level = scores == level
        below, tied = int(np.sum(scores < level)), int(np.sum(on_level))
        level_wins = comb(below + tied, n) - comb(below, n)
        probabilities[on_level] = level_wins / (tied * subsets)
    return probabilities


def expected_best_of_n(scores: Sequence[float], values: Sequence[float], n: int) -> float:
    """E[value of the candidate the scores pick from a random n-subset] (e.g. gold correctness or proxy reward)."""
    return float(selection_probabilities(scores, n) @ np.asarray(values, dtype=float))


def oracle_at_n(correct: Sequence[bool], n: int) -> float:
    """P(a random n-subset holds at least one correct candidate) = 1 - C(M - K, n) / C(M, n)."""
    _check_subset_size(len(correct), n)
    wrong = len(correct) - int(sum(correct))
    return 1.0 - comb(wrong, n) / comb(len(correct), n)


def _answer_classes(keys: Sequence[str | None], correct: Sequence[bool]) -> list[tuple[int, float]]:
    """(size, mean correctness) per answer class; a candidate without an extractable answer is a class of its own."""
    members: dict[object, list[bool]] = {}
    for index, (key, flag) in enumerate(zip(keys, correct, strict=True)):
        members.setdefault(("unparsed", index) if key is None else key, []).append(bool(flag))
    return [(len(flags), float(np.mean(flags))) for flags in members.values()]


def _counts_below_or_at(size: int, level: int, max_n: int) -> np.ndarray:
    """Generating table [subset size, classes tied at `level`] for one class drawing at most `level` members."""
    table = np.zeros((max_n + 1, 2))
    for drawn in range(min(level - 1, size, max_n) + 1):
        table[drawn, 0] = comb(size, drawn)
    if level <= min(size, max_n):
        table[level, 1] = comb(size, level)
    return table


def _multiply_tables(left: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Product of two generating polynomials in (subset size, tie count), truncated at the table's max size."""
    product = np.zeros((left.shape[0], left.shape[1] + 1))
    for drawn in np.nonzero(table.any(axis=1))[0]:
        shifted = left[: left.shape[0] - drawn]
        product[drawn:, :-1] += table[drawn, 0] * shifted
        product[drawn:, 1:] += table[drawn, 1] * shifted
    return product


def majority_vote_accuracy(keys: Sequence[str | None], correct: Sequence[bool], max_n: int) -> np.ndarray:
    """Exact accuracy of self-consistency (most frequent answer, ties broken uniformly) for N = 1..max_n.

    For each class j and count c it counts subsets where j draws c members and every other class at most c,
    tracking how many tie at c (a generating polynomial), so no subset is enumerated (Wang et al. 2022,
    arXiv 2203.11171, majority vote).
    """
    _check_subset_size(len(keys), max_n)
    classes = _answer_classes(keys, correct)
    weighted = np.zeros(max_n + 1)
    for j, (size_j, accuracy_j) in enumerate(classes):
        if accuracy_j == 0:
            continue
        for level in range(1, min(size_j, max_n) + 1):
            table = np.zeros((max_n + 1 - level, 1))
            table[0, 0] = 1.0
            for i, (size_i, _) in enumerate(classes):
                if i != j:
                    table = _multiply_tables(table, _counts_below_or_at(size_i, level, max_n - level))
            share = table / np.arange(1, table.shape[1] + 1)
            weighted[level:] += accuracy_j * comb(size_j, level) * share.sum(axis=1)
    subsets = np.array([comb(len(keys), n) for n in range(max_n + 1)], dtype=float)
    return weighted[1:] / subsets[1:]


@dataclass
class BonCurve:
    """Expected gold accuracy and proxy reward of the candidate a selector picks, for N = 1..max_n."""

    name: str
    gold: list[float]
    proxy: list[float] | None = None


@dataclass
class BonResult:
    """Everything the Best-of-N report shows."""

    data: str
    items: int
    max_n: int
    candidates_per_item: list[int]
    selectors: list[BonCurve]
    baselines: list[BonCurve]
    answers_extracted: float
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def selector_curve(name: str, scores: list[np.ndarray], items: Sequence[BonItem], max_n: int) -> BonCurve:
    """Curve of a score-based selector; proxy = the selected candidate's score (already normalized by the caller)."""
    gold, proxy = [], []
    for n in range(1, max_n + 1):
        probabilities = [selection_probabilities(item_scores, n) for item_scores in scores]
        gold.append(
            float(np.mean([p @ np.asarray(item.correct, float) for p, item in zip(probabilities, items, strict=True)]))
        )
        proxy.append(float(np.mean([p @ item_scores for p, item_scores in zip(probabilities, scores, strict=True)])))
    return BonCurve(name=name, gold=gold, proxy=proxy)


def baseline_curves(items: Sequence[BonItem], max_n: int) -> tuple[list[BonCurve], float]:
    """Oracle (pass@N), random (mean correctness) and majority-answer curves, and the share of parsed answers."""
    keys = [[answer_key(extract_answer(candidate)) for candidate in item.candidates] for item in items]
    random_accuracy = float(np.mean([np.mean(item.correct) for item in items]))
    oracle = [float(np.mean([oracle_at_n(item.correct, n) for item in items])) for n in range(1, max_n + 1)]
    majority = np.mean(
        [majority_vote_accuracy(k, item.correct, max_n) for k, item in zip(keys, items, strict=True)], axis=0
    )
    parsed = float(np.mean([key is not None for item_keys in keys for key in item_keys]))
    curves = [
        BonCurve("oracle (any correct)", oracle),
        BonCurve("random pick", [random_accuracy] * max_n),
        BonCurve("majority answer", [float(value) for value in majority]),
    ]
    return curves, parsed


def score_all_candidates(
    model: RewardModel, items: Sequence[BonItem], batch_size: int = 32, progress: bool = True
) -> list[list[Score]]:
    """Score every candidate exactly once through model.score, in batches of whole items (a prompt's candidates in
    one call, so a scorer that shares prefixes reads each prompt once); returns Scores grouped per item."""
    grouped: list[list[Score]] = []
    total = sum(len(item.candidates) for item in items)
    with tqdm(total=total, desc=f"scoring ({model.name})", unit="resp", disable=not progress) as bar:
        for batch in _whole_item_batches(items, batch_size):
            prompts = [item.prompt for item in batch for _ in item.candidates]
            flat = model.score(prompts, [candidate for item in batch for candidate in item.candidates])
            if len(flat) != len(prompts):
                raise RuntimeError(f"{model.name} returned {len(flat)} scores for {len(prompts)} responses")
            for item in batch:
                grouped.append(flat[: len(item.candidates)])
                flat = flat[len(item.candidates) :]
            bar.update(len(prompts))
    return grouped


def _whole_item_batches(items: Sequence[BonItem], batch_size: int) -> list[list[BonItem]]:
    """Consecutive items, at most `batch_size` candidates a batch (an item with more candidates alone)."""
    batches: list[list[BonItem]] = []
    filled = 0
    for item in items:
        if batches and filled + len(item.candidates) <= batch_size:
            batches[-1].append(item)
            filled += len(item.candidates)
        else:
            batches.append([item])
            filled = len(item.candidates)
    return batches


def _split_per_item(matrix: np.ndarray, items: Sequence[BonItem]) -> list[np.ndarray]:
    bounds = np.cumsum([0] + [len(item.candidates) for item in items])
    return [matrix[..., bounds[i] : bounds[i + 1]] for i in range(len(items))]


def aggregation_curves(
    prefix: str, member_rewards: np.ndarray, items: Sequence[BonItem], max_n: int, uwo_lambda: float
) -> list[BonCurve]:
    """One curve per aggregation (mean, WCO, UWO) of normalized member rewards [members, all candidates]."""
    return [
        selector_curve(
            f"{prefix}ensemble {method}",
            _split_per_item(aggregate_rewards(member_rewards, method, uwo_lambda), items),
            items,
            max_n,
        )
        for method in ENSEMBLE_METHODS
    ]


def ensemble_curves(
    prefix: str, member_rewards: np.ndarray, items: Sequence[BonItem], max_n: int, uwo_lambda: float
) -> list[BonCurve]:
    """A curve per member (each alone, as in Coste et al.'s single-RM baseline) and per aggregation."""
    members = [
        selector_curve(f"{prefix}member {index}", _split_per_item(row, items), items, max_n)
        for index, row in enumerate(member_rewards)
    ]
    return members + aggregation_curves(prefix, member_rewards, items, max_n, uwo_lambda)


def _member_matrix(scores: list[list[Score]]) -> np.ndarray | None:
    """Normalized member rewards [members, all candidates] when the scores come from an aggregate, else None."""
    flat = [score for item_scores in scores for score in item_scores]
    if not all(score.members is not None for score in flat):
        return None
    return np.array([score.members.rewards for score in flat], dtype=float).T


def curves_for_model(
    name: str, scores: list[list[Score]], items: Sequence[BonItem], max_n: int, uwo_lambda: float | None
) -> tuple[list[BonCurve], np.ndarray]:
    """Curves for one scored model and its raw values [all candidates]; an ensemble also gets member/method curves
    (with its own λ unless `uwo_lambda` is given).
    """
    values = np.array([score.value for item_scores in scores for score in item_scores], dtype=float)
    members = _member_matrix(scores)
    if members is not None:
        own_lambda = scores[0][0].members.uwo_lambda
        chosen = own_lambda if uwo_lambda is None else uwo_lambda
        return ensemble_curves(f"{name}: ", members, items, max_n, chosen), values
    normalized = zscore_rows(values[None, :])[0]
    return [selector_curve(name, _split_per_item(normalized, items), items, max_n)], values


def reference_scores_curve(items: Sequence[BonItem], max_n: int) -> BonCurve | None:
    """Curve of the reward-model scores shipped with the data (`reference_rm_scores`), when every row has them."""
    if not all(item.reference_rm_scores is not None for item in items):
        return None
    values = np.concatenate([np.asarray(item.reference_rm_scores, dtype=float) for item in items])
    normalized = zscore_rows(values[None, :])[0]
    return selector_curve("reference RM (scores in data)", _split_per_item(normalized, items), items, max_n)


def resolve_max_n(items: Sequence[BonItem], requested: int | None) -> int:
    """The largest N every item supports, or the requested N after checking it fits."""
    smallest = min(len(item.candidates) for item in items)
    if requested is None:
        return smallest
    if not 1 <= requested <= smallest:
        raise ValueError(
            f"--max-n {requested} is not possible: the smallest item has {smallest} candidates; "
            f"pass --max-n <= {smallest}"
        )
    return requested


def evaluate_best_of_n(
    models: Sequence[tuple[str, RewardModel]],
    items: Sequence[BonItem],
    data_name: str,
    max_n: int | None = None,
    uwo_lambda: float | None = None,
    batch_size: int = 32,
    progress: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> BonResult:
    """Score each candidate once per model and compute every selector and baseline curve for N = 1..max_n.

    Several models also get mean/WCO/UWO curves of their z-scored rewards; `uwo_lambda` None means an ensemble's
    own λ (and DEFAULT_UWO_LAMBDA for the ensembles built here).
    """
    max_n = resolve_max_n(items, max_n)
    selectors, raw_values, timings = [], [], {}
    for name, model in models:
        started = clock()
        scores = score_all_candidates(model, items, batch_size=batch_size, progress=progress)
        timings[f"score {name} (s)"] = round(clock() - started, 3)
        curves, values = curves_for_model(name, scores, items, max_n, uwo_lambda)
        selectors.extend(curves)
        raw_values.append(values)
    notes = ["proxy = the selected candidate's normalized (aggregated) reward"]
    if len(raw_values) > 1:
        built_lambda = DEFAULT_UWO_LAMBDA if uwo_lambda is None else uwo_lambda
        selectors.extend(aggregation_curves("", zscore_rows(np.stack(raw_values)), items, max_n, built_lambda))
        notes.append(f"ensemble curves combine the given models, each z-scored over this data; UWO λ = {built_lambda}")
    reference = reference_scores_curve(items, max_n)
    if reference is not None:
        selectors.append(reference)
    baselines, parsed = baseline_curves(items, max_n)
    return BonResult(
        data=data_name,
        items=len(items),
        max_n=max_n,
        candidates_per_item=sorted({len(item.candidates) for item in items}),
        selectors=selectors,
        baselines=baselines,
        answers_extracted=parsed,
        notes=notes,
        timings=timings,
    )
