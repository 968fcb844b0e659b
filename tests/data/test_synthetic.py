"""The synthetic verifiable-preference generator: correct labels, determinism, disjoint splits, no length cue."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from rewardkit.data import synthetic
from rewardkit.data.synthetic import (
    DEFAULT_TASKS,
    SYNTHETIC_TASKS,
    WORDS,
    Answer,
    TaskExample,
    generate_synthetic_pairs,
    register_synthetic_task,
    synthetic_splits,
)

N = 600


def solve(prompt: str) -> str:
    """Independent reference solver for the built-in task prompts."""
    if match := re.fullmatch(r"What is (\d+) ([-+*]) (\d+)\?", prompt):
        left, operator, right = int(match[1]), match[2], int(match[3])
        return str({"+": left + right, "-": left - right, "*": left * right}[operator])
    if match := re.fullmatch(r"How many times does the letter '(\w)' appear in '(\w+)'\?", prompt):
        return str(match[2].count(match[1]))
    if match := re.fullmatch(r"How many letters are in the word '(\w+)'\?", prompt):
        return str(len(match[1]))
    if match := re.fullmatch(r"Reverse the word '(\w+)'\.", prompt):
        return match[1][::-1]
    if match := re.fullmatch(r"Write the word '(\w+)' in uppercase letters\.", prompt):
        return match[1].upper()
    raise AssertionError(f"unexpected prompt {prompt!r}")


def final_answer(response: str) -> str:
    match = re.search(r"The answer is (\S+)\.$", response)
    assert match, f"no final answer in {response!r}"
    return match[1]


@pytest.fixture(scope="module")
def pairs():
    return generate_synthetic_pairs(N, seed=7)


def test_chosen_is_correct_and_rejected_is_wrong(pairs):
    for pair in pairs:
        assert final_answer(pair.chosen) == solve(pair.prompt) == pair.extra["answer"]
        assert final_answer(pair.rejected) != solve(pair.prompt)


def test_metadata_and_balanced_subsets(pairs):
    assert Counter(pair.subset for pair in pairs) == {"arithmetic": 200, "counting": 200, "string": 200}
    assert {(pair.category, pair.source, pair.label_kind) for pair in pairs} == {
        ("train", "rewardkit-synthetic", "correctness")
    }
    assert len({pair.id for pair in pairs}) == N


def test_every_mistake_kind_occurs(pairs):
    mistakes = Counter(pair.extra["mistake"] for pair in pairs)
    expected = {"off_by_one", "carry_error", "swapped_digits", "wrong_operation", "miscount", "swapped_letters"}
    expected |= {"dropped_letter", "not_reversed", "missed_letter", "capitalized_only"}
    assert set(mistakes) == expected


def test_wrong_numbers_are_near_misses(pairs):
    for pair in pairs:
        if pair.extra["mistake"] in ("off_by_one", "miscount"):
            assert abs(int(final_answer(pair.rejected)) - int(pair.extra["answer"])) == 1


def test_length_is_no_cue(pairs):
    chosen_longer = [len(pair.chosen) > len(pair.rejected) for pair in pairs]
    assert all(len(pair.chosen) != len(pair.rejected) for pair in pairs)
    assert sum(chosen_longer) == N // 2
    for task in DEFAULT_TASKS:  # the fixture draws the default tasks
        in_task = [longer for longer, pair in zip(chosen_longer, pairs, strict=True) if pair.subset == task]
        assert 0.4 < sum(in_task) / len(in_task) < 0.6


def test_responses_are_short(pairs):
    assert max(len(pair.chosen) for pair in pairs) < 160
    assert max(len(pair.rejected) for pair in pairs) < 160


def test_same_seed_same_pairs_other_seed_other_pairs(pairs):
    assert generate_synthetic_pairs(N, seed=7) == pairs
    assert [pair.prompt for pair in generate_synthetic_pairs(N, seed=8)] != [pair.prompt for pair in pairs]


def test_splits_are_disjoint_deterministic_and_eval_prompts_unique():
    train, evaluation = synthetic_splits(900, 300, seed=1)
    assert (len(train), len(evaluation)) == (900, 300)
    eval_prompts = {pair.prompt for pair in evaluation}
    assert len(eval_prompts) == 300
    assert eval_prompts.isdisjoint(pair.prompt for pair in train)
    assert {pair.id for pair in train}.isdisjoint(pair.id for pair in evaluation)
    assert synthetic_splits(900, 300, seed=1) == (train, evaluation)


def test_asking_for_more_unique_eval_prompts_than_exist_is_a_clear_error():
    with pytest.raises(ValueError, match="task 'string' found no unused prompt"):
        synthetic_splits(0, 3 * 4 * len(WORDS), seed=0, tasks=["string"])


def test_task_selection_and_unknown_task():
    assert {pair.subset for pair in generate_synthetic_pairs(10, tasks=["counting"])} == {"counting"}
    with pytest.raises(ValueError, match="unknown or no synthetic tasks \\['poetry'\\]"):
        generate_synthetic_pairs(10, tasks=["poetry"])


def test_registered_task_is_used(monkeypatch):
    def parity_example(rng):
        number = rng.randint(1, 99)
        truth, lie = ("even", "odd") if number % 2 == 0 else ("odd", "even")
        working = f"{number} divided by 2 leaves remainder {number % 2}."
        return TaskExample(f"Is {number} even or odd?", Answer(truth, working), Answer(lie, working), "flipped")

    monkeypatch.setattr(synthetic, "SYNTHETIC_TASKS", dict(SYNTHETIC_TASKS))  # undo the registration afterwards
    register_synthetic_task("parity", parity_example)
    pairs = generate_synthetic_pairs(4, tasks=["parity"])
    assert all(pair.subset == "parity" and pair.prompt.startswith("Is ") for pair in pairs)


def test_word_list_supports_every_string_mistake():
    assert all(len(word) >= 3 and word != word[::-1] and word.isalpha() and word.islower() for word in WORDS)
    assert len(set(WORDS)) == len(WORDS)
