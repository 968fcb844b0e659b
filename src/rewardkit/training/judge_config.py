"""Config dataclasses of the generative-judge recipes (GenRM, STaR-SFT/-Rationalizer/-DPO, Self-Rationalization).

Loaded from YAML with `--set key=value` overrides by rewardkit.training.config.load_config(path, overrides, cls);
unknown keys and wrong types are errors naming the file and line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict

from rewardkit.data.master_keys import MasterKeyNegatives
from rewardkit.training.config import (
    PRECISION_HELP,
    DataSourceConfig,
    LoraAdapterConfig,
    OptimizerConfig,
    TrainerIntegrationsConfig,
)
from rewardkit.vocabulary import Precision

_STRICT = ConfigDict(extra="forbid")


def stage_optimizer(**settings: Any) -> OptimizerConfig:
    """The default optimizer block of a judge training stage (warmup 5% unless `settings` say otherwise)."""
    return OptimizerConfig(**{"warmup_ratio": 0.05, **settings})


@dataclass
class JudgeSamplingConfig:
    """How the current judge writes rationales in a self-training round (HFEngine: one prefill, K samples)."""

    __pydantic_config__ = _STRICT

    num_samples: int = field(default=4, metadata={"help": "Rationale+verdict samples per judge prompt (K)."})
    temperature: float = field(default=0.8, metadata={"help": "Sampling temperature (> 0: the samples must differ)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass (1.0 = off)."})
    max_new_tokens: int = field(default=128, metadata={"help": "Token budget of one rationale plus its verdict."})
    prompts_per_call: int = field(
        default=8, metadata={"help": "Judge prompts per engine call (rows = this x K); the progress bar's unit."}
    )

    def __post_init__(self) -> None:
        if self.num_samples < 1 or self.prompts_per_call < 1 or self.max_new_tokens < 1:
            raise ValueError("sampling: num_samples, prompts_per_call and max_new_tokens must be >= 1")
        if self.temperature <= 0:
            raise ValueError(f"sampling.temperature must be > 0 to draw different rationales, got {self.temperature}")


@dataclass
class JudgeBaseConfig(TrainerIntegrationsConfig):
    """What every judge recipe shares: the model, the judge prompt, the adapter and the trainer's precision."""

    __pydantic_config__ = _STRICT

    model: str = field(
        default="default", metadata={"help": "Judge backbone: `default` (SmolLM2-135M), a local dir or a Hub id."}
    )
    output_dir: str = field(default="runs/judge", metadata={"help": "Where the judge and the round logs are written."})
    template: str = field(
        default="pairwise", metadata={"help": "Judge template (rewardkit.families.judge_templates) used to train."}
    )
    templates_file: str | None = field(
        default=None, metadata={"help": "YAML of templates to register first; copied into the saved judge."}
    )
    adapter: Literal["lora", "full"] = field(
        default="lora", metadata={"help": "'lora': LoRA adapters merged after each round; 'full': every weight."}
    )
    lora: LoraAdapterConfig = field(
        default_factory=LoraAdapterConfig, metadata={"help": "LoRA settings (adapter: lora)."}
    )
    max_field_tokens: int = field(
        default=192, metadata={"help": "Cut each question/answer in the judge prompt to this (the judge's rule)."}
    )
    max_length: int = field(
        default=768,
        metadata={"help": "Tokens per judge prompt + target; longer examples are dropped and counted, never cut."},
    )
    precision: Precision = field(default="auto", metadata={"help": PRECISION_HELP})
    logging_steps: int = field(default=5, metadata={"help": "Log the training loss every N steps."})
    seed: int = field(default=42, metadata={"help": "Seed of data order, A/B orders, subsampling and sampling."})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PairwiseJudgeBaseConfig(JudgeBaseConfig):
    """Pairwise judges trained on preference pairs: sources, A/B orders and master-key negatives."""

    train: list[DataSourceConfig] = field(
        default_factory=list,
        metadata={"help": "Preference pair sources: paths (read_pairs formats) or {path, builder, limit} entries."},
    )
    skip_bad_rows: bool = field(
        default=False, metadata={"help": "Skip (and log) unreadable rows instead of stopping."}
    )
    max_train_pairs: int | None = field(
        default=None, metadata={"help": "Cap on pairs after mixing the sources (seeded subsample)."}
    )
    both_orders: bool = field(
        default=False,
        metadata={"help": "Present each pair as (A,B) and (B,A); else one seeded order, chosen first in half."},
    )
    master_key_negatives: MasterKeyNegatives = field(
        default_factory=MasterKeyNegatives,
        metadata={
            "help": "Master-key negatives (Master-RM): {fraction, keys, first_sentence_share}; a number: the fraction."
        },
    )
    training: OptimizerConfig = field(default_factory=stage_optimizer, metadata={"help": "Optimizer of each round."})

    def __post_init__(self) -> None:
        self.train = [DataSourceConfig(path=entry) if isinstance(entry, str) else entry for entry in self.train]


