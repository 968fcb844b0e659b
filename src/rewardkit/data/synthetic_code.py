"""Synthetic verifiable code pairs: a correct Python function vs the same function with one planted bug.

The answers are bare code, as in HumanEvalPack ("Write a Python function `def f(x)` ... >>> f(1)"): a reward model
trained only on prose and worked arithmetic has never seen an answer that is just a function, and prefers a lone
"Step 1:" to one (docs/RESULTS.md, issue 17). Each task has a reference implementation and test inputs, so
tests/data/test_synthetic_code.py can run every correct answer (it must agree with the reference) and every bug (it
must disagree on some input).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise


@dataclass(frozen=True)
class CodeTask:
    """A function to write: its prompt, the correct code, bugs as (mistake, text to replace, replacement) edits of
    that code, and what tests need to check it (a reference implementation and argument tuples)."""

    name: str
    prompt: str
    code: str
    bugs: tuple[tuple[str, str, str], ...]
    reference: Callable[..., object]
    cases: tuple[tuple, ...] = field(default_factory=tuple)

    def buggy(self, mistake: str) -> str:
        """The code with one bug planted."""
        _, old, new = next(bug for bug in self.bugs if bug[0] == mistake)
        return self.code.replace(old, new, 1)


def _task(
    signature: str,
    description: str,
    example: tuple,
    cases: tuple[tuple, ...],
    reference: Callable[..., object],
    code: str,
    bugs: tuple[tuple[str, str, str], ...],
) -> CodeTask:
    """The task, its prompt in HumanEvalPack's form: the signature, the description, one example call and result."""
    name = signature.split("(")[0]
    arguments = ", ".join(repr(value) for value in example)
    prompt = (
        f"Write a Python function `def {signature}` to solve the following problem:\n{description}\n"
        f">>> {name}({arguments})\n{reference(*example)!r}"
    )
    return CodeTask(name, prompt, code, bugs, reference, cases)


def sum_above(rng: random.Random) -> CodeTask:
    limit = rng.randint(2, 9)
    code = (
        f"\ndef sum_above(numbers):\n    total = 0\n    for n in numbers:\n        if n > {limit}:\n"
        "            total += n\n    return total\n"
    )
    bugs = (
        ("boundary", f"n > {limit}", f"n >= {limit}"),
        ("flipped_comparison", f"n > {limit}", f"n < {limit}"),
        ("counts_instead_of_sums", "total += n", "total += 1"),
    )

    def reference(numbers):
        return sum(n for n in numbers if n > limit)

    example = ([1, limit, limit + 3, limit + 5],)
    cases = (example, ([limit, limit, 0],), ([],), ([limit + 1, -4, limit - 1],))
    description = f"Return the sum of the numbers in the list that are greater than {limit}."
    return _task("sum_above(numbers)", description, example, cases, reference, code, bugs)


def count_divisible(rng: random.Random) -> CodeTask:
    divisor = rng.randint(2, 7)
    code = (
        f"\ndef count_divisible(numbers):\n    count = 0\n    for n in numbers:\n        if n % {divisor} == 0:\n"
        "            count += 1\n    return count\n"
    )
    bugs = (
        ("wrong_remainder", f"n % {divisor} == 0", f"n % {divisor} == 1"),
        ("wrong_start", "count = 0", "count = 1"),
        ("negated_test", f"n % {divisor} == 0", f"n % {divisor} != 0"),
    )

    def reference(numbers):
        return sum(1 for n in numbers if n % divisor == 0)

    example = ([divisor, divisor + 1, 2 * divisor, 1],)
    cases = (example, ([],), ([1, divisor * 3 + 1],), ([0, divisor],))
    description = f"Count how many numbers in the list are divisible by {divisor}."
    return _task("count_divisible(numbers)", description, example, cases, reference, code, bugs)


def is_sorted(rng: random.Random) -> CodeTask:
    strict = rng.random() < 0.5
    comparison = ">=" if strict else ">"
    code = (
        "\ndef is_sorted(values):\n    for i in range(len(values) - 1):\n"
        f"        if values[i] {comparison} values[i + 1]:\n            return False\n    return True\n"
    )
    other = ">" if strict else ">="
    bugs = (
        ("misses_last_pair", "range(len(values) - 1)", "range(len(values) - 2)"),
        ("boundary", f"values[i] {comparison} values[i + 1]", f"values[i] {other} values[i + 1]"),
        ("flipped_comparison", f"values[i] {comparison} values[i + 1]", "values[i] < values[i + 1]"),
    )

    def reference(values):
        return all(a < b if strict else a <= b for a, b in pairwise(values))

    order = "strictly increasing" if strict else "in non-decreasing order"
    example = ([1, 2, 2, 5],)
    cases = (example, ([3, 1],), ([1, 4, 9],), ([1, 2, 7, 6],), ([],))
    description = f"Return True if the list is {order}, and False otherwise."
    return _task("is_sorted(values)", description, example, cases, reference, code, bugs)


def factorial(rng: random.Random) -> CodeTask:
    code = (
        "\ndef factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n        result *= i\n    return result\n"
    )
    bugs = (
        ("off_by_one", "range(2, n + 1)", "range(2, n)"),
        ("wrong_start", "result = 1", "result = 0"),
        ("adds_instead_of_multiplies", "result *= i", "result += i"),
    )

    example = (rng.randint(3, 6),)
    cases = (example, (0,), (1,), (5,), (7,))
    description = "Return the factorial of the non-negative integer n."
    return _task("factorial(n)", description, example, cases, math.factorial, code, bugs)


