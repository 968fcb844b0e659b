"""Seeded synthetic verifiable preferences: a correct answer vs a plausible wrong one, so rewardkit runs offline.

Each task draws a prompt with a checkable answer and a near-miss mistake (off-by-one, swapped digits, wrong
operation, miscount, almost-reversed string, ...). Exactly half of the pairs give the correct response the longer
form (with a one-line working), so response length carries no signal about correctness.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from rewardkit.data.schema import PreferencePair
from rewardkit.data.synthetic_code import draw_code_task

SOURCE = "rewardkit-synthetic"
DEFAULT_TASKS = ("arithmetic", "counting", "string")  # "code" (Python functions) is opt-in
MAX_DRAWS_PER_PAIR = 10_000

WORDS = tuple(
    """
    apple bread chair dance eagle flame grape house juice knife lemon mango night ocean piano queen river
    snake table uncle voice water zebra actor beach cloud dream earth field ghost heart image jelly koala
    light money north orbit paper quiet robot sugar tiger umbra virus whale young cat dog sun cup box hat
    pen map key egg ant bee owl fox cow pig bird fish frog lamp milk nest rain seed star tree wind yarn
    book coin door fire gold hill iron jump kite lake moon nose rose ship sand wolf banana carrot dragon
    forest garden hammer island jacket kitten ladder market needle orange pepper rabbit silver tomato
    turtle window yellow button candle desert finger guitar helmet insect jungle kettle letter mirror
    pillow planet rocket saddle spring summer winter bottle strawberry blanket chicken dolphin giraffe
    library mustard penguin teacher blossom cabbage balloon coffee butter cookie pretzel muffin puzzle
    apricot sparrow lobster hollow
    """.split()
)


@dataclass(frozen=True)
class Answer:
    """A value plus the one-line working that leads to it."""

    value: str
    working: str

    def brief(self) -> str:
        return f"The answer is {self.value}."

    def worked(self) -> str:
        return f"{self.working} The answer is {self.value}."


@dataclass(frozen=True)
class CodeAnswer(Answer):
    """A function as the whole answer (`value`); the worked form puts a comment saying what it does above it."""

    def brief(self) -> str:
        return self.value

    def worked(self) -> str:
        return f"\n# {self.working}{self.value}"


@dataclass(frozen=True)
class TaskExample:
    """A prompt with its correct answer and a plausible wrong one (and the kind of mistake)."""

    prompt: str
    correct: Answer
    wrong: Answer
    mistake: str


TaskGenerator = Callable[[random.Random], TaskExample]


def arithmetic_example(rng: random.Random) -> TaskExample:
    """Single/double-digit +, -, * with off-by-one, carry, swapped-digit or wrong-operation mistakes."""
    operator = rng.choice("+-*")
    left, right = _operands(operator, rng)
    result = _apply(operator, left, right)
    mistake, wrong_operator, wrong_result = rng.choice(_arithmetic_mistakes(operator, left, right, result, rng))
    return TaskExample(
        prompt=f"What is {left} {operator} {right}?",
        correct=Answer(str(result), f"{left} {operator} {right} = {result}."),
        wrong=Answer(str(wrong_result), f"{left} {wrong_operator} {right} = {wrong_result}."),
        mistake=mistake,
    )


def counting_example(rng: random.Random) -> TaskExample:
    """Count a letter's occurrences or a word's letters; the wrong answer misses by one."""
    word = rng.choice(WORDS)
    if rng.random() < 0.5:
        letter = rng.choice(sorted(set(word)))
        prompt = f"How many times does the letter '{letter}' appear in '{word}'?"
        count = word.count(letter)
        working = partial(_letter_count_working, word, letter)
    else:
        prompt = f"How many letters are in the word '{word}'?"
        count = len(word)
        working = partial(_word_length_working, word)
    miscount = count + 1 if count == 1 else count + rng.choice((-1, 1))
    return TaskExample(
        prompt=prompt,
        correct=Answer(str(count), working(count)),
        wrong=Answer(str(miscount), working(miscount)),
        mistake="miscount",
    )


def string_example(rng: random.Random) -> TaskExample:
    """Reverse or uppercase a short word; the wrong answer is almost right."""
    word = rng.choice(WORDS)
    if rng.random() < 0.5:
        target, (mistake, wrong) = word[::-1], _almost_reversed(word, rng)
        prompt = f"Reverse the word '{word}'."
        working = f"Reading '{word}' from its last letter to its first gives '{{result}}'."
    else:
        target, (mistake, wrong) = word.upper(), _almost_uppercase(word, rng)
        prompt = f"Write the word '{word}' in uppercase letters."
        working = f"Capitalizing every letter of '{word}' gives '{{result}}'."
    return TaskExample(
        prompt=prompt,
        correct=Answer(target, working.format(result=target)),
        wrong=Answer(wrong, working.format(result=wrong)),
        mistake=mistake,
    )


def code_example(rng: random.Random) -> TaskExample:
    """A small Python function (rewardkit.data.synthetic_code); the wrong answer has one planted bug."""
    task, mistake = draw_code_task(rng)
    comment = task.prompt.split("\n")[1]
    return TaskExample(
        prompt=task.prompt,
        correct=CodeAnswer(task.code, comment),
        wrong=CodeAnswer(task.buggy(mistake), comment),
        mistake=mistake,
    )


SYNTHETIC_TASKS: dict[str, TaskGenerator] = {
    "arithmetic": arithmetic_example,
    "counting": counting_example,
    "string": string_example,
    "code": code_example,
}


def register_synthetic_task(name: str, generator: TaskGenerator) -> None:
    """Add a task: a function of a seeded random.Random returning a TaskExample."""
    SYNTHETIC_TASKS[name] = generator


def generate_synthetic_pairs(n: int, seed: int = 0, tasks: Sequence[str] = DEFAULT_TASKS) -> list[PreferencePair]:
    """`n` verifiable pairs, tasks in turn, deterministic for a seed (prompts may repeat for large n)."""
    return _generate(n, random.Random(seed), tasks, id_prefix=f"synthetic-s{seed}", excluded=set(), unique=False)


def synthetic_splits(
    n_train: int, n_eval: int, seed: int = 0, tasks: Sequence[str] = DEFAULT_TASKS
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """(train, eval) with disjoint prompt sets; eval prompts are also unique within eval."""
    eval_prompts: set[str] = set()
    eval_rng, train_rng = random.Random(f"{seed}-eval"), random.Random(f"{seed}-train")
    eval_pairs = _generate(
        n_eval, eval_rng, tasks, id_prefix=f"synthetic-eval-s{seed}", excluded=eval_prompts, unique=True
    )
    train_pairs = _generate(
        n_train, train_rng, tasks, id_prefix=f"synthetic-train-s{seed}", excluded=frozenset(eval_prompts), unique=False
    )
    return train_pairs, eval_pairs


def _generate(
    n: int,
    rng: random.Random,
    tasks: Sequence[str],
    *,
    id_prefix: str,
    excluded: set[str] | frozenset[str],
    unique: bool,
) -> list[PreferencePair]:
    _check_request(n, tasks)
    correct_is_longer = [index < n // 2 for index in range(n)]
    rng.shuffle(correct_is_longer)
    pairs = []
    for index in range(n):
        task = tasks[index % len(tasks)]
        example = _draw_new_example(task, rng, excluded, unique)
        pairs.append(_to_pair(example, task, f"{id_prefix}-{index}", correct_is_longer[index]))
    return pairs


def _draw_new_example(task: str, rng: random.Random, excluded: set[str] | frozenset[str], unique: bool) -> TaskExample:
    for _ in range(MAX_DRAWS_PER_PAIR):
        example = SYNTHETIC_TASKS[task](rng)
        if example.prompt not in excluded:
            if unique:
                excluded.add(example.prompt)
            return example
    raise ValueError(
        f"synthetic task '{task}' found no unused prompt in {MAX_DRAWS_PER_PAIR:,} draws: it has too few distinct "
        "prompts for this many eval pairs; ask for fewer eval pairs"
    )


def _to_pair(example: TaskExample, task: str, pair_id: str, correct_is_longer: bool) -> PreferencePair:
    chosen = example.correct.worked() if correct_is_longer else example.correct.brief()
    rejected = example.wrong.brief() if correct_is_longer else example.wrong.worked()
    return PreferencePair(
        id=pair_id,
        prompt=example.prompt,
        chosen=chosen,
        rejected=rejected,
        subset=task,
        category="train",
        source=SOURCE,
        label_kind="correctness",
        extra={"answer": example.correct.value, "mistake": example.mistake},
    )


def _check_request(n: int, tasks: Sequence[str]) -> None:
    if n < 0:
        raise ValueError(f"number of pairs must be >= 0, got {n}")
    unknown = [task for task in tasks if task not in SYNTHETIC_TASKS]
    if unknown or not tasks:
        raise ValueError(f"unknown or no synthetic tasks {list(unknown)}; choose from {sorted(SYNTHETIC_TASKS)}")


def _operands(operator: str, rng: random.Random) -> tuple[int, int]:
    if operator == "*":
        return rng.randint(2, 12), rng.randint(2, 12)
    if operator == "-":
        left = rng.randint(10, 60)
        return left, rng.randint(1, left - 1)
    return rng.randint(1, 50), rng.randint(1, 50)


def _apply(operator: str, left: int, right: int) -> int:
    return {"+": left + right, "-": left - right, "*": left * right}[operator]


def _arithmetic_mistakes(
    operator: str, left: int, right: int, result: int, rng: random.Random
) -> list[tuple[str, str, int]]:
    """(mistake, operator shown in the working, wrong result) candidates, all non-negative and != result."""
    mistakes = [("off_by_one", operator, result + 1 if result == 0 else result + rng.choice((-1, 1)))]
    if result >= 10:
        mistakes.append(("carry_error", operator, result + rng.choice((-10, 10))))
    swapped = int(str(result)[::-1])
    if result >= 10 and result % 10 != 0 and swapped != result:
        mistakes.append(("swapped_digits", operator, swapped))
    for other in "+-*":
        value = _apply(other, left, right)
        if other != operator and 0 <= value < 200 and value != result:
            mistakes.append(("wrong_operation", other, value))
    return mistakes


def _letter_count_working(word: str, letter: str, count: int) -> str:
    return (
        f"Spelled out, '{word}' is {'-'.join(word)}, and '{letter}' appears {count} time{'' if count == 1 else 's'}."
    )


def _word_length_working(word: str, count: int) -> str:
    return f"Spelled out, '{word}' is {'-'.join(word)}, which is {count} letters."


def _almost_reversed(word: str, rng: random.Random) -> tuple[str, str]:
    """A near-miss reversal: two adjacent letters swapped, one letter dropped, or the word left as it was."""
    target = word[::-1]
    swappable = [index for index in range(len(target) - 1) if target[index] != target[index + 1]]
    position = rng.choice(swappable)
    swapped = target[:position] + target[position + 1] + target[position] + target[position + 2 :]
    dropped_at = rng.randrange(1, len(target) - 1)
    candidates = [("swapped_letters", swapped), ("dropped_letter", target[:dropped_at] + target[dropped_at + 1 :])]
    candidates.append(("not_reversed", word))
    return rng.choice(candidates)


def _almost_uppercase(word: str, rng: random.Random) -> tuple[str, str]:
    """A near-miss uppercasing: one letter left lowercase, or only the first letter capitalized."""
    position = rng.randrange(len(word))
    missed = word.upper()[:position] + word[position] + word.upper()[position + 1 :]
    return rng.choice([("missed_letter", missed), ("capitalized_only", word.capitalize())])
