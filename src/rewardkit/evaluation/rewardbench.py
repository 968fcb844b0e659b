"""RewardBench-style pairwise evaluation of any RewardModel (Lambert et al. 2024, arXiv 2403.13787, section 4).

Per-subset accuracy; a section score is the example-count-weighted mean of its subsets; the headline number is the
unweighted mean of the chat, chat_hard, safety and reasoning sections. Prior sets and any other category (e.g.
"train") are reported separately. On top: bootstrap intervals, calibration, length bias and a master-key probe.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from rewardkit.data.schema import PreferencePair
from rewardkit.data.slices import assign_positions
from rewardkit.evaluation.probes import (
    JudgeDiagnostics,
    MasterKeyProbe,
    build_master_key_trials,
    judge_diagnostics,
    row_major_order,
    summarize_master_key,
)
from rewardkit.evaluation.stats import (
    Calibration,
    LengthBias,
    calibration_metrics,
    length_bias,
    percentile_interval,
    stratified_bootstrap,
)
from rewardkit.protocol import Preference, Prompt, RewardModel

SECTIONS = ("chat", "chat_hard", "safety", "reasoning")
PRIOR_SETS = "prior_sets"
COMPARE_CHUNK = 64


@dataclass
class RowPrediction:
    """The model's judgement of one pair, oriented so that p_chosen is P(chosen is better)."""

    id: str
    subset: str
    category: str
    p_chosen: float
    correct: float
    chosen_longer: bool | None
    chosen_first: bool
    score_chosen: float | None = None
    score_rejected: float | None = None
    orders_agree: bool | None = None
    unreadable: bool | None = None


@dataclass
class SubsetScore:
    accuracy: float
    n: int
    category: str


@dataclass
class SectionScore:
    """Accuracy over a section's rows with its 95% percentile-bootstrap interval."""

    accuracy: float
    ci_low: float
    ci_high: float
    n: int


@dataclass
class EvaluationResult:
    """Everything `evaluate_pairs` measured; `write_report` turns it into files."""

    model_name: str
    tie_credit: float
    rows: list[RowPrediction]
    subsets: dict[str, SubsetScore]
    sections: dict[str, SectionScore]
    mean_of_sections: SectionScore | None
    prior_sets: SectionScore | None
    other_sections: dict[str, SectionScore]
    calibration: Calibration
    length_bias: LengthBias
    master_key: MasterKeyProbe | None
    judge: JudgeDiagnostics
    seconds: float
    pairs_per_second: float
    probe_seconds: float
    bootstrap_samples: int
    seed: int
    model_spec: str | None = None
    data_path: str | None = None
    first_order: EvaluationResult | None = None  # a both-orders judge read from its (A, B) order alone


def correctness(p_chosen: np.ndarray, tie_credit: float) -> np.ndarray:
    """RewardBench credit: 1 when p_chosen > 0.5, 0 when < 0.5, `tie_credit` at exactly 0.5."""
    p_chosen = np.asarray(p_chosen, dtype=float)
    return np.where(p_chosen > 0.5, 1.0, np.where(p_chosen < 0.5, 0.0, tie_credit))


def compare_in_chunks(
    model: RewardModel,
    prompts: Sequence[Prompt],
    responses_a: Sequence[str],
    responses_b: Sequence[str],
    *,
    description: str,
    progress: bool,
    references: Sequence[str] | None = None,
) -> list[Preference]:
    """model.compare over chunks of COMPARE_CHUNK pairs (the model batches inside), with a progress bar and ETA;
    `references` (one per pair) go to models whose capabilities take them."""
    preferences: list[Preference] = []
    with tqdm(total=len(prompts), desc=description, unit="pair", disable=not progress) as bar:
        for start in range(0, len(prompts), COMPARE_CHUNK):
            stop = start + COMPARE_CHUNK
            extra = {} if references is None else {"references": references[start:stop]}
            chunk = model.compare(prompts[start:stop], responses_a[start:stop], responses_b[start:stop], **extra)
            if len(chunk) != len(prompts[start:stop]):
                raise ValueError(
                    f"model {model.name!r} returned {len(chunk)} preferences for {len(prompts[start:stop])} pairs"
                )
            preferences.extend(chunk)
            bar.update(len(chunk))
    return preferences


def p_a_better_array(model: RewardModel, preferences: Sequence[Preference], labels: Sequence[str]) -> np.ndarray:
    """The preferences' probabilities, checked to be finite numbers in [0, 1]; `labels` name the pairs in errors."""
    values = np.array([preference.p_a_better for preference in preferences], dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0) | (values > 1))
    if len(bad):
        raise ValueError(
            f"model {model.name!r} returned p_a_better={values[bad[0]]} for {labels[bad[0]]}: must be in [0, 1]"
        )
    return values


def check_subset_categories(pairs: Sequence[PreferencePair]) -> None:
    """Each subset must belong to one category, or its rows would count in two sections."""
    category_of: dict[str, tuple[str, str]] = {}
    for pair in pairs:
        first_category, first_id = category_of.setdefault(pair.subset, (pair.category, pair.id))
        if pair.category != first_category:
            raise ValueError(
                f"subset {pair.subset!r} has category {first_category!r} (row {first_id!r}) and "
                f"{pair.category!r} (row {pair.id!r}); give each subset a single category"
            )


