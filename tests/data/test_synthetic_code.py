"""Synthetic code pairs: every correct function agrees with its reference, every planted bug changes behaviour."""

from __future__ import annotations

import random

import pytest

from rewardkit.data.synthetic import generate_synthetic_pairs
from rewardkit.data.synthetic_code import CODE_TASKS, draw_code_task

SEEDS = range(12)


def run(code: str, name: str, args: tuple) -> object:
    namespace: dict = {}
    exec(code, namespace)  # our own generated snippets
    try:
        return namespace[name](*args)
    except Exception as error:  # a bug may crash; that is a different outcome, not a test failure
        return f"raised {type(error).__name__}"


def tasks():
    return [(make.__name__, seed, make(random.Random(seed))) for make in CODE_TASKS for seed in SEEDS]


@pytest.mark.parametrize(("name", "seed", "task"), tasks(), ids=lambda value: str(value)[:20])
def test_correct_code_matches_reference_and_prompt_example(name, seed, task):
    for args in task.cases:
        assert run(task.code, task.name, args) == task.reference(*args), (name, seed, args)
    example_line, expected_line = task.prompt.splitlines()[-2:]
    assert example_line.startswith(f">>> {task.name}(")
    arguments = eval(f"({example_line[len(f'>>> {task.name}(') : -1]},)")
    assert expected_line == repr(run(task.code, task.name, arguments))


@pytest.mark.parametrize(("name", "seed", "task"), tasks(), ids=lambda value: str(value)[:20])
def test_every_bug_edits_the_code_and_fails_a_case(name, seed, task):
    for mistake, old, _ in task.bugs:
        assert task.code.count(old) >= 1, (name, mistake)
        buggy = task.buggy(mistake)
        assert buggy != task.code
        outcomes = [run(buggy, task.name, args) == task.reference(*args) for args in task.cases]
        assert not all(outcomes), f"{name} seed {seed}: bug {mistake} passes every case"


def test_pairs_prefer_the_correct_function_and_carry_no_length_cue():
    pairs = generate_synthetic_pairs(200, seed=3, tasks=["code"])
    assert {pair.subset for pair in pairs} == {"code"}
    for pair in pairs:
        chosen, rejected = (
            text.replace("\n# " + pair.prompt.splitlines()[1], "") for text in (pair.chosen, pair.rejected)
        )
        assert chosen == pair.extra["answer"] and rejected != chosen
    chosen_longer = sum(len(pair.chosen) > len(pair.rejected) for pair in pairs)
    assert 70 <= chosen_longer <= 130
    assert len({pair.extra["mistake"] for pair in pairs}) >= 20


def test_draws_are_seeded():
    first = [draw_code_task(random.Random(5))[0].prompt for _ in range(2)]
    assert first[0] == first[1]
    assert len({draw_code_task(random.Random(seed))[0].prompt for seed in range(60)}) >= 30
