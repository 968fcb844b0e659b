"""Config dataclasses of the three CLoud recipes (Ankner et al. 2024, arXiv 2408.11791, §3): critique SFT on oracle
critiques, regeneration of self-critiques, and Bradley-Terry + λ·LM training on critiqued pairs.

Loaded from YAML with `--set key=value` overrides by rewardkit.training.config.load_config(path, overrides, cls);
unknown keys and wrong types are errors naming the file and line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict

from rewardkit.data.master_keys import MasterKeyNegatives
from rewardkit.families.cloud import CritiqueSamplingConfig
from rewardkit.families.critique_format import CritiqueFormatConfig
from rewardkit.training.config import PRECISION_HELP, DataSourceConfig, LoraAdapterConfig, TrainerConfig
from rewardkit.vocabulary import Precision

_STRICT = ConfigDict(extra="forbid")
AUTOJ_CRITIQUES = "../shared/data/train/autoj_critiques.jsonl"


@dataclass
class CloudBaseConfig(TrainerConfig):
    """What both CLoud training stages share: the starting model, the adapter, the held-out split."""

    __pydantic_config__ = _STRICT

    model: str = field(default="default", metadata={"help": "Model to start from (see each recipe)."})
    output_dir: str = field(
        default="runs/cloud",
        metadata={"help": "Where the model and the training log go (checkpoints: beside it, in OUTPUT.checkpoints)."},
    )
    adapter: Literal["lora", "full"] = field(
        default="full",
        metadata={"help": "'full': train every weight; 'lora': LoRA adapters (merged into the saved model)."},
    )
    lora: LoraAdapterConfig = field(
        default_factory=LoraAdapterConfig, metadata={"help": "LoRA settings (adapter: lora)."}
    )
    skip_bad_rows: bool = field(
        default=False, metadata={"help": "Skip (and log) unreadable rows instead of stopping at the first one."}
    )
    eval_fraction: float = field(
        default=0.05, metadata={"help": "Fraction of the examples held out for evaluation (seeded)."}
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class CritiqueSFTConfig(CloudBaseConfig):
    """Stage 1: teach the backbone to critique (LM loss on oracle critique tokens; prompt and response masked)."""

    model: str = field(
        default="default", metadata={"help": "Backbone: `default` (SmolLM2-135M), a local dir, a GGUF file or Hub id."}
    )
    output_dir: str = field(default="runs/cloud_sft", metadata={"help": "Where the critic is written."})
    critiques: str = field(
        default=AUTOJ_CRITIQUES,
        metadata={"help": "Pointwise critique rows (id, prompt, response, critique, score): the oracle critiques."},
    )
    max_rows: int | None = field(
        default=None, metadata={"help": "Train on at most this many rows (seeded subsample after the split)."}
    )
    max_eval_rows: int | None = field(default=64, metadata={"help": "Cap on held-out rows (seeded subsample)."})
    critique: CritiqueFormatConfig = field(
        default_factory=CritiqueFormatConfig,
        metadata={
            "help": "Critique request and token budgets, saved with the model: stages 2-3 and inference use them."
        },
    )
    shorten_critiques: bool = field(
        default=True,
        metadata={
            "help": "Shorten oracle critiques to whole sentences + their 'Rating: [[N]]' line within "
            "critique.max_new_tokens (false: cut them at that many tokens, mid-sentence)."
        },
    )


@dataclass
class CritiqueGenerationConfig:
    """Stage 2: the stage-1 critic writes one critique per response of every training pair (on-policy critiques)."""

    __pydantic_config__ = _STRICT

    model: str = field(default="runs/cloud_sft", metadata={"help": "The critic: a directory from stage 1."})
    output_dir: str = field(
        default="runs/cloud_critiques",
        metadata={
            "help": "Gets critiques.jsonl (pair fields + chosen_critique + rejected_critique) and generation.json."
        },
    )
    train: list[DataSourceConfig] = field(
        default_factory=list,
        metadata={"help": "Preference pair sources: paths (read_pairs formats) or {path, builder, limit} entries."},
    )
    max_pairs: int | None = field(
        default=None, metadata={"help": "Critique at most this many pairs of all sources (seeded subsample)."}
    )
    skip_bad_rows: bool = field(
        default=False, metadata={"help": "Skip (and log) unreadable rows instead of stopping at the first one."}
    )
    master_key_negatives: MasterKeyNegatives = field(
        default_factory=MasterKeyNegatives,
        metadata={
            "help": "Master-key negatives added to the pairs before they are critiqued (the critic writes their "
            "critiques): {fraction, keys, first_sentence_share}; a bare number is the fraction."
        },
    )
    temperature: float = field(
        default=0.0, metadata={"help": "0: greedy critiques (what inference with num_samples=1 writes); > 0: sampled."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass (1.0: off)."})
    pairs_per_call: int = field(
        default=16, metadata={"help": "Pairs per generation call (2 rows each); also the unit written and resumed."}
    )
    max_batch_rows: int = field(default=32, metadata={"help": "Rows the engine decodes at once."})
    precision: Precision = field(default="auto", metadata={"help": "Generation " + PRECISION_HELP})
    seed: int = field(default=42, metadata={"help": "Seed of the pair subsample and of sampled critiques."})

    def __post_init__(self) -> None:
        self.train = [DataSourceConfig(path=entry) if isinstance(entry, str) else entry for entry in self.train]
        if self.pairs_per_call < 1 or self.max_batch_rows < 1:
            raise ValueError("pairs_per_call and max_batch_rows must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class CritiquedPairSourceConfig(DataSourceConfig):
    """One file of preference pairs that carry a critique per response."""

    builder: Literal["critiques", "oracle"] = field(
        default="critiques",
        metadata={
            "help": "'critiques': critiques.jsonl from `rewardkit train cloud-critiques` (self-critiques); 'oracle': "
            "pointwise critique rows whose responses to one prompt differ in score become pairs carrying their "
            "oracle critiques (the off-policy ablation)."
        },
    )


@dataclass
class CloudConfig(CloudBaseConfig):
    """Stage 3: Bradley-Terry loss on the reward head over (prompt, response, critique) + λ·LM loss on critiques."""

    model: str = field(default="runs/cloud_sft", metadata={"help": "The critic to train on: a stage-1 directory."})
    output_dir: str = field(default="runs/cloud", metadata={"help": "Where the CLoud reward model is written."})
    train: list[CritiquedPairSourceConfig] = field(
        default_factory=list,
        metadata={"help": "Critiqued pair sources: paths (builder 'critiques') or {path, builder, limit} entries."},
    )
    max_train_pairs: int | None = field(
        default=None, metadata={"help": "Cap on training pairs after the split (seeded subsample)."}
    )
    max_eval_pairs: int | None = field(default=128, metadata={"help": "Cap on held-out pairs (seeded subsample)."})
    lm_weight: float = field(
        default=1.25, metadata={"help": "λ in L = L_BT + λ·L_LM (the paper's 1.25); 0 trains the reward head only."}
    )
    center_rewards_coefficient: float | None = field(
        default=None,
        metadata={"help": "Weight of mean((r_c + r_r)^2), reward centering (Eisenstein et al. 2023, 2312.09244)."},
    )
    sampling: CritiqueSamplingConfig = field(
        default_factory=CritiqueSamplingConfig,
        metadata={"help": "Default inference sampling saved with the model (num_samples, temperature, top_p, seed)."},
    )

    def __post_init__(self) -> None:
        self.train = [
            CritiquedPairSourceConfig(path=entry) if isinstance(entry, str) else entry for entry in self.train
        ]
        if self.lm_weight < 0:
            raise ValueError(f"lm_weight must be >= 0, got {self.lm_weight}")