@dataclass
class GenRMConfig(PairwiseJudgeBaseConfig):
    """Direct GenRM (Mahan et al. 2024, arXiv 2410.12832): SFT on the verdict token only."""

    template: str = field(
        default="pairwise-direct", metadata={"help": "A verdict-only template; the judge is saved in logprob mode."}
    )


@dataclass
class StarConfig(PairwiseJudgeBaseConfig):
    """STaR self-training of a CoT judge (arXiv 2410.12832): rounds of sample, filter, train."""

    rounds: int = field(default=2, metadata={"help": "Self-training rounds, each sampling from the current model."})
    sampling: JudgeSamplingConfig = field(
        default_factory=JudgeSamplingConfig, metadata={"help": "Rationale sampling settings."}
    )
    inference_num_samples: int = field(
        default=1, metadata={"help": "Votes per judged prompt the saved judge uses by default (sample mode)."}
    )
    balance_labels: bool = field(
        default=True,
        metadata={"help": "Cut kept records to equal counts per verdict (a biased judge agrees mostly on one)."},
    )
    verdict_after_rationale: bool = field(
        default=True,
        metadata={
            "help": "A rationale without a readable verdict gets the most likely verdict token after it (a small "
            "model rarely writes `[[A]]` itself); the saved judge reads verdicts the same way."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")


@dataclass
class StarSFTConfig(StarConfig):
    """STaR-SFT: keep the sampled rationales whose verdict agrees with the label, then SFT on them."""

    keep_per_prompt: int = field(
        default=1, metadata={"help": "Agreeing rationales kept per judge prompt (distinct texts, first drawn first)."}
    )


@dataclass
class StarRationalizerConfig(StarSFTConfig):
    """STaR-Rationalizer: prompts no sample got right are sampled again with the label as a hint (STaR, arXiv
    2203.14465, section 3.2); the kept rationales are trained on the un-hinted prompt."""

    hint_samples: int = field(default=2, metadata={"help": "Hinted samples per prompt that no plain sample solved."})


@dataclass
class StarDPOConfig(StarConfig):
    """STaR-DPO: agreeing vs disagreeing rationales of the same judge prompt become DPO pairs."""

    beta: float = field(default=0.1, metadata={"help": "DPO beta (strength of the pull toward the reference)."})
    pairs_per_prompt: int = field(default=1, metadata={"help": "DPO pairs built per judge prompt at most."})
    reject_unparsed: bool = field(
        default=True, metadata={"help": "Samples without a readable verdict may serve as the rejected side."}
    )


@dataclass
class SelfRationalizeConfig(JudgeBaseConfig):
    """Self-Rationalization (Trivedi et al. 2024, arXiv 2410.05495): a pointwise judge improves its own rationales
    by iterative DPO on pairs of its judgements, closest to the gold score vs far from it."""

    template: str = field(
        default="pointwise-1-10", metadata={"help": "Pointwise template whose scale matches the gold scores."}
    )
    data: str = field(
        default="../shared/data/train/autoj_critiques.jsonl",
        metadata={"help": "Rows with prompt, response, score (gold rating) and critique (for the SFT stage)."},
    )
    eval_rows: int = field(default=60, metadata={"help": "Held-out rows (seeded) for agreement with gold."})
    sft_rows: int | None = field(
        default=200, metadata={"help": "Rows for SFT on the critiques (0: skip the SFT stage; None: all left)."}
    )
    dpo_rows: int = field(default=96, metadata={"help": "Rows judged each DPO round (the same rows every round)."})
    max_critique_tokens: int = field(
        default=112,
        metadata={"help": "Critiques are cut to this many tokens at a sentence end, then get their rating line."},
    )
    rounds: int = field(default=2, metadata={"help": "DPO iterations, each sampling from the current model."})
    sampling: JudgeSamplingConfig = field(
        default_factory=JudgeSamplingConfig, metadata={"help": "Judgement sampling settings."}
    )
    verdict_after_rationale: bool = field(
        default=False,
        metadata={
            "help": "A judgement without a readable rating gets one written after its rationale and `Rating: [[` "
            "(counted as forced; DPO pairs then carry the canonical rating line); the saved judge reads the same way."
        },
    )
    pair_margin: float = field(
        default=2.0,
        metadata={"help": "The rejected rating must be this much farther from gold than the chosen one."},
    )
    beta: float = field(default=0.1, metadata={"help": "DPO beta."})
    sft: OptimizerConfig = field(default_factory=stage_optimizer, metadata={"help": "Optimizer of the SFT stage."})
    dpo: OptimizerConfig = field(
        default_factory=lambda: stage_optimizer(learning_rate=2e-5, per_device_train_batch_size=2),
        metadata={"help": "Optimizer of each DPO round."},
    )
    evaluate_stages: bool = field(
        default=True, metadata={"help": "Measure agreement with gold before training and after every stage."}
    )
    eval_max_new_tokens: int = field(
        default=128, metadata={"help": "Token budget of one greedy evaluation judgement."}
    )

    def __post_init__(self) -> None:
        if self.rounds < 0 or self.eval_rows < 0 or self.dpo_rows < 1:
            raise ValueError("rounds and eval_rows must be >= 0 and dpo_rows >= 1")