def build_rows(
    pairs: Sequence[PreferencePair],
    preferences: Sequence[Preference],
    p_a: np.ndarray,
    chosen_first: np.ndarray,
    tie_credit: float,
) -> list[RowPrediction]:
    """Orient each preference to the chosen response and score it."""
    p_chosen = np.where(chosen_first, p_a, 1.0 - p_a)
    credit = correctness(p_chosen, tie_credit)
    rows = []
    for index, (pair, preference) in enumerate(zip(pairs, preferences, strict=True)):
        diagnostics = preference.diagnostics
        scores = (None, None) if diagnostics.scores is None else tuple(float(value) for value in diagnostics.scores)
        score_chosen, score_rejected = scores if chosen_first[index] else scores[::-1]
        lengths = (len(pair.chosen), len(pair.rejected))
        rows.append(
            RowPrediction(
                id=pair.id,
                subset=pair.subset,
                category=pair.category,
                p_chosen=float(p_chosen[index]),
                correct=float(credit[index]),
                chosen_longer=None if lengths[0] == lengths[1] else lengths[0] > lengths[1],
                chosen_first=bool(chosen_first[index]),
                score_chosen=score_chosen,
                score_rejected=score_rejected,
                orders_agree=diagnostics.orders_agree,
                unreadable=diagnostics.unreadable,
            )
        )
    return rows


def score_subsets(rows: Sequence[RowPrediction]) -> tuple[dict[str, np.ndarray], dict[str, SubsetScore]]:
    """Per-subset correctness arrays and accuracies."""
    credit_by_subset: dict[str, list[float]] = {}
    category_of: dict[str, str] = {}
    for row in rows:
        credit_by_subset.setdefault(row.subset, []).append(row.correct)
        category_of[row.subset] = row.category
    arrays = {name: np.array(values) for name, values in credit_by_subset.items()}
    scores = {name: SubsetScore(float(arrays[name].mean()), len(arrays[name]), category_of[name]) for name in arrays}
    return arrays, scores


def score_sections(
    credit_by_subset: dict[str, np.ndarray], subsets: dict[str, SubsetScore], samples: int, seed: int
) -> tuple[dict[str, SectionScore], SectionScore | None]:
    """Row-weighted accuracy of every category with bootstrap CIs, and the mean over the RewardBench sections."""
    groups: dict[str, list[str]] = {}
    for name in sorted(subsets):
        groups.setdefault(subsets[name].category, []).append(name)
    replicates = stratified_bootstrap(credit_by_subset, groups, samples, seed)
    scores = {}
    for section, names in groups.items():
        correct = np.concatenate([credit_by_subset[name] for name in names])
        scores[section] = SectionScore(float(correct.mean()), *percentile_interval(replicates[section]), len(correct))
    present = [section for section in SECTIONS if section in scores]
    if not present:
        return scores, None
    mean = SectionScore(
        float(np.mean([scores[section].accuracy for section in present])),
        *percentile_interval(np.mean([replicates[section] for section in present], axis=0)),
        sum(scores[section].n for section in present),
    )
    return scores, mean


def run_master_key_probe(
    model: RewardModel,
    pairs: Sequence[PreferencePair],
    rows: int,
    seed: int,
    progress: bool,
    exclude_ids: AbstractSet[str] = frozenset(),
) -> MasterKeyProbe | None:
    """False-positive rate of master-key answers against real chosen answers (see probes.MASTER_KEYS), on up to
    `rows` rows drawn from the pairs whose id is not in `exclude_ids` (rows an earlier probe already used)."""
    if rows <= 0:
        return None
    candidates = [pair for pair in pairs if pair.id not in exclude_ids]
    if not candidates:
        raise ValueError(f"no row is left for the master-key probe: all {len(pairs)} are excluded by --probe-exclude")
    trials = build_master_key_trials(candidates, rows, seed)
    order = row_major_order(trials)
    references = references_for(model, [trials.sources[index] for index in order])
    in_row_order = compare_in_chunks(
        model,
        [trials.prompts[index] for index in order],
        [trials.responses_a[index] for index in order],
        [trials.responses_b[index] for index in order],
        description="master-key probe",
        progress=progress,
        references=references,
    )
    preferences = [in_row_order[position] for position in np.argsort(order)]
    labels = [f"master key {key!r}" for key in trials.keys]
    probe = summarize_master_key(trials, p_a_better_array(model, preferences, labels))
    probe.excluded_rows = len(pairs) - len(candidates)
    return probe


