"""Training data for the CLoud recipes: critique SFT rows, critiqued preference pairs, and one collator for both.

Oracle critiques (GPT-4, ~400 tokens, ending in `Rating: [[N]]`) are longer than the critique budget a 135M model
can afford to write on CPU. `shorten_critique` keeps whole sentences and the closing rating line within the budget,
so SFT targets are what inference can produce: a short critique that ends with a verdict and an end of turn.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from rewardkit.data.critiques import CritiqueRow, critiques_of
from rewardkit.data.schema import PreferencePair
from rewardkit.families.critique_format import CritiqueEncoder, EncodedCritique
from rewardkit.models.token_budget import pad_right

RATING_LINE = re.compile(r"\s*Rating:\s*\[\[\s*\d+(?:\.\d+)?\s*\]\]\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")


def _token_count(tokenizer: PreTrainedTokenizerBase, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def shorten_critique(critique: str, tokenizer: PreTrainedTokenizerBase, max_tokens: int) -> str:
    """The critique unchanged when it fits `max_tokens`, else its longest run of whole leading sentences that fits
    together with its final `Rating: [[N]]` line (a token cut when not even one sentence fits)."""
    if _token_count(tokenizer, critique) <= max_tokens:
        return critique
    rating = RATING_LINE.search(critique)
    body = critique[: rating.start()] if rating else critique
    ending = "\n\n" + rating.group().strip() if rating else ""
    for match in reversed(list(SENTENCE_END.finditer(body))):
        candidate = body[: match.start()].rstrip() + ending
        if _token_count(tokenizer, candidate) <= max_tokens:
            return candidate
    ending_ids = _token_count(tokenizer, ending)
    body_ids = tokenizer(body, add_special_tokens=False)["input_ids"][: max(max_tokens - ending_ids - 1, 1)]
    return tokenizer.decode(body_ids).rstrip() + ending


def _prompt_key(prompt: Any) -> str:
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True)


def oracle_critique_pairs(rows: Sequence[CritiqueRow]) -> list[PreferencePair]:
    """Preference pairs from responses to the same prompt with different gold scores (the higher is chosen), each
    response carrying its oracle critique: off-policy CLoud training data (Ankner et al., arXiv 2408.11791, §4)."""
    by_prompt: dict[str, list[CritiqueRow]] = {}
    for row in rows:
        by_prompt.setdefault(_prompt_key(row.prompt), []).append(row)
    pairs = []
    for group in by_prompt.values():
        for first, second in itertools.combinations(group, 2):
            if first.score == second.score or first.response == second.response:
                continue
            chosen, rejected = (first, second) if first.score > second.score else (second, first)
            pairs.append(_oracle_pair(chosen, rejected))
    return pairs


def _oracle_pair(chosen: CritiqueRow, rejected: CritiqueRow) -> PreferencePair:
    return PreferencePair(
        id=f"{chosen.id}>{rejected.id}",
        prompt=chosen.prompt,
        chosen=chosen.response,
        rejected=rejected.response,
        subset=chosen.scenario or "default",
        label_kind="critic-score",
        extra={
            "chosen_critique": chosen.critique,
            "rejected_critique": rejected.critique,
            "score_margin": chosen.score - rejected.score,
        },
    )


@dataclass
class CritiqueCuts:
    """How many sequences had their prompt, response or critique cut to the token budgets."""

    sequences: int = 0
    prompts_truncated: int = 0
    responses_truncated: int = 0
    critiques_truncated: int = 0

    def add(self, encoded: EncodedCritique) -> None:
        self.sequences += 1
        self.prompts_truncated += bool(encoded.prompt_tokens_dropped)
        self.responses_truncated += bool(encoded.response_tokens_dropped)
        self.critiques_truncated += bool(encoded.critique_tokens_dropped)

    def summary(self) -> str:
        return (
            f"of {self.sequences:,} sequences, {self.prompts_truncated:,} prompts (from the left), "
            f"{self.responses_truncated:,} responses and {self.critiques_truncated:,} critiques (from the right) cut"
        )


def _columns(prefix: str, encoded: EncodedCritique) -> dict[str, Any]:
    return {
        f"{prefix}input_ids": encoded.input_ids,
        f"{prefix}critique_start": encoded.critique_start,
        f"{prefix}critique_end": encoded.critique_end,
    }


def tokenize_critique_rows(rows: Sequence[CritiqueRow], encoder: CritiqueEncoder) -> tuple[Dataset, CritiqueCuts]:
    """SFT examples: prompt + response + request as context, the (already shortened) critique as the target."""
    cuts = CritiqueCuts()
    records = []
    for row in rows:
        encoded = encoder.with_critique(row.prompt, row.response, row.critique)
        cuts.add(encoded)
        records.append({**_columns("", encoded), "length": len(encoded.input_ids)})
    return Dataset.from_list(records), cuts


def tokenize_critiqued_pairs(
    pairs: Sequence[PreferencePair], encoder: CritiqueEncoder
) -> tuple[Dataset, CritiqueCuts]:
    """Chosen and rejected sequences, each with its own critique, for the BT + λ·LM loss."""
    cuts = CritiqueCuts()
    records = []
    for pair in pairs:
        chosen_critique, rejected_critique = critiques_of(pair)
        chosen = encoder.with_critique(pair.prompt, pair.chosen, chosen_critique)
        rejected = encoder.with_critique(pair.prompt, pair.rejected, rejected_critique)
        cuts.add(chosen)
        cuts.add(rejected)
        length = max(len(chosen.input_ids), len(rejected.input_ids))
        records.append({**_columns("chosen_", chosen), **_columns("rejected_", rejected), "length": length})
    return Dataset.from_list(records), cuts


@dataclass
class CritiqueCollator:
    """Right-padded rows plus `critique_mask` (1 on the tokens the LM loss trains). For pairs (sides = ("chosen_",
    "rejected_")) all chosen rows come first, then all rejected rows, so one forward scores both."""

    pad_token_id: int
    sides: tuple[str, ...] = ("",)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rows = [
            (feature[f"{side}input_ids"], feature[f"{side}critique_start"], feature[f"{side}critique_end"])
            for side in self.sides
            for feature in features
        ]
        input_ids, attention_mask = pad_right([ids for ids, _, _ in rows], self.pad_token_id)
        critique_mask = torch.zeros_like(attention_mask)
        for row, (_, start, end) in enumerate(rows):
            critique_mask[row, start:end] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask, "critique_mask": critique_mask}
