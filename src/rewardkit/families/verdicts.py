"""Reading a judge's verdict: from generated text (sample mode) or from verdict-token logits (logprob mode).

Parsing rule for generated text (documented, deterministic; a failure is reported, never guessed):
  1. Only the generated continuation is parsed; the prompt is never part of the parsed text.
  2. Lines found verbatim in the prompt that hold more than a verdict (quoted instructions such as
     "[[A]] if assistant A is better, [[B]] if ...") are ignored; a bare verdict line ("[[A]]") always counts.
  3. A verdict is a match of the template's verdict pattern whose captured value is one of its verdicts
     (`[[D]]` or `[[11]]` on a 1-10 scale is not well-formed and is ignored).
  4. The verdict is read from the LAST line holding a well-formed verdict. That line must name exactly one
     distinct verdict ("[[A]] or [[B]]?" is ambiguous) and must not ask a question (no "?" after the verdict);
     otherwise the parse fails.
  5. No well-formed verdict at all: the parse fails.
A failed parse is scored as a tie (p = 0.5, or the scale's midpoint) by the judge and flagged in its meta, unless
the judge reads a verdict after the rationale (`verdict_after_rationale`): then a verdict token is read after the
written text and the verdict prefix (the most likely one, or drawn at the sampling temperature), outcome "forced".
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from transformers import PreTrainedTokenizerBase

from rewardkit.families.judge_templates import JudgeTemplate

ParseOutcome = Literal["ok", "no_verdict", "ambiguous", "question", "forced"]


@dataclass(frozen=True)
class ParsedVerdict:
    """The verdict read from one generated judgement, or why none could be read."""

    verdict: str | None
    outcome: ParseOutcome
    rationale: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict is None


QUOTE_MIN_CHARS = 16


def _is_quote(line: str, prompt_text: str | None, pattern: re.Pattern[str]) -> bool:
    """A line found verbatim in the prompt that says more than a verdict (e.g. the format instruction)."""
    stripped = line.strip()
    return bool(prompt_text) and stripped in prompt_text and len(pattern.sub("", stripped).strip()) >= QUOTE_MIN_CHARS


def _well_formed(pattern: re.Pattern[str], line: str, allowed: Sequence[str]) -> list[re.Match[str]]:
    return [match for match in pattern.finditer(line) if match.group(1) in allowed]


def parse_verdict(generated_text: str, template: JudgeTemplate, prompt_text: str | None = None) -> ParsedVerdict:
    """The verdict in a generated judgement by the module's rule; `prompt_text` only identifies quoted lines."""
    pattern = re.compile(template.verdict_pattern)
    lines = generated_text.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if _is_quote(line, prompt_text, pattern):
            continue
        matches = _well_formed(pattern, line, template.candidate_verdicts)
        if not matches:
            continue
        rationale = "\n".join(lines[:index]).strip()
        if len({match.group(1) for match in matches}) > 1:
            return ParsedVerdict(None, "ambiguous", rationale)
        if "?" in line[matches[-1].end() :]:
            return ParsedVerdict(None, "question", rationale)
        return ParsedVerdict(matches[-1].group(1), "ok", rationale)
    return ParsedVerdict(None, "no_verdict", generated_text.strip())


def verdict_token_ids(tokenizer: PreTrainedTokenizerBase, template: JudgeTemplate) -> list[int]:
    """The token that writes each candidate verdict right after the verdict prefix (logprob mode needs one each)."""
    token_ids = []
    for verdict, tokens in verdict_token_sequences(tokenizer, template).items():
        if len(tokens) != 1:
            raise ValueError(
                f"judge template {template.name!r}: verdict {verdict!r} after {template.verdict_prefix!r} is not "
                "a single token for this tokenizer, so logprob mode cannot read it; use mode='sample' or a "
                "template whose verdicts are single tokens (e.g. 'pointwise-1-5' instead of 'pointwise-1-10')"
            )
        token_ids.append(tokens[0])
    return token_ids


def normalized_verdict_probabilities(logprobs: Sequence[float]) -> list[float]:
    """Softmax over the candidate verdicts' log-probabilities: the distribution restricted to the verdicts."""
    peak = max(logprobs)
    weights = [math.exp(value - peak) for value in logprobs]
    total = sum(weights)
    return [weight / total for weight in weights]


def expected_value(template: JudgeTemplate, probabilities: Sequence[float]) -> float:
    """Pairwise: P(first better) with ties counted half. Pointwise: the expected rating."""
    return sum(p * template.verdict_value(v) for p, v in zip(probabilities, template.candidate_verdicts, strict=True))


def choose_verdict(logprobs: Sequence[float], temperature: float, rng: random.Random) -> int:
    """Index of the verdict read after a rationale: the most likely one when greedy (temperature 0), else one drawn
    from the candidates' distribution at that temperature, like any other sampled token."""
    if temperature == 0:
        return max(range(len(logprobs)), key=logprobs.__getitem__)
    weights = normalized_verdict_probabilities([value / temperature for value in logprobs])
    return rng.choices(range(len(logprobs)), weights=weights)[0]


END_OF_VERDICT = -1  # a trie option: the verdict written so far is complete (the suffix comes next)


def verdict_token_sequences(tokenizer: PreTrainedTokenizerBase, template: JudgeTemplate) -> dict[str, list[int]]:
    """The tokens that write each candidate verdict right after the verdict prefix (one or more each, e.g. "10" is
    two for SmolLM2), for reading a verdict constrained to the template's scale."""
    context = "\n" + template.verdict_prefix
    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    sequences = {}
    for verdict in template.candidate_verdicts:
        full_ids = tokenizer(context + verdict, add_special_tokens=False)["input_ids"]
        if full_ids[: len(context_ids)] != context_ids or len(full_ids) == len(context_ids):
            raise ValueError(
                f"judge template {template.name!r}: verdict {verdict!r} does not tokenize as a continuation of "
                f"{template.verdict_prefix!r}, so it cannot be read after a rationale"
            )
        sequences[verdict] = full_ids[len(context_ids) :]
    return sequences


def verdict_options(sequences: dict[str, list[int]], written: list[int]) -> list[int]:
    """The tokens that may follow `written` on the way to a candidate verdict, plus END_OF_VERDICT when `written`
    already is one."""
    options = []
    for tokens in sequences.values():
        if tokens[: len(written)] != written:
            continue
        option = tokens[len(written)] if len(tokens) > len(written) else END_OF_VERDICT
        if option not in options:
            options.append(option)
    return options
