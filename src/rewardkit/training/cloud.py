"""CLoud training stages 1 and 3 through the transformers Trainer (Ankner et al. 2024, arXiv 2408.11791, §3).

Stage 1 (`train_critique_sft`): next-token loss on the oracle critique tokens only; prompt, response and the
critique request are context. Stage 3 (`train_cloud`): L = L_BT + λ·L_LM, the Bradley-Terry loss on the reward head
over (prompt, response, critique) of chosen and rejected, plus λ times the LM loss on those critiques (λ = 1.25 in
the paper), chosen and rejected in one forward. Stage 2 (self-critique regeneration) is rewardkit.training.
cloud_critiques. Checkpoints hold the trainable tensors (every weight, or LoRA + head) and resume exactly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from datasets import Dataset
from safetensors.torch import load_file, save_file
from transformers import TrainerCallback, set_seed

from rewardkit.data.critiques import CritiqueRow, read_critique_rows, read_critiqued_pairs
from rewardkit.data.errors import DataError
from rewardkit.data.schema import PreferencePair
from rewardkit.families.cloud import CloudNetwork, CloudRewardModel
from rewardkit.machine_errors import writing
from rewardkit.training import distributed
from rewardkit.training.bt_data import seeded_subsample, split_held_out
from rewardkit.training.cloud_config import CloudBaseConfig, CloudConfig, CritiquedPairSourceConfig, CritiqueSFTConfig
from rewardkit.training.cloud_data import (
    CritiqueCollator,
    oracle_critique_pairs,
    shorten_critique,
    tokenize_critique_rows,
    tokenize_critiqued_pairs,
)
from rewardkit.training.config import RESOLVED_CONFIG_NAME
from rewardkit.training.pairwise_trainer import (
    LOG_NAME,
    BradleyTerryTrainer,
    JsonlLogCallback,
    bradley_terry_loss,
    checkpoints_dir,
    pairwise_metrics,
    resume_checkpoint,
    run_trainer,
    trainer_recipe_arguments,
)

logger = logging.getLogger(__name__)

TRAINABLE_STATE_FILE = "trainable_state.safetensors"
PAIR_SIDES = ("chosen_", "rejected_")


def critique_lm_loss(critique_logits: torch.Tensor, critique_labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over every critique token of the batch."""
    return F.cross_entropy(critique_logits.float(), critique_labels)


def cloud_loss(
    rewards_chosen: torch.Tensor,
    rewards_rejected: torch.Tensor,
    critique_logits: torch.Tensor | None,
    critique_labels: torch.Tensor | None,
    lm_weight: float,
    center_rewards_coefficient: float | None = None,
) -> torch.Tensor:
    """L_BT + λ·L_LM (arXiv 2408.11791, §3): −log σ(r_c − r_r) averaged over pairs, plus λ times the critique LM loss
    (no LM term when λ = 0)."""
    loss = bradley_terry_loss(rewards_chosen, rewards_rejected, center_rewards_coefficient=center_rewards_coefficient)
    if lm_weight:
        loss = loss + lm_weight * critique_lm_loss(critique_logits, critique_labels)
    return loss


