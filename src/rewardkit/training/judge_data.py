"""Training data of generative judges: judge prompts rendered by the judge itself, so training and inference match.

Pairwise: preference pairs (plus optional master-key negatives) become judge prompts in a seeded, balanced A/B order
(or both orders) with the verdict the label asks for. Pointwise: rated rows (prompt, response, gold score,
critique) become judge prompts with their gold rating; critiques are shortened to the sampling budget.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transformers import PreTrainedTokenizerBase

from rewardkit.data.master_keys import NegativeCounts, add_master_key_negatives
from rewardkit.data.readers import read_pointwise_rows
from rewardkit.data.schema import PreferencePair
from rewardkit.data.slices import assign_positions
from rewardkit.families.generative import GenerativeJudge, WrittenJudgement
from rewardkit.families.judge_templates import JudgeTemplate
from rewardkit.families.verdicts import parse_verdict
from rewardkit.metrics.agreement import gold_rating
from rewardkit.protocol import Prompt
from rewardkit.training.bt_data import read_source, seeded_subsample, split_off
from rewardkit.training.judge_config import PairwiseJudgeBaseConfig

logger = logging.getLogger(__name__)

SENTENCE_END = re.compile(r"[.!?](?=\s)")


@dataclass(frozen=True)
class PairwiseExample:
    """One pair shown in one order: the rendered judge prompt and the verdict its label asks for."""

    pair_id: str
    prompt: Prompt
    response_a: str
    response_b: str
    text: str
    label: str


@dataclass(frozen=True)
class PointwiseExample:
    """One rated response: the rendered judge prompt, the gold rating and the reference critique (if any)."""

    item_id: str
    prompt: Prompt
    response: str
    text: str
    gold: float
    critique: str | None = None


def verdict_text(template: JudgeTemplate, verdict: str) -> str:
    """The verdict as the template writes it, e.g. `[[A]]` or `Rating: [[7]]`."""
    return f"{template.verdict_prefix}{verdict}{template.verdict_suffix}"


def judgement_text(template: JudgeTemplate, rationale: str, verdict: str) -> str:
    """A training target in the template's format: the rationale, then the verdict on the last line."""
    line = verdict_text(template, verdict)
    return f"{rationale.strip()}\n{line}" if rationale.strip() else line


def canonical_completion(template: JudgeTemplate, written: WrittenJudgement) -> str:
    """A sampled judgement as a training target: parsed ones rewritten as rationale + verdict line (anything after
    the verdict dropped), unparsed ones as written."""
    if written.parsed.failed:
        return written.text.strip()
    return judgement_text(template, written.parsed.rationale, written.parsed.verdict)


# ---- pairwise ----------------------------------------------------------------------------------------------------
def read_judge_pairs(config: PairwiseJudgeBaseConfig) -> tuple[list[PreferencePair], NegativeCounts]:
    """The recipe's preference pairs (every source read, mixed, capped, seeded) with its master-key negatives added,
    and how many negatives were added."""
    pairs: list[PreferencePair] = []
    for index, source in enumerate(config.train):
        pairs += read_source(source, skip_bad_rows=config.skip_bad_rows, seed=config.seed + index)
    if not pairs:
        raise ValueError("no training pairs: set `train` (a list of paths or {path, builder, limit} entries)")
    pairs = seeded_subsample(pairs, config.max_train_pairs, config.seed)
    return add_master_key_negatives(pairs, config.master_key_negatives, config.seed)


def pairwise_examples(
    judge: GenerativeJudge, pairs: Sequence[PreferencePair], both_orders: bool, seed: int
) -> list[PairwiseExample]:
    """Judge prompts of the pairs, chosen first in a seeded half (or every pair in both orders), with their labels."""
    first, second = judge.template.verdicts
    chosen_first = assign_positions(len(pairs), seed)
    examples = []
    for pair, is_first in zip(pairs, chosen_first, strict=True):
        orders = [True, False] if both_orders else [bool(is_first)]
        for shown_first in orders:
            a, b = (pair.chosen, pair.rejected) if shown_first else (pair.rejected, pair.chosen)
            text = judge.pair_prompts(pair.prompt, a, b)[0][0]
            examples.append(PairwiseExample(pair.id, pair.prompt, a, b, text, first if shown_first else second))
    return examples


def genrm_records(examples: Sequence[PairwiseExample], template: JudgeTemplate) -> list[dict[str, str]]:
    """Direct GenRM SFT targets: the verdict alone (`[[A]]`), whose first token is the one logprob mode reads."""
    return [{"prompt": example.text, "completion": verdict_text(template, example.label)} for example in examples]


# ---- pointwise ---------------------------------------------------------------------------------------------------
def read_rated_rows(path: str) -> list[dict[str, Any]]:
    """Rows with prompt, response and a numeric gold `score` (errors name the row)."""
    rows = read_pointwise_rows(path)
    for row in rows:
        row["gold"] = gold_rating(row.get("score"), f"{path} row {row['id']!r}")
    return rows


def split_rows(rows: Sequence[dict[str, Any]], held_out: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(training rows, held-out rows): a seeded shuffle, the first `held_out` rows held out."""
    if held_out >= len(rows):
        raise ValueError(f"eval_rows={held_out} leaves no training rows out of {len(rows)}")
    return split_off(rows, held_out, seed)


def pointwise_examples(judge: GenerativeJudge, rows: Sequence[dict[str, Any]]) -> list[PointwiseExample]:
    """Pointwise judge prompts of rated rows, rendered by the judge (its field clipping and rubric)."""
    return [
        PointwiseExample(
            row["id"],
            row["prompt"],
            row["response"],
            judge.item_prompt(row["prompt"], row["response"])[0],
            row["gold"],
            row.get("critique"),
        )
        for row in rows
    ]


def cut_at_sentence(text: str, tokenizer: PreTrainedTokenizerBase, budget: int) -> str:
    """The longest start of `text` within `budget` tokens that ends a sentence (else the token cut itself)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= budget:
        return text.strip()
    head = tokenizer.decode(ids[:budget])
    ends = [match.end() for match in SENTENCE_END.finditer(head + " ")]
    return (head[: ends[-1]] if ends else head).strip()


def critique_record(
    example: PointwiseExample, template: JudgeTemplate, tokenizer: PreTrainedTokenizerBase, budget: int
) -> dict[str, str] | None:
    """SFT record of a reference critique: its rationale cut to `budget` tokens, then the gold rating line; None when
    the critique has no readable rating (the row is skipped and counted)."""
    if not example.critique:
        return None
    parsed = parse_verdict(example.critique, template)
    if parsed.failed:
        return None
    rationale = cut_at_sentence(parsed.rationale, tokenizer, budget)
    gold = str(int(example.gold)) if float(example.gold).is_integer() else str(example.gold)
    return {"prompt": example.text, "completion": judgement_text(template, rationale, gold)}