def fibonacci(rng: random.Random) -> CodeTask:
    code = "\ndef fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
    bugs = (
        ("returns_next_term", "    return a", "    return b"),
        ("off_by_one", "range(n)", "range(n - 1)"),
        ("wrong_start", "a, b = 0, 1", "a, b = 1, 1"),
    )

    def reference(n):
        terms = [0, 1]
        while len(terms) <= n:
            terms.append(terms[-1] + terms[-2])
        return terms[n]

    example = (rng.randint(5, 10),)
    cases = (example, (1,), (2,), (6,), (9,))
    description = "Return the n-th Fibonacci number (fibonacci(0) is 0, fibonacci(1) is 1)."
    return _task("fibonacci(n)", description, example, cases, reference, code, bugs)


def count_vowels(rng: random.Random) -> CodeTask:
    code = (
        "\ndef count_vowels(text):\n    count = 0\n    for letter in text.lower():\n"
        '        if letter in "aeiou":\n            count += 1\n    return count\n'
    )
    bugs = (
        ("case_sensitive", "text.lower()", "text"),
        ("missing_vowel", '"aeiou"', '"aeio"'),
        ("counts_consonants", 'letter in "aeiou"', 'letter not in "aeiou"'),
    )

    def reference(text):
        return sum(1 for letter in text.lower() if letter in "aeiou")

    word = rng.choice(("Banana", "Ocean", "umbrella", "Igloo", "education", "Audio"))
    cases = ((word,), ("sky",), ("AEIOU",), ("bUtter cup",))
    description = "Count the vowels (a, e, i, o, u, in upper or lower case) in the text."
    return _task("count_vowels(text)", description, (word,), cases, reference, code, bugs)


def index_of_first(rng: random.Random) -> CodeTask:
    code = (
        "\ndef index_of_first(values, target):\n    for i in range(len(values)):\n        if values[i] == target:\n"
        "            return i\n    return -1\n"
    )
    bugs = (
        ("skips_first", "range(len(values))", "range(1, len(values))"),
        ("wrong_default", "    return -1", "    return 0"),
        ("returns_value", "            return i", "            return values[i]"),
    )

    def reference(values, target):
        return values.index(target) if target in values else -1

    target = rng.randint(1, 9)
    example = ([target + 2, target, target], target)
    cases = (example, ([target], target), ([], target), ([5, 7], 9), ([4, 4, target + 10], target + 10))
    description = "Return the index of the first element equal to target, or -1 if there is none."
    return _task("index_of_first(values, target)", description, example, cases, reference, code, bugs)


def is_prime(rng: random.Random) -> CodeTask:
    code = (
        "\ndef is_prime(n):\n    if n < 2:\n        return False\n    for d in range(2, int(n ** 0.5) + 1):\n"
        "        if n % d == 0:\n            return False\n    return True\n"
    )
    bugs = (
        ("misses_square_root", "int(n ** 0.5) + 1", "int(n ** 0.5)"),
        ("wrong_small_case", "if n < 2:", "if n < 1:"),
        ("wrong_range", "range(2, int(n ** 0.5) + 1)", "range(3, int(n ** 0.5) + 1)"),
    )

    def reference(n):
        return n >= 2 and all(n % d for d in range(2, n))

    example = (rng.choice((7, 9, 11, 15, 17, 21)),)
    cases = (example, (1,), (4,), (9,), (13,), (25,), (8,))
    description = "Return True if n is a prime number, and False otherwise."
    return _task("is_prime(n)", description, example, cases, reference, code, bugs)


def clip_values(rng: random.Random) -> CodeTask:
    low = rng.randint(0, 3)
    high = low + rng.randint(3, 6)
    code = (
        f"\ndef clip_values(values):\n    result = []\n    for v in values:\n        if v < {low}:\n"
        f"            result.append({low})\n        elif v > {high}:\n            result.append({high})\n"
        "        else:\n            result.append(v)\n    return result\n"
    )
    bugs = (
        ("swapped_bounds", f"result.append({low})", f"result.append({high})"),
        ("drops_values", "            result.append(v)", "            pass"),
        ("wrong_upper_test", f"v > {high}", f"v > {low}"),
    )

    def reference(values):
        return [min(max(v, low), high) for v in values]

    example = ([low - 1, low + 1, high + 2],)
    cases = (example, ([],), ([high, low],), ([high + 5, low + 2],))
    description = (
        f"Return the list with every value below {low} replaced by {low} and every value above {high} by {high}."
    )
    return _task("clip_values(values)", description, example, cases, reference, code, bugs)


def reverse_words(rng: random.Random) -> CodeTask:
    code = '\ndef reverse_words(sentence):\n    words = sentence.split()\n    return " ".join(reversed(words))\n'
    bugs = (
        ("reverses_letters", 'return " ".join(reversed(words))', "return sentence[::-1]"),
        ("keeps_order", 'return " ".join(reversed(words))', 'return " ".join(words)'),
        ("drops_spaces", '" ".join(reversed(words))', '"".join(reversed(words))'),
    )

    def reference(sentence):
        return " ".join(sentence.split()[::-1])

    sentence = rng.choice(("the quick brown fox", "hello world", "red green blue", "one two three four"))
    cases = ((sentence,), ("a b",), ("single",), ("x y z",))
    description = "Return the sentence with the order of its words reversed (words are separated by spaces)."
    return _task("reverse_words(sentence)", description, (sentence,), cases, reference, code, bugs)


CODE_TASKS: tuple[Callable[[random.Random], CodeTask], ...] = (
    sum_above,
    count_divisible,
    is_sorted,
    factorial,
    fibonacci,
    count_vowels,
    index_of_first,
    is_prime,
    clip_values,
    reverse_words,
)


def draw_code_task(rng: random.Random) -> tuple[CodeTask, str]:
    """A seeded task and the mistake to plant in its wrong answer."""
    task = rng.choice(CODE_TASKS)(rng)
    return task, rng.choice(task.bugs)[0]