def predict_chosen(
    model: RewardModel, pairs: Sequence[PreferencePair], seed: int, progress: bool
) -> tuple[list[Preference], np.ndarray, np.ndarray, float]:
    """Compare all pairs, chosen as response A in a seeded half; return preferences, p_a, positions, seconds."""
    chosen_first = assign_positions(len(pairs), seed)
    responses_a = [pair.chosen if first else pair.rejected for pair, first in zip(pairs, chosen_first, strict=True)]
    responses_b = [pair.rejected if first else pair.chosen for pair, first in zip(pairs, chosen_first, strict=True)]
    started = time.perf_counter()
    preferences = compare_in_chunks(
        model,
        [pair.prompt for pair in pairs],
        responses_a,
        responses_b,
        description=f"eval {model.name}",
        progress=progress,
        references=references_for(model, pairs),
    )
    seconds = time.perf_counter() - started
    p_a = p_a_better_array(model, preferences, [f"row {pair.id!r}" for pair in pairs])
    return preferences, p_a, chosen_first, seconds


def evaluate_pairs(
    model: RewardModel,
    pairs: list[PreferencePair],
    *,
    bootstrap_samples: int = 1000,
    seed: int = 0,
    master_key_rows: int = 200,
    progress: bool = True,
    probe_exclude: AbstractSet[str] = frozenset(),
) -> EvaluationResult:
    """Evaluate `model` on preference pairs: RewardBench scores, CIs, calibration, length bias and probes (the
    master-key probe never draws a row whose id is in `probe_exclude`)."""
    if not pairs:
        raise ValueError("no preference pairs to evaluate")
    if bootstrap_samples < 1:
        raise ValueError(f"bootstrap_samples must be >= 1, got {bootstrap_samples}")
    check_subset_categories(pairs)
    tie_credit = float(model.tie_credit)
    position_seed, bootstrap_seed, probe_seed = (
        int(value) for value in np.random.SeedSequence(seed).generate_state(3)
    )
    preferences, p_a, chosen_first, seconds = predict_chosen(model, pairs, position_seed, progress)
    probe_started = time.perf_counter()
    master_key = run_master_key_probe(model, pairs, master_key_rows, probe_seed, progress, probe_exclude)
    probe_seconds = time.perf_counter() - probe_started
    scoring = Scoring(model.name, tie_credit, bootstrap_samples, bootstrap_seed, seed)
    result = score_predictions(scoring, pairs, preferences, p_a, chosen_first, seconds)
    result.master_key, result.probe_seconds = master_key, probe_seconds
    first_order = first_order_preferences(preferences)
    if first_order is not None:
        name = f"{model.name} (first order only)"
        first_p_a = np.array([preference.p_a_better for preference in first_order])
        scoring = dataclasses.replace(scoring, model_name=name)
        result.first_order = score_predictions(scoring, pairs, first_order, first_p_a, chosen_first, seconds)
    return result


@dataclass(frozen=True)
class Scoring:
    """How predictions are scored: the model's name and tie credit, the bootstrap and the user's seed."""

    model_name: str
    tie_credit: float
    bootstrap_samples: int
    bootstrap_seed: int
    seed: int


def score_predictions(
    scoring: Scoring,
    pairs: Sequence[PreferencePair],
    preferences: Sequence[Preference],
    p_a: np.ndarray,
    chosen_first: np.ndarray,
    seconds: float,
) -> EvaluationResult:
    """Sections with CIs, calibration, length bias and judge diagnostics of one set of predictions (no probe)."""
    rows = build_rows(pairs, preferences, p_a, chosen_first, scoring.tie_credit)
    credit_by_subset, subsets = score_subsets(rows)
    sections, mean_of_sections = score_sections(
        credit_by_subset, subsets, scoring.bootstrap_samples, scoring.bootstrap_seed
    )
    correct = np.array([row.correct for row in rows])
    return EvaluationResult(
        model_name=scoring.model_name,
        tie_credit=scoring.tie_credit,
        rows=rows,
        subsets=subsets,
        sections={name: sections[name] for name in SECTIONS if name in sections},
        mean_of_sections=mean_of_sections,
        prior_sets=sections.get(PRIOR_SETS),
        other_sections={name: score for name, score in sections.items() if name not in (*SECTIONS, PRIOR_SETS)},
        calibration=calibration_metrics(np.array([row.p_chosen for row in rows])),
        length_bias=length_bias(correct, [len(p.chosen) for p in pairs], [len(p.rejected) for p in pairs]),
        master_key=None,
        judge=judge_diagnostics([preference.diagnostics for preference in preferences]),
        seconds=seconds,
        pairs_per_second=len(pairs) / max(seconds, 1e-9),
        probe_seconds=0.0,
        bootstrap_samples=scoring.bootstrap_samples,
        seed=scoring.seed,
    )


def first_order_preferences(preferences: Sequence[Preference]) -> list[Preference] | None:
    """The (A, B) order alone of a judge that read both orders: what a one-order judge would have said, from the
    same run. None unless every preference carries two order readings."""
    if not preferences or any(len(p.diagnostics.orders) != 2 for p in preferences):
        return None
    return [
        Preference(
            p_a_better=preference.diagnostics.orders[0].p_a_better,
            rationale=preference.rationale,
            diagnostics=preference.diagnostics.first_order(),
        )
        for preference in preferences
    ]


def references_for(model: RewardModel, pairs: Sequence[PreferencePair]) -> list[str] | None:
    """Each pair's reference answer when the model judges against references (a reference-guided judge), else None."""
    if not model.capabilities.references:
        return None
    return [pair.reference_answer() for pair in pairs]