def trainable_state(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The tensors training changes (tied weights once), as contiguous CPU copies for safetensors."""
    return {
        name: parameter.detach().cpu().contiguous()
        for name, parameter in network.named_parameters()
        if parameter.requires_grad
    }


class CloudStageTrainer(BradleyTerryTrainer):
    """A BT trainer (bf16 autocast in training and evaluation) whose checkpoints hold the CloudNetwork's trainable
    tensors: the network is no PreTrainedModel, and its tied embeddings would stop a plain safetensors dump."""

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        path = Path(output_dir or self.args.output_dir)
        path.mkdir(parents=True, exist_ok=True)
        save_file(trainable_state(self.model), path / TRAINABLE_STATE_FILE)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: torch.nn.Module | None = None) -> None:
        model = model or self.model
        state = load_file(Path(resume_from_checkpoint) / TRAINABLE_STATE_FILE)
        missing = sorted(set(trainable_state(model)) - set(state))
        if missing:
            raise ValueError(
                f"{resume_from_checkpoint} lacks {len(missing)} trainable tensors (e.g. {missing[0]}): it was written "
                "with another adapter setting; resume with the same config"
            )
        model.load_state_dict(state, strict=False)


class CritiqueSFTTrainer(CloudStageTrainer):
    """Stage 1: the LM loss on critique tokens only; evaluation reports that loss."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        output = model(**inputs)
        loss = critique_lm_loss(output.critique_logits, output.critique_labels)
        return (loss, output.rewards) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None


class CloudTrainer(CloudStageTrainer):
    """Stage 3: BT on the rewards of [chosen; rejected] + λ·LM on their critiques, from one forward pass."""

    def __init__(self, *args: Any, lm_weight: float = 1.25, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lm_weight = lm_weight

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        critique_mask = inputs["critique_mask"] if self.lm_weight else None
        output = model(inputs["input_ids"], inputs["attention_mask"], critique_mask)
        rewards_chosen, rewards_rejected = output.rewards.float().chunk(2)
        loss = cloud_loss(
            rewards_chosen,
            rewards_rejected,
            output.critique_logits,
            output.critique_labels,
            self.lm_weight,
            self.center_rewards_coefficient,
        )
        return (loss, torch.stack([rewards_chosen, rewards_rejected], dim=1)) if return_outputs else loss


@dataclass
class ExampleCounts:
    """What a stage trained and evaluated on: examples, truncation counts, and examples per source."""

    train: int
    eval: int
    cuts: dict[str, int]
    sources: dict[str, int] = field(default_factory=dict)


@dataclass
class StageData:
    """The tokenized train and held-out sets of a stage, with their counts."""

    train_set: Dataset
    eval_set: Dataset | None
    counts: ExampleCounts


@dataclass
class StageResult:
    """Where a CLoud stage wrote its model and log, what it trained on, and its final evaluation metrics."""

    model_dir: str
    log_path: str
    examples: ExampleCounts
    eval_metrics: dict[str, float]
    global_step: int
    runtime_s: float


def add_lora(network: CloudNetwork, config: CloudBaseConfig) -> None:
    """Wrap the backbone in LoRA adapters when `adapter: lora` (the reward head stays a fully trained module)."""
    if config.adapter != "lora":
        return
    from peft import LoraConfig, get_peft_model

    settings = config.lora
    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
    )
    network.language_model = get_peft_model(network.language_model, lora)


def merge_lora(network: CloudNetwork) -> None:
    """Fold LoRA adapters into the backbone weights, so the saved model is a plain causal LM."""
    from peft import PeftModel

    if isinstance(network.language_model, PeftModel):
        network.language_model = network.language_model.merge_and_unload()


def shortened(rows: Sequence[CritiqueRow], reward_model: CloudRewardModel) -> list[CritiqueRow]:
    """Rows whose critiques fit the model's critique budget (whole sentences + the rating line)."""
    budget = reward_model.critique_format.max_new_tokens
    tokenizer = reward_model.tokenizer
    return [dataclasses.replace(row, critique=shorten_critique(row.critique, tokenizer, budget)) for row in rows]


def _run_stage(
    config: CloudBaseConfig,
    reward_model: CloudRewardModel,
    data: StageData,
    trainer_class: type[CloudStageTrainer],
    *,
    checkpoint: str | None,
    started: float,
    callbacks: list[TrainerCallback] | None,
    **trainer_options: Any,
) -> StageResult:
    """Train `reward_model.network` with `trainer_class` (from `checkpoint` when resuming), then merge LoRA and save
    the model and the run files."""
    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    has_eval = data.eval_set is not None
    trainer = trainer_class(
        model=reward_model.network,
        args=trainer_recipe_arguments(config, checkpoints_dir(output), has_eval=has_eval),
        train_dataset=data.train_set,
        eval_dataset=data.eval_set,
        callbacks=[JsonlLogCallback(output / LOG_NAME), *(callbacks or [])],
        **trainer_options,
    )
    metrics = run_trainer(trainer, checkpoint, has_eval=has_eval)
    merge_lora(reward_model.network)
    result = StageResult(
        model_dir=str(output),
        log_path=str(output / LOG_NAME),
        examples=data.counts,
        eval_metrics=metrics,
        global_step=trainer.state.global_step,
        runtime_s=time.monotonic() - started,
    )
    distributed.on_main_process(lambda: _save_stage(output, config, result, reward_model))
    return result


def _save_stage(output: Path, config: CloudBaseConfig, result: StageResult, reward_model: CloudRewardModel) -> None:
    """The model, the resolved recipe and the result, written once (by rank 0 of a multi-process run)."""
    with writing(output, "model"):
        reward_model.save(output)
    (output / RESOLVED_CONFIG_NAME).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    (output / "train_result.json").write_text(json.dumps(asdict(result), indent=2) + "\n")


def _checkpoint_to_resume(config: CloudBaseConfig, resume: bool) -> str | None:
    """Checked before any loading: resuming needs a checkpoint, a fresh run must not overwrite one."""
    return resume_checkpoint(checkpoints_dir(config.output_dir), resume)


def _tokenized(
    train: Sequence[Any], held_out: Sequence[Any], tokenize: Callable[[Sequence[Any]], tuple[Dataset, Any]]
) -> StageData:
    train_set, cuts = tokenize(train)
    logger.info("training examples: %s", cuts.summary())
    eval_set = tokenize(held_out)[0] if held_out else None
    return StageData(train_set, eval_set, ExampleCounts(len(train), len(held_out), asdict(cuts)))


def sft_data(config: CritiqueSFTConfig, reward_model: CloudRewardModel, rows: Sequence[CritiqueRow]) -> StageData:
    """Split (seeded), subsample and tokenize critique rows; oracle critiques shortened to the budget if asked."""
    rows = shortened(rows, reward_model) if config.shorten_critiques else list(rows)
    train, held_out = split_held_out(rows, config.eval_fraction, config.seed)
    train = seeded_subsample(train, config.max_rows, config.seed)
    held_out = seeded_subsample(held_out, config.max_eval_rows, config.seed)
    logger.info("critique SFT on %d rows, evaluating on %d rows", len(train), len(held_out))
    return _tokenized(train, held_out, lambda items: tokenize_critique_rows(items, reward_model.encoder))


def train_critique_sft(
    config: CritiqueSFTConfig,
    *,
    resume: bool = False,
    rows: Sequence[CritiqueRow] | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> StageResult:
    """Stage 1: a fresh CLoud model (backbone + seeded reward head) SFT-ed to write critiques; saved to output_dir.

    `rows` replaces the file named by `config.critiques` (for in-memory data)."""
    started = time.monotonic()
    distributed.initialize()
    checkpoint = _checkpoint_to_resume(config, resume)
    set_seed(config.seed)
    reward_model = CloudRewardModel.from_backbone(config.model, config.critique, seed=config.seed, precision="fp32")
    source = config.critiques if rows is None else "rows passed in"
    rows = rows if rows is not None else read_critique_rows(config.critiques, config.skip_bad_rows)
    data = sft_data(config, reward_model, rows)
    data.counts.sources = {source: len(rows)}
    reward_model.network.reward_head.requires_grad_(False)
    add_lora(reward_model.network, config)
    collator = CritiqueCollator(pad_token_id=reward_model.tokenizer.pad_token_id)
    return _run_stage(
        config,
        reward_model,
        data,
        CritiqueSFTTrainer,
        checkpoint=checkpoint,
        started=started,
        callbacks=callbacks,
        data_collator=collator,
    )


def read_critiqued_source(
    source: CritiquedPairSourceConfig, reward_model: CloudRewardModel, skip_bad_rows: bool
) -> list[PreferencePair]:
    """The critiqued pairs of one source: a critiques.jsonl as written by stage 2, or oracle pairs built from
    pointwise critique rows (critiques shortened to the model's budget)."""
    if source.builder == "oracle":
        return oracle_critique_pairs(shortened(read_critique_rows(source.path, skip_bad_rows), reward_model))
    pairs = read_critiqued_pairs(source.path, skip_bad_rows)
    if not pairs:
        raise DataError(source.path, "has no critiqued pairs", hint="Run `rewardkit train cloud-critiques` first.")
    return pairs


def critiqued_pair_data(
    config: CloudConfig, reward_model: CloudRewardModel
) -> tuple[list[PreferencePair], list[PreferencePair], dict[str, int]]:
    """(train, held out, pairs per source): sources read and limited, then split and capped exactly as
    `rewardkit train bt` does, so classic BT on the same critiques.jsonl trains and evaluates on the same pairs."""
    pool: list[PreferencePair] = []
    counts: dict[str, int] = {}
    for index, source in enumerate(config.train):
        pairs = read_critiqued_source(source, reward_model, config.skip_bad_rows)
        pairs = seeded_subsample(pairs, source.limit, config.seed + index)
        counts[f"{source.path} ({source.builder})"] = len(pairs)
        pool.extend(pairs)
    if not pool:
        raise ValueError("no training pairs: set `train` to critiques.jsonl files or {path, builder: oracle} entries")
    train, held_out = split_held_out(pool, config.eval_fraction, config.seed)
    train = seeded_subsample(train, config.max_train_pairs, config.seed)
    held_out = seeded_subsample(held_out, config.max_eval_pairs, config.seed)
    logger.info("CLoud training on %d pairs, evaluating on %d pairs", len(train), len(held_out))
    return train, held_out, counts


def train_cloud(
    config: CloudConfig,
    *,
    resume: bool = False,
    pairs: tuple[Sequence[PreferencePair], Sequence[PreferencePair]] | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> StageResult:
    """Stage 3: BT + λ·LM training of a stage-1 critic on critiqued pairs; saved to output_dir.

    `pairs` = (train, eval) critiqued pairs replaces the config's sources (for in-memory data)."""
    started = time.monotonic()
    distributed.initialize()
    checkpoint = _checkpoint_to_resume(config, resume)
    set_seed(config.seed)
    reward_model = CloudRewardModel.load(config.model, sampling_overrides=asdict(config.sampling), precision="fp32")
    if pairs is None:
        train, held_out, counts = critiqued_pair_data(config, reward_model)
    else:
        (train, held_out), counts = pairs, {}
    data = _tokenized(train, held_out, lambda items: tokenize_critiqued_pairs(items, reward_model.encoder))
    data.counts.sources = counts
    add_lora(reward_model.network, config)
    collator = CritiqueCollator(pad_token_id=reward_model.tokenizer.pad_token_id, sides=PAIR_SIDES)
    return _run_stage(
        config,
        reward_model,
        data,
        CloudTrainer,
        checkpoint=checkpoint,
        started=started,
        callbacks=callbacks,
        data_collator=collator,
        compute_metrics=pairwise_metrics,
        lm_weight=config.lm_weight,
        center_rewards_coefficient=config.center_rewards_coefficient,
    )
