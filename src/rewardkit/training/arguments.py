"""The one builder of transformers TrainingArguments (and of TRL's SFTConfig/DPOConfig, its subclasses) for every
recipe: the shared optimizer block, the precision, seeding, logging, and CPU when there is no CUDA."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from transformers import TrainingArguments

from rewardkit.models.device import pick_device
from rewardkit.models.precision import resolve_precision
from rewardkit.training.config import OptimizerConfig, TrainerIntegrationsConfig

ArgumentsT = TypeVar("ArgumentsT", bound=TrainingArguments)


def use_bf16(precision: str) -> bool:
    """bf16 mixed precision for a recipe's `precision` on the device training will use."""
    return resolve_precision(precision, pick_device()) == "bf16"


def training_arguments(
    optimizer: OptimizerConfig,
    output_dir: str | Path,
    *,
    precision: str,
    logging_steps: int,
    seed: int,
    integrations: TrainerIntegrationsConfig | None = None,
    arguments_class: type[ArgumentsT] = TrainingArguments,
    **options: Any,
) -> ArgumentsT:
    """`arguments_class` (TrainingArguments or a TRL subclass) from the optimizer block and the run's precision,
    logging and seed; `integrations` add the trackers and DeepSpeed/FSDP settings of the recipe; `options` add what
    one recipe needs (evaluation, checkpoints, a trainer's own fields)."""
    passed_through = (integrations or TrainerIntegrationsConfig()).trainer_integrations()
    return arguments_class(
        output_dir=str(output_dir),
        learning_rate=optimizer.learning_rate,
        num_train_epochs=optimizer.num_train_epochs,
        max_steps=optimizer.max_steps,
        per_device_train_batch_size=optimizer.per_device_train_batch_size,
        gradient_accumulation_steps=optimizer.gradient_accumulation_steps,
        warmup_steps=optimizer.warmup_ratio,
        lr_scheduler_type=optimizer.lr_scheduler_type,
        weight_decay=optimizer.weight_decay,
        max_grad_norm=optimizer.max_grad_norm,
        bf16=use_bf16(precision),
        use_cpu=pick_device().type == "cpu",  # REWARDKIT_DEVICE=cpu keeps training off a GPU too
        logging_steps=logging_steps,
        seed=seed,
        **passed_through,
        **options,
    )
