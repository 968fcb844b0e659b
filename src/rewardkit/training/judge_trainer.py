"""What every judge recipe runs on: the policy model, TRL SFT/DPO stages (LoRA merged after each), sampling over the
current weights, the rounds log and the saved judge directory (loadable as a `judge` reward-model spec).

Training examples are prompt/completion text where the prompt is the judge prompt exactly as GenerativeJudge renders
it (chat template applied), so the trained judge reads at inference what it was trained on. Examples longer than
`max_length` are dropped and counted, never silently cut (a cut target would lose its verdict).

A recipe is a sequence of units (`JudgeRun.unit`: the data summary, one STaR round, one SFT or DPO stage, one
held-out evaluation), each ending in one rounds.jsonl record. After every unit the run writes OUTPUT/resume/: the
records so far, the weights when the unit changed them, and the resolved config. `--resume` reloads those weights
and skips the finished units; the unit that was interrupted runs again from its start (sampling seeds are fixed per
round and each training stage seeds itself, so a resumed run trains what an uninterrupted one would).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from datasets import Dataset
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase, set_seed

from rewardkit.families.generative import GenerativeJudge, WrittenJudgement, write_judge_manifest
from rewardkit.families.judge_templates import BUILTIN_TEMPLATES, JudgeTemplate
from rewardkit.families.registry import MANIFEST_NAME
from rewardkit.inference.hf_engine import HFEngine
from rewardkit.models.device import pick_device
from rewardkit.models.loading import load_causal_lm, load_tokenizer
from rewardkit.models.precision import precision_dtype
from rewardkit.training import distributed
from rewardkit.training.arguments import training_arguments
from rewardkit.training.config import OptimizerConfig
from rewardkit.training.judge_config import JudgeBaseConfig, JudgeSamplingConfig
from rewardkit.training.pairwise_trainer import JsonlLogCallback

logger = logging.getLogger(__name__)

ROUNDS_LOG = "rounds.jsonl"
TRAIN_LOG = "train_log.jsonl"
RESOLVED_CONFIG_NAME = "train_config.yaml"
TEMPLATES_COPY = "judge_templates.yaml"
RESUME_DIR = "resume"
RESUME_STATE = "state.json"


@dataclass
class StageReport:
    """One SFT or DPO stage: what it trained on, how long it took and its mean training loss."""

    examples: int
    dropped_too_long: int
    steps: int = 0
    seconds: float = 0.0
    train_loss: float | None = None

    @property
    def seconds_per_step(self) -> float | None:
        return self.seconds / self.steps if self.steps else None


@dataclass
class JudgeTrainResult:
    """Where a judge recipe wrote its judge and logs, and the per-round records of rounds.jsonl."""

    model_dir: str
    rounds_log: str
    train_log: str
    rounds: list[dict[str, Any]] = field(default_factory=list)
    runtime_s: float = 0.0


def example_length(record: dict[str, str], tokenizer: PreTrainedTokenizerBase) -> int:
    """Tokens of prompt + longest target (+1 end-of-turn token) of an SFT or DPO record."""
    targets = [record[key] for key in ("completion", "chosen", "rejected") if key in record]
    longest = max(
        len(tokenizer(record["prompt"] + target, add_special_tokens=False)["input_ids"]) for target in targets
    )
    return longest + 1


def within_length(
    records: Sequence[dict[str, str]], tokenizer: PreTrainedTokenizerBase, max_length: int
) -> tuple[list[dict[str, str]], int]:
    """(records that fit in max_length, how many were dropped)."""
    kept = [record for record in records if example_length(record, tokenizer) <= max_length]
    return kept, len(records) - len(kept)


def sample_all(
    judge: GenerativeJudge,
    texts: Sequence[str],
    settings: JudgeSamplingConfig,
    seed: int,
    description: str = "sampling",
) -> list[list[WrittenJudgement]]:
    """K judgements per rendered judge prompt, `prompts_per_call` prompts per engine call, with a progress bar."""
    samples: list[list[WrittenJudgement]] = []
    step = settings.prompts_per_call
    with tqdm(total=len(texts), desc=description, unit="prompt", disable=not distributed.is_main_process()) as bar:
        for call, start in enumerate(range(0, len(texts), step)):
            samples += judge.sample_judgements(texts[start : start + step], seed=seed + call)
            bar.update(len(texts[start : start + step]))
    return samples


def sampling_stats(samples: Sequence[Sequence[WrittenJudgement]], seconds: float) -> dict[str, Any]:
    """Counts of a sampling pass: prompts, samples, parse failures, verdicts read after the rationale, speed."""
    total = sum(len(rows) for rows in samples)
    return {
        "prompts": len(samples),
        "samples": total,
        "parse_failures": sum(item.parsed.failed for rows in samples for item in rows),
        "forced_verdicts": sum(item.parsed.outcome == "forced" for rows in samples for item in rows),
        "sampling_seconds": round(seconds, 2),
        "rationales_per_second": round(total / seconds, 3) if seconds > 0 else None,
    }


def prepare_output(config: JudgeBaseConfig, resume: bool = False) -> Path:
    """The output directory, refusing to overwrite a judge saved there before or an interrupted run (unless
    resuming it); a fresh run's logs are cleared by rank 0 alone, once every rank has checked the directory."""
    output = Path(config.output_dir)
    if (output / MANIFEST_NAME).exists():
        raise FileExistsError(f"{output} already holds a saved model ({MANIFEST_NAME}): use another --output")
    state = output / RESUME_DIR / RESUME_STATE
    if resume and not state.is_file():
        raise FileNotFoundError(f"--resume: {state} does not exist (no interrupted run there); run without --resume")
    if not resume and state.is_file():
        raise FileExistsError(
            f"{output} holds an interrupted run ({state}): pass --resume to continue it, or use another --output"
        )
    distributed.wait_for_everyone()
    if not resume:
        distributed.on_main_process(lambda: _clear_logs(output))
    return output


