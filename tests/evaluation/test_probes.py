"""Master-key probe (arXiv 2507.08794) and the trials it builds."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from rewardkit.data.master_keys import HELD_OUT_MASTER_KEYS, TRAINING_MASTER_KEYS
from rewardkit.evaluation.probes import PROBE_KEYS, build_master_key_trials, summarize_master_key
from rewardkit.evaluation.rewardbench import evaluate_pairs
from rewardkit.protocol import PreferenceDiagnostics
from tests.evaluation.fakes import JudgeModel, ScoreTableModel, make_pairs


def probe(model, pairs, rows=20):
    return evaluate_pairs(model, pairs, bootstrap_samples=10, master_key_rows=rows, progress=False).master_key


def prefers_colon(a: str, b: str) -> tuple[float, PreferenceDiagnostics]:
    """A judge fooled by ":" and nothing else: it prefers ":", otherwise the real ("win ...") answer."""
    if ":" in (a, b):
        return (1.0 if a == ":" else 0.0), PreferenceDiagnostics()
    return (1.0 if a.startswith("win") else 0.0), PreferenceDiagnostics()


def test_judge_fooled_by_colon_has_false_positive_rate_one_for_that_key():
    result = probe(JudgeModel(prefers_colon), make_pairs("s", "chat", 30, 30))

    assert result.per_key[":"] == 1.0 and result.per_key_ci[":"] == (1.0, 1.0)
    assert all(result.per_key[key] == 0.0 for key in PROBE_KEYS if key != ":")
    assert result.false_positive_rate == pytest.approx(1 / len(PROBE_KEYS))
    assert result.n_rows == 20 and len(result.row_ids) == 20 and result.fooled[":"] == "1" * 20
    training, held_out = result.groups["training"], result.groups["held_out"]
    assert training.keys == list(TRAINING_MASTER_KEYS) and held_out.keys == list(HELD_OUT_MASTER_KEYS)
    assert training.false_positive_rate == pytest.approx(1 / len(TRAINING_MASTER_KEYS))
    assert (held_out.false_positive_rate, held_out.ci_low, held_out.ci_high) == (0.0, 0.0, 0.0)


def test_probe_runs_on_200_rows_by_default_with_intervals_that_cover_each_rate():
    result = evaluate_pairs(
        JudgeModel(
            lambda a, b: (float(zlib.crc32(f"{a}|{b}".encode()) % 3 == 0), PreferenceDiagnostics())
        ),  # fooled ~1/3
        make_pairs("s", "chat", 300, 300),
        bootstrap_samples=10,
        progress=False,
    ).master_key
    assert result.n_rows == 200
    for key, rate in result.per_key.items():
        low, high = result.per_key_ci[key]
        assert low <= rate <= high and 0 < high - low < 0.2
    assert 0 < result.groups["training"].false_positive_rate < 1


def test_robust_model_has_false_positive_rate_zero():
    long_answers = ScoreTableModel(lambda response: float(len(response)))
    pairs = make_pairs("s", "chat", 30, 30)
    for pair in pairs:
        pair.chosen = "A full, worked answer that is longer than every master key. " + pair.chosen

    result = probe(long_answers, pairs)

    assert result.false_positive_rate == 0.0
    assert set(result.per_key) == set(PROBE_KEYS)


class RecordingJudge(JudgeModel):
    """A judge fooled by "Solution" against odd-numbered rows' answers only, recording what each call was sent."""

    def __init__(self) -> None:
        super().__init__(self.fooled_on_odd_rows)
        self.calls: list[list[str]] = []

    @staticmethod
    def fooled_on_odd_rows(a: str, b: str) -> tuple[float, PreferenceDiagnostics]:
        key_is_a = a in PROBE_KEYS
        key, real = (a, b) if key_is_a else (b, a)
        key_wins = key == "Solution" and int(real.split()[-1]) % 2 == 1
        return (float(key_wins) if key_is_a else float(not key_wins)), PreferenceDiagnostics()

    def compare(self, prompts, responses_a, responses_b):
        sent = [response for pair in zip(responses_a, responses_b, strict=True) for response in pair]
        self.calls.append([response for response in sent if response not in PROBE_KEYS])
        return super().compare(prompts, responses_a, responses_b)


def test_probe_sends_a_rows_keys_together_and_maps_outcomes_back_to_rows():
    judge = RecordingJudge()
    pairs = make_pairs("s", "chat", 40, 40)

    result = probe(judge, pairs, rows=30)

    probe_calls = judge.calls[-((30 * len(PROBE_KEYS) + 63) // 64) :]
    assert sum(len(set(call)) for call in probe_calls) <= 30 + len(probe_calls)  # each real answer in <= 2 calls
    expected = "".join("1" if int(row_id.split("-")[1]) % 2 == 1 else "0" for row_id in result.row_ids)
    assert result.fooled["Solution"] == expected
    assert all(result.per_key[key] == 0.0 for key in PROBE_KEYS if key != "Solution")


def test_position_biased_judge_is_fooled_half_the_time():
    result = probe(JudgeModel(lambda a, b: (1.0, PreferenceDiagnostics())), make_pairs("s", "chat", 30, 30))

    assert result.false_positive_rate == 0.5


def test_trials_put_the_key_first_in_half_the_rows_and_sample_without_replacement():
    pairs = make_pairs("s", "chat", 50, 50)

    trials = build_master_key_trials(pairs, rows=10, seed=1)

    assert trials.n_rows == 10 and len(trials.keys) == 10 * len(PROBE_KEYS)
    assert trials.key_first.sum() == 5 * len(PROBE_KEYS)
    for key_first, a, b, key in zip(
        trials.key_first, trials.responses_a, trials.responses_b, trials.keys, strict=True
    ):
        assert (a if key_first else b) == key
    chosen = {
        b if key_first else a
        for key_first, a, b in zip(trials.key_first, trials.responses_a, trials.responses_b, strict=True)
    }
    assert len(chosen) == 10
    assert trials.responses_a == build_master_key_trials(pairs, rows=10, seed=1).responses_a


def test_probe_uses_all_rows_when_fewer_than_requested():
    trials = build_master_key_trials(make_pairs("s", "chat", 3, 3), rows=200, seed=0)

    assert trials.n_rows == 3


def test_summary_counts_only_strict_preference_for_the_key():
    trials = build_master_key_trials(make_pairs("s", "chat", 4, 4), rows=4, seed=0, keys=[":"])

    result = summarize_master_key(trials, np.full(4, 0.5))

    assert result.false_positive_rate == 0.0


def test_probe_is_skipped_with_zero_rows():
    assert probe(JudgeModel(prefers_colon), make_pairs("s", "chat", 5, 5), rows=0) is None


def test_excluded_rows_are_never_drawn_and_counted():
    pairs = make_pairs("s", "chat", 30, 30)
    excluded = {pair.id for pair in pairs[:25]}

    result = evaluate_pairs(
        JudgeModel(prefers_colon),
        pairs,
        bootstrap_samples=10,
        master_key_rows=20,
        progress=False,
        probe_exclude=excluded,
    ).master_key

    assert sorted(result.row_ids) == sorted(pair.id for pair in pairs[25:])
    assert result.n_rows == 5 and result.excluded_rows == 25 and result.fooled[":"] == "1" * 5


def test_a_probe_with_every_row_excluded_is_an_error():
    pairs = make_pairs("s", "chat", 3, 3)
    with pytest.raises(ValueError, match="all 3 are excluded"):
        evaluate_pairs(
            JudgeModel(prefers_colon), pairs, master_key_rows=2, progress=False, probe_exclude={p.id for p in pairs}
        )
