"""Tokenize preference pairs once (our truncation, not the trainer's filtering) and batch chosen + rejected together.

TRL's RewardTrainer drops every example longer than max_length; here every pair is kept and cut the way scoring
cuts it (prompt from the left, response by the configured `response_truncation` mode), and the cuts are counted
and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from rewardkit.data.schema import PreferencePair
from rewardkit.models.chat import TruncationConfig, encode_prompt_response
from rewardkit.models.shared_prefix import pack_pair, packed_attention_mask, packed_pair_length
from rewardkit.models.token_budget import pad_right

_PAIR_FIELDS = {item.name for item in fields(PreferencePair)} - {"extra"}


@dataclass
class TruncationCounts:
    """How many pairs had their prompt cut and how many responses (chosen or rejected) were cut."""

    pairs: int = 0
    prompts_truncated: int = 0
    responses_truncated: int = 0
    response_truncation: str = "keep_start"

    def summary(self) -> str:
        return (
            f"{self.prompts_truncated:,} of {self.pairs:,} prompts truncated (from the left), "
            f"{self.responses_truncated:,} of {2 * self.pairs:,} responses truncated ({self.response_truncation})"
        )


def pair_margin(pair: PreferencePair, margin: float, margin_field: str | None) -> float:
    """The constant margin plus the pair's own margin field (an attribute or a key of `extra`), when configured."""
    if margin_field is None:
        return margin
    value = getattr(pair, margin_field) if margin_field in _PAIR_FIELDS else pair.extra.get(margin_field)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(
            f"pair {pair.id!r}: margin_field {margin_field!r} is {value!r}, not a number; "
            "give every pair that field or unset margin_field"
        )
    return margin + float(value)


def tokenize_pairs(
    pairs: Sequence[PreferencePair],
    tokenizer: PreTrainedTokenizerBase,
    truncation: TruncationConfig,
    *,
    margin: float = 0.0,
    margin_field: str | None = None,
    packed: bool = False,
) -> tuple[Dataset, TruncationCounts]:
    """A Dataset of chosen/rejected token ids (+ margin, + length for length grouping: the longer side, or the
    packed row's tokens when `packed`) and the truncation counts."""
    columns: dict[str, list[Any]] = {"chosen_input_ids": [], "rejected_input_ids": [], "margin": [], "length": []}
    counts = TruncationCounts(pairs=len(pairs), response_truncation=truncation.response_truncation)
    for pair in pairs:
        chosen = encode_prompt_response(tokenizer, pair.prompt, pair.chosen, truncation)
        rejected = encode_prompt_response(tokenizer, pair.prompt, pair.rejected, truncation)
        counts.prompts_truncated += bool(chosen.prompt_tokens_dropped or rejected.prompt_tokens_dropped)
        counts.responses_truncated += bool(chosen.response_tokens_dropped) + bool(rejected.response_tokens_dropped)
        columns["chosen_input_ids"].append(chosen.input_ids)
        columns["rejected_input_ids"].append(rejected.input_ids)
        columns["margin"].append(pair_margin(pair, margin, margin_field))
        columns["length"].append(
            packed_pair_length(chosen.input_ids, rejected.input_ids)
            if packed
            else max(len(chosen.input_ids), len(rejected.input_ids))
        )
    return Dataset.from_dict(columns), counts


@dataclass
class PairwiseCollator:
    """Chosen sequences then rejected sequences in ONE right-padded batch of 2B rows, so one forward scores both."""

    pad_token_id: int

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        sequences = [feature["chosen_input_ids"] for feature in features]
        sequences += [feature["rejected_input_ids"] for feature in features]
        input_ids, attention_mask = pad_right(sequences, self.pad_token_id)
        margins = torch.tensor([float(feature.get("margin", 0.0)) for feature in features], dtype=torch.float32)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "margin": margins}


@dataclass
class PackedPairCollator:
    """One right-padded row per pair: the prompt once, then chosen's and rejected's own tokens, each seeing the
    prompt and itself (models/shared_prefix.pack_pair); `chosen_end`/`rejected_end` index each side's last token,
    where its reward is read. Same rewards as PairwiseCollator's rows, fewer tokens."""

    pad_token_id: int

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rows = [pack_pair(feature["chosen_input_ids"], feature["rejected_input_ids"]) for feature in features]
        input_ids, _ = pad_right([row.tokens for row in rows], self.pad_token_id)
        positions, _ = pad_right([row.positions for row in rows], 0)
        segments, _ = pad_right([row.segments for row in rows], -1)
        margins = torch.tensor([float(feature.get("margin", 0.0)) for feature in features], dtype=torch.float32)
        return {
            "input_ids": input_ids,
            "position_ids": positions,
            "attention_mask": packed_attention_mask(segments),
            "chosen_end": torch.tensor([row.ends[0] for row in rows], dtype=torch.long),
            "rejected_end": torch.tensor([row.ends[1] for row in rows], dtype=torch.long),
            "margin": margins,
        }