@dataclass
class ResumePoint:
    """Where an interrupted run stopped: how many units finished, their records, and the weights after the last
    unit that changed them (None: the configured model, untouched)."""

    units: int
    rounds: list[dict[str, Any]]
    weights: Path | None


def comparable_config(config: JudgeBaseConfig) -> dict[str, Any]:
    """The resolved config a resumed run must match (where it writes may differ)."""
    return {key: value for key, value in config.to_dict().items() if key != "output_dir"}


def read_resume_point(output: Path, config: JudgeBaseConfig) -> ResumePoint:
    """The interrupted run's state, refusing to continue it under a different config."""
    path = output / RESUME_DIR / RESUME_STATE
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        message = f"--resume: {path} cannot be read ({error}); run without --resume into a new --output"
        raise ValueError(message) from error
    saved, current = state["config"], comparable_config(config)

    def same(key: str) -> bool:
        return json.dumps(saved.get(key), sort_keys=True, default=str) == json.dumps(
            current.get(key), sort_keys=True, default=str
        )

    changed = sorted(key for key in {*saved, *current} if not same(key))
    if changed:
        raise ValueError(
            f"--resume: the config differs from the interrupted run's in {', '.join(changed)} ({path}); resume with "
            "the same recipe and --set values, or start a new --output"
        )
    weights = output / RESUME_DIR / state["weights"] if state["weights"] else None
    logger.info("--resume: %d units done (%s), continuing", state["units"], path)
    return ResumePoint(units=state["units"], rounds=state["rounds"], weights=weights)


