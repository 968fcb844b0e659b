"""The pairwise reward-model trainer shared by the Bradley-Terry and CLoud recipes (transformers Trainer, so
`accelerate launch` scales it): the loss, the metrics, checkpoints beside the model, resuming, the JSONL log.

Loss per pair: −log σ(r_c − r_r − m) (Ouyang et al. 2022, 2203.02155, eq. 1; margin as in Llama 2, 2307.09288)
plus c·mean((r_c + r_r)²), reward centering (Eisenstein et al. 2023, 2312.09244; TRL's center_rewards_coefficient).
Chosen and rejected of a batch go through one forward pass (see collate.PairwiseCollator); on CPU a pair's prompt is
read once, both sides packed after it in one row (collate.PackedPairCollator).
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import EvalPrediction, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import rotate_checkpoints

from rewardkit.machine_errors import memory_guard
from rewardkit.models.shared_prefix import packed_scores
from rewardkit.training.arguments import training_arguments
from rewardkit.training.checkpoints import (
    checkpoint_dirs,
    newest_complete_checkpoint,
    remove_partial_checkpoints,
    staged_checkpoint,
)
from rewardkit.training.config import TrainerConfig
from rewardkit.training.length_grouping import epoch_seeded

logger = logging.getLogger(__name__)

CHECKPOINTS_SUFFIX = ".checkpoints"


LOG_NAME = "train_log.jsonl"


OUT_OF_MEMORY_ADVICE = (
    "Lower per_device_train_batch_size (raising gradient_accumulation_steps to keep the batch) or max_length, "
    "or set gradient_checkpointing: true"
)


def bradley_terry_loss(
    rewards_chosen: torch.Tensor,
    rewards_rejected: torch.Tensor,
    margin: torch.Tensor | float | None = None,
    center_rewards_coefficient: float | None = None,
) -> torch.Tensor:
    """Mean of −log σ(r_c − r_r − m) over pairs, plus c·mean((r_c + r_r)²) when a centering coefficient is set."""
    difference = rewards_chosen - rewards_rejected
    if margin is not None:
        difference = difference - margin
    loss = -F.logsigmoid(difference).mean()
    if center_rewards_coefficient:
        loss = loss + center_rewards_coefficient * torch.mean((rewards_chosen + rewards_rejected) ** 2)
    return loss


def pairwise_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """Accuracy (chosen strictly above rejected) and mean reward margin from (N, 2) [chosen, rejected] rewards."""
    rewards = np.asarray(prediction.predictions, dtype=np.float64)
    margins = rewards[:, 0] - rewards[:, 1]
    return {"accuracy": float(np.mean(margins > 0)), "mean_margin": float(np.mean(margins))}


def pair_rewards(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(chosen, rejected) rewards of a batch: read at each side's last token of the packed rows
    (collate.PackedPairCollator), or by the model's own pooling over [chosen; rejected] (collate.PairwiseCollator)."""
    if "chosen_end" in inputs:
        scores = packed_scores(model, inputs["input_ids"], inputs["attention_mask"], inputs["position_ids"]).float()
        rows = torch.arange(scores.shape[0], device=scores.device)
        return scores[rows, inputs["chosen_end"]], scores[rows, inputs["rejected_end"]]
    logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False).logits
    rewards_chosen, rewards_rejected = logits[:, 0].float().chunk(2)
    return rewards_chosen, rewards_rejected


class BradleyTerryTrainer(Trainer):
    """A Trainer whose loss is the pairwise Bradley-Terry loss on one forward over [chosen; rejected]."""

    loss_is_scaled_for_ga = False

    def __init__(self, *args: Any, center_rewards_coefficient: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.center_rewards_coefficient = center_rewards_coefficient
        self._staging_dir: str | None = None

    def _get_output_dir(self, trial) -> str:
        return self._staging_dir or super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial) -> None:
        """Save under a temporary name, rename when every process has written (see training.checkpoints)."""
        run_dir = Path(super()._get_output_dir(trial))
        with staged_checkpoint(run_dir, self.state.global_step, publish=self.args.should_save) as staging:
            self._staging_dir = str(staging)
            try:
                super()._save_checkpoint(model, trial)
                self.accelerator.wait_for_everyone()
            finally:
                self._staging_dir = None
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            rotate_checkpoints(str(run_dir), self.args.save_total_limit)

    def autocast_smart_context_manager(self, cache_enabled: bool | None = True):
        """bf16 autocast whenever args.bf16, evaluation included (accelerate only wraps the forward it prepared)."""
        if not self.args.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.args.device.type, dtype=torch.bfloat16, cache_enabled=cache_enabled)

    def _get_train_sampler(self, train_dataset=None):
        """Length grouping seeded per epoch, so resuming in any epoch replays the uninterrupted run's order."""
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return epoch_seeded(super()._get_train_sampler(train_dataset), seed)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        rewards_chosen, rewards_rejected = pair_rewards(model, inputs)
        loss = bradley_terry_loss(
            rewards_chosen, rewards_rejected, inputs.get("margin"), self.center_rewards_coefficient
        )
        return (loss, torch.stack([rewards_chosen, rewards_rejected], dim=1)) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss, rewards = self.compute_loss(model, inputs, return_outputs=True)
        if prediction_loss_only:
            return loss.detach(), None, None
        # Labels are implicit (column 0 is the chosen side); a placeholder lets the Trainer call compute_metrics.
        return loss.detach(), rewards.detach(), torch.zeros(rewards.shape[0], device=rewards.device)


