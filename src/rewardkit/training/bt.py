"""The Bradley-Terry recipe: build the reward model, read and tokenize its pairs, train it with the shared pairwise
trainer (rewardkit.training.pairwise_trainer: loss, checkpoints, resuming) and save model, recipe and result."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from transformers import TrainerCallback, set_seed

from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.machine_errors import writing
from rewardkit.models.chat import TruncationConfig
from rewardkit.training import distributed
from rewardkit.training.bt_data import BTData, build_bt_data
from rewardkit.training.collate import PackedPairCollator, PairwiseCollator, tokenize_pairs
from rewardkit.training.config import RESOLVED_CONFIG_NAME, BTConfig
from rewardkit.training.pairwise_trainer import (
    LOG_NAME,
    BradleyTerryTrainer,
    JsonlLogCallback,
    checkpoints_dir,
    pairwise_metrics,
    resume_checkpoint,
    run_trainer,
    trainer_recipe_arguments,
)

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """Where a BT run wrote its model and log, what it trained on, and its final evaluation metrics."""

    model_dir: str
    log_path: str
    train_pairs: int
    eval_pairs: int
    truncation: dict[str, int]
    eval_metrics: dict[str, float] = field(default_factory=dict)
    global_step: int = 0
    runtime_s: float = 0.0
    source_counts: dict[str, int] = field(default_factory=dict)
    pair_packing: bool = False


def build_reward_model(config: BTConfig) -> ScalarRewardModel:
    """A fresh seeded score head on the backbone, wrapped in LoRA adapters when `adapter: lora`."""
    truncation = TruncationConfig(
        max_length=config.max_length,
        max_response_length=config.max_response_length,
        response_truncation=config.response_truncation,
        text_format=config.text_format,
    )
    reward_model = ScalarRewardModel.from_backbone(config.model, seed=config.seed, truncation=truncation)
    if config.adapter == "lora":
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            task_type="SEQ_CLS",
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=list(config.lora.target_modules),
            modules_to_save=["score"],
        )
        reward_model.model = get_peft_model(reward_model.model, lora)
    return reward_model


def resolve_pair_packing(setting: str, reward_model: ScalarRewardModel) -> bool:
    """Whether pairs are packed (a pair's prompt read once) for `pair_packing` = auto | on | off."""
    if setting == "on" and not reward_model.packs_rows:
        raise ValueError(
            f"pair_packing: on needs a classifier with a `score` head under SDPA attention and no sliding window; "
            f"{reward_model.base_model} is not one (set pair_packing: auto or off)"
        )
    return setting == "on" or (setting == "auto" and reward_model.shares_prefixes)


def _tokenized(data: BTData, reward_model: ScalarRewardModel, config: BTConfig, packed: bool):
    """(train dataset, eval dataset or None, train truncation counts), with the counts logged."""
    options = {"margin": config.margin, "margin_field": config.margin_field, "packed": packed}
    train_set, counts = tokenize_pairs(data.train, reward_model.tokenizer, reward_model.truncation, **options)
    logger.info("training pairs: %s", counts.summary())
    eval_set = None
    if data.eval:
        eval_set, eval_counts = tokenize_pairs(data.eval, reward_model.tokenizer, reward_model.truncation, **options)
        logger.info("evaluation pairs: %s", eval_counts.summary())
    return train_set, eval_set, counts


def _log_packing(train_set, packed: bool) -> None:
    if not packed:
        logger.info("pair packing: off (each side read whole, the prompt twice)")
        return
    packed_tokens = sum(train_set["length"])
    whole = sum(len(ids) for column in ("chosen_input_ids", "rejected_input_ids") for ids in train_set[column])
    logger.info(
        "pair packing: on, a pair's prompt read once (%s tokens per epoch instead of %s, %.2fx fewer)",
        f"{packed_tokens:,}",
        f"{whole:,}",
        whole / max(packed_tokens, 1),
    )


def _save_run(output: Path, config: BTConfig, result: TrainResult, reward_model: ScalarRewardModel) -> None:
    """The model, the resolved recipe and the result, written once (by rank 0 of a multi-process run)."""
    with writing(output, "model"):
        reward_model.save(output)
    (output / RESOLVED_CONFIG_NAME).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    (output / "train_result.json").write_text(json.dumps(asdict(result), indent=2) + "\n")


def train_bt(
    config: BTConfig,
    *,
    resume: bool = False,
    data: BTData | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> TrainResult:
    """Train a Bradley-Terry reward model as `config` says and save it as one rewardkit directory (output_dir).

    `data` replaces the pairs the config's sources would give (for in-memory pairs); `callbacks` go to the Trainer
    (one with a `bind_trainer` method is handed the Trainer before training, e.g. to re-plan its steps).
    """
    started = time.monotonic()
    distributed.initialize()
    output = Path(config.output_dir)
    checkpoint = resume_checkpoint(checkpoints_dir(output), resume)
    output.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    data = data or build_bt_data(config)
    reward_model = build_reward_model(config)
    packed = resolve_pair_packing(config.pair_packing, reward_model)
    train_set, eval_set, counts = _tokenized(data, reward_model, config, packed)
    _log_packing(train_set, packed)
    collator = PackedPairCollator if packed else PairwiseCollator
    trainer = BradleyTerryTrainer(
        model=reward_model.model,
        args=trainer_recipe_arguments(config, checkpoints_dir(output), has_eval=eval_set is not None),
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=collator(pad_token_id=reward_model.tokenizer.pad_token_id),
        compute_metrics=pairwise_metrics,
        callbacks=[JsonlLogCallback(output / LOG_NAME), *(callbacks or [])],
        center_rewards_coefficient=config.center_rewards_coefficient,
    )
    for callback in callbacks or []:
        if hasattr(callback, "bind_trainer"):
            callback.bind_trainer(trainer)
    metrics = run_trainer(trainer, checkpoint, has_eval=eval_set is not None)
    result = TrainResult(
        model_dir=str(output),
        log_path=str(output / LOG_NAME),
        train_pairs=len(data.train),
        eval_pairs=len(data.eval),
        truncation=asdict(counts),
        eval_metrics=metrics,
        global_step=trainer.state.global_step,
        runtime_s=time.monotonic() - started,
        source_counts=data.source_counts,
        pair_packing=packed,
    )
    distributed.on_main_process(lambda: _save_run(output, config, result, reward_model))
    return result