def _clear_logs(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    for name in (ROUNDS_LOG, TRAIN_LOG):
        (output / name).unlink(missing_ok=True)


class JudgeRun:
    """One recipe run: the current weights, the engine that samples from them, the stages and the logs."""

    def __init__(self, config: JudgeBaseConfig, resume: bool = False) -> None:
        self.config = config
        self.started = time.monotonic()
        distributed.initialize()
        self.output = prepare_output(config, resume)
        point = read_resume_point(self.output, config) if resume else ResumePoint(0, [], None)
        set_seed(config.seed)
        self.templates = BUILTIN_TEMPLATES
        if config.templates_file is not None:
            self.templates = BUILTIN_TEMPLATES.with_file(config.templates_file)
        self.tokenizer = load_tokenizer(config.model)
        self.device = pick_device()
        weights = str(point.weights) if point.weights else config.model
        self.model = load_causal_lm(weights, device=self.device, dtype=torch.float32)
        self._engine: HFEngine | None = None
        self.rounds: list[dict[str, Any]] = list(point.rounds)
        self._units_done, self._units_started = point.units, 0
        self._weights_saved = point.weights.name if point.weights else None
        self._weights_changed = False
        if resume:
            distributed.on_main_process(self._rewrite_rounds_log)

    # ---- judging with the current weights ---------------------------------------------------------------------
    def engine(self) -> HFEngine:
        """An engine over the current weights: a bf16 copy where bf16 is fast (decoding recasts nothing)."""
        if self._engine is None:
            dtype = precision_dtype(self.config.precision, self.device)
            weights = self.model if dtype == torch.float32 else copy.deepcopy(self.model).to(dtype)
            eos = [self.tokenizer.eos_token_id] if self.tokenizer.eos_token_id is not None else []
            self._engine = HFEngine(
                weights, eos, self.tokenizer.pad_token_id, self.device, precision=self.config.precision
            )
        return self._engine

    def judge(
        self, template: str | JudgeTemplate | None = None, sampling: JudgeSamplingConfig | None = None, **settings: Any
    ) -> GenerativeJudge:
        """A judge on the current weights, by default one-order sample mode writing one greedy judgement; with
        `sampling`, it draws K rationales at that temperature. `settings` override any JudgeConfig field."""
        defaults: dict[str, Any] = {
            "mode": "sample",
            "both_orders": False,
            "early_stop": "none",
            "max_field_tokens": self.config.max_field_tokens,
            "seed": self.config.seed,
        }
        if sampling is not None:
            defaults |= {
                "num_samples": sampling.num_samples,
                "temperature": sampling.temperature,
                "top_p": sampling.top_p,
                "max_new_tokens": sampling.max_new_tokens,
            }
        template = template or self.config.template
        return GenerativeJudge(
            self.config.model,
            template,
            engine=self.engine(),
            tokenizer=self.tokenizer,
            templates=self.templates,
            **(defaults | settings),
        )

    def sample(
        self, judge: GenerativeJudge, texts: Sequence[str], settings: JudgeSamplingConfig, seed: int
    ) -> tuple[list[list[WrittenJudgement]], dict[str, Any]]:
        """Sampled judgements of the prompts (dealt across the ranks of a multi-process run, gathered in order) and
        the pass's statistics."""
        started = time.monotonic()
        samples = distributed.sharded_map(lambda shard: sample_all(judge, shard, settings, seed), texts)
        return samples, sampling_stats(samples, time.monotonic() - started)

    # ---- training stages --------------------------------------------------------------------------------------
    def sft(self, records: Sequence[dict[str, str]], stage: OptimizerConfig, name: str) -> StageReport:
        """Supervised fine-tuning on prompt/completion records, loss on the completion only (TRL SFTTrainer)."""
        from trl import SFTConfig, SFTTrainer

        return self._train(SFTTrainer, SFTConfig, records, stage, name, completion_only_loss=True)

    def dpo(self, records: Sequence[dict[str, str]], stage: OptimizerConfig, name: str, beta: float) -> StageReport:
        """DPO on prompt/chosen/rejected records (Rafailov et al. 2023, arXiv 2305.18290; TRL DPOTrainer); with LoRA
        the reference model is the current weights with the adapter switched off."""
        from trl import DPOConfig, DPOTrainer

        return self._train(DPOTrainer, DPOConfig, records, stage, name, beta=beta)

    def _train(self, trainer_class, args_class, records, stage: OptimizerConfig, name: str, **options) -> StageReport:
        kept, dropped = within_length(records, self.tokenizer, self.config.max_length)
        if dropped:
            logger.warning(
                "%s: %d of %d examples exceed max_length=%d and were dropped",
                name,
                dropped,
                len(records),
                self.config.max_length,
            )
        report = StageReport(examples=len(kept), dropped_too_long=dropped)
        if not kept:
            logger.warning("%s: no training examples; the weights are left as they are", name)
            return report
        trainer = trainer_class(
            model=self.model,
            args=self._arguments(args_class, stage, name, **options),
            train_dataset=Dataset.from_list(list(kept)),
            processing_class=self.tokenizer,
            peft_config=self._lora_config(),
            callbacks=[JsonlLogCallback(self.output / TRAIN_LOG, {"stage": name})],
        )
        started = time.monotonic()
        output = trainer.train()
        report.seconds, report.steps = time.monotonic() - started, trainer.state.global_step
        report.train_loss = output.training_loss
        trained = trainer.model
        self.model = (trained.merge_and_unload() if self.config.adapter == "lora" else trained).eval()
        self._engine = None
        self._weights_changed = True
        return report

    def _arguments(self, args_class, stage: OptimizerConfig, name: str, **options):
        """TRL's SFTConfig/DPOConfig for one stage: no checkpoints (a stage is short and its result is saved)."""
        return training_arguments(
            stage,
            self.output / "trainer" / name,
            precision=self.config.precision,
            logging_steps=self.config.logging_steps,
            seed=self.config.seed,
            integrations=self.config,
            arguments_class=args_class,
            activation_checkpointing=False,
            save_strategy="no",
            max_length=self.config.max_length,
            **options,
        )

    def _lora_config(self):
        if self.config.adapter != "lora":
            return None
        from peft import LoraConfig

        lora = self.config.lora
        return LoraConfig(
            task_type="CAUSAL_LM",
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=list(lora.target_modules),
        )

    # ---- units, resume points ---------------------------------------------------------------------------------
    def unit(self, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run one unit of the recipe (`work` returns its rounds.jsonl record), log it and write the resume point;
        a unit a resumed run had finished is skipped and its record returned."""
        index, self._units_started = self._units_started, self._units_started + 1
        if index < self._units_done:
            return self.rounds[index]
        record = work()
        self.log_round(record)
        self._units_done = index + 1
        distributed.on_main_process(self._write_resume_point)
        return record

    def _write_resume_point(self) -> None:
        """OUTPUT/resume/: the weights when the last unit changed them (staged, then renamed), then state.json
        (replaced in one rename), then older weights removed, so a kill at any moment leaves a readable point."""
        folder = self.output / RESUME_DIR
        folder.mkdir(parents=True, exist_ok=True)
        if self._weights_changed:
            name = f"weights-{self._units_done}"
            staging = folder / f".partial-{name}"
            shutil.rmtree(staging, ignore_errors=True)
            self.model.save_pretrained(staging)
            shutil.rmtree(folder / name, ignore_errors=True)
            staging.rename(folder / name)
            self._weights_saved, self._weights_changed = name, False
        state = {
            "units": self._units_done,
            "rounds": self.rounds,
            "weights": self._weights_saved,
            "config": comparable_config(self.config),
        }
        temporary = folder / f".{RESUME_STATE}.tmp"
        temporary.write_text(json.dumps(state, indent=1, default=str) + "\n")
        os.replace(temporary, folder / RESUME_STATE)
        for stale in folder.iterdir():
            if stale.name not in {RESUME_STATE, self._weights_saved}:
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()

    def _rewrite_rounds_log(self) -> None:
        """rounds.jsonl as of the resume point (a record written after it, by the interrupted unit, is dropped)."""
        with (self.output / ROUNDS_LOG).open("w") as handle:
            handle.writelines(json.dumps(record) + "\n" for record in self.rounds)

    # ---- logs and the saved judge -----------------------------------------------------------------------------
    def log_round(self, record: dict[str, Any]) -> None:
        """Append one round's statistics to rounds.jsonl (rank 0) and keep them for the result."""
        self.rounds.append(record)
        distributed.on_main_process(lambda: self._append_round(record))

    def _append_round(self, record: dict[str, Any]) -> None:
        with (self.output / ROUNDS_LOG).open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        logger.info("round record: %s", json.dumps(record))

    def save(self, **judge_options: Any) -> JudgeTrainResult:
        """Save (rank 0) the weights, tokenizer and rewardkit.json (family judge, the template trained with,
        `judge_options`), the resolved config and the result; the directory is a `judge` spec for eval, bon and the
        server."""
        result = JudgeTrainResult(
            model_dir=str(self.output),
            rounds_log=str(self.output / ROUNDS_LOG),
            train_log=str(self.output / TRAIN_LOG),
            rounds=self.rounds,
            runtime_s=round(time.monotonic() - self.started, 2),
        )
        distributed.on_main_process(lambda: self._write(result, judge_options))
        return result

    def _write(self, result: JudgeTrainResult, judge_options: dict[str, Any]) -> None:
        self.model.save_pretrained(self.output)
        self.tokenizer.save_pretrained(self.output)
        options = {"template": self.config.template, "max_field_tokens": self.config.max_field_tokens}
        if self.config.templates_file is not None:
            shutil.copyfile(self.config.templates_file, self.output / TEMPLATES_COPY)
            options["templates_file"] = TEMPLATES_COPY
        write_judge_manifest(self.output, model=".", **options, **judge_options)
        shutil.rmtree(self.output / "trainer", ignore_errors=True)
        shutil.rmtree(self.output / RESUME_DIR, ignore_errors=True)
        (self.output / RESOLVED_CONFIG_NAME).write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))
        (self.output / "train_result.json").write_text(json.dumps(asdict(result), indent=2) + "\n")


def stage_stats(report: StageReport) -> dict[str, Any]:
    """A stage report as rounds.jsonl fields."""
    seconds_per_step = report.seconds_per_step
    return {
        "train_examples": report.examples,
        "dropped_too_long": report.dropped_too_long,
        "train_steps": report.steps,
        "train_seconds": round(report.seconds, 2),
        "seconds_per_step": None if seconds_per_step is None else round(seconds_per_step, 3),
        "train_loss": report.train_loss,
    }