class JsonlLogCallback(TrainerCallback):
    """Appends every Trainer log record (loss, learning rate, eval metrics) as one JSON line; `extra` fields (e.g. the
    round of a multi-round recipe) lead each line."""

    def __init__(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        self.path = path
        self.extra = extra or {}

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            record = {**self.extra, "step": state.global_step, "epoch": state.epoch, **logs}
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")


def trainer_recipe_arguments(config: TrainerConfig, checkpoints: Path, has_eval: bool) -> TrainingArguments:
    """TrainingArguments for a Trainer-based run (BT, CLoud): periodic evaluation when there is held-out data,
    resumable checkpoints every save_steps, batches grouped by length."""
    evaluate_periodically = has_eval and config.eval_steps > 0
    return training_arguments(
        config,
        checkpoints,
        precision=config.precision,
        logging_steps=config.logging_steps,
        seed=config.seed,
        integrations=config,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        activation_checkpointing=config.gradient_checkpointing,
        eval_strategy="steps" if evaluate_periodically else "no",
        eval_steps=config.eval_steps if evaluate_periodically else None,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        remove_unused_columns=False,
    )


def checkpoints_dir(output: str | Path) -> Path:
    """Where a run's resumable checkpoints go: beside its model directory (`runs/bt` -> `runs/bt.checkpoints`), so
    the model directory holds the final model alone and is what gets served, exported or uploaded."""
    output = Path(output).absolute()
    return output.with_name(output.name + CHECKPOINTS_SUFFIX)


def resume_checkpoint(checkpoints: Path, resume: bool) -> str | None:
    """The newest complete checkpoint when resuming (newer incomplete ones are skipped, with the reason logged); an
    error when resuming without one or starting over an earlier run."""
    existing = checkpoint_dirs(checkpoints)
    if not resume:
        if existing:
            raise FileExistsError(
                f"{checkpoints} already holds {existing[0].name}: pass --resume to continue it, "
                "or use another --output"
            )
        return None
    choice = newest_complete_checkpoint(checkpoints)
    choice.log()
    if choice.checkpoint is None:
        skipped = "; ".join(f"{path.name}: {reason}" for path, reason in choice.skipped)
        found = f"no complete checkpoint-* directory (skipped {skipped})" if skipped else "no checkpoint-* directory"
        raise FileNotFoundError(f"--resume: {checkpoints} holds {found}; run without --resume")
    remove_partial_checkpoints(checkpoints)
    return str(choice.checkpoint)


def final_eval_metrics(trainer: Trainer, has_eval: bool) -> dict[str, float]:
    """The evaluation the Trainer ran at the last step, or a fresh one when it evaluates only at the end."""
    if not has_eval:
        return {}
    evaluated = [record for record in trainer.state.log_history if "eval_loss" in record]
    if evaluated and evaluated[-1].get("step") == trainer.state.global_step:
        return {key: float(value) for key, value in evaluated[-1].items() if key.startswith("eval_")}
    return {key: float(value) for key, value in trainer.evaluate().items()}


def run_trainer(trainer: Trainer, checkpoint: str | None, has_eval: bool) -> dict[str, float]:
    """Train (from `checkpoint` when resuming), return the final evaluation; out of memory is one clear line."""
    with memory_guard(OUT_OF_MEMORY_ADVICE):
        trainer.train(resume_from_checkpoint=checkpoint)
        return final_eval_metrics(trainer, has_eval=has_eval)
