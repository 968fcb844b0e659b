"""BTConfig: every knob of Bradley-Terry reward-model training, with help text; loaded from YAML plus CLI overrides.

Unknown keys and wrong types are errors that name the file, the line and the key, so a typo never silently falls
back to a default.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError

from rewardkit.data.master_keys import MasterKeyNegatives
from rewardkit.data.synthetic import DEFAULT_TASKS, SYNTHETIC_TASKS
from rewardkit.vocabulary import (
    RENAMED_KEYS,
    Packing,
    Precision,
    ResponseTruncation,
    TextFormat,
    renamed_key_note,
    with_current_keys,
)

RESOLVED_CONFIG_NAME = "train_config.yaml"  # the config a training run resolved, saved beside its model

DEFAULT_LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
_STRICT = ConfigDict(extra="forbid")
PRECISION_HELP = "auto|bf16|fp32; 'auto': bf16 where the hardware has fast bf16, else fp32 (REWARDKIT_PRECISION)."
ConfigT = TypeVar("ConfigT")


class ConfigError(ValueError):
    """A recipe file or override that does not describe a valid recipe config (BTConfig or another recipe)."""


@dataclass
class DataSourceConfig:
    """One training file and how to turn it into preference pairs."""

    __pydantic_config__ = _STRICT

    path: str = field(metadata={"help": "File or dataset read by rewardkit.data.readers.read_pairs (or a builder)."})
    builder: Literal["pairs", "gsm8k"] = field(
        default="pairs",
        metadata={
            "help": "'pairs': read preference pairs as they are; 'gsm8k': question/solution rows become reference "
            "solution vs a seeded corrupted-answer copy."
        },
    )
    limit: int | None = field(
        default=None, metadata={"help": "Keep at most this many pairs from this source (seeded subsample)."}
    )


@dataclass
class SyntheticDataConfig:
    """Seeded verifiable pairs from rewardkit.data.synthetic (correct vs near-miss answers)."""

    __pydantic_config__ = _STRICT

    n: int = field(default=0, metadata={"help": "Number of synthetic pairs to add to the training data (0: none)."})
    seed: int = field(default=0, metadata={"help": "Seed of the synthetic generator."})
    tasks: list[str] = field(
        default_factory=lambda: list(DEFAULT_TASKS),
        metadata={
            "help": "Synthetic tasks, taken in turn (a task named twice gets twice the pairs): arithmetic, counting, "
            "string, code (small Python functions with one planted bug)."
        },
    )

    def __post_init__(self) -> None:
        unknown = [task for task in self.tasks if task not in SYNTHETIC_TASKS]
        if unknown or not self.tasks:
            raise ValueError(f"synthetic.tasks: unknown or no tasks {unknown}; choose from {sorted(SYNTHETIC_TASKS)}")


@dataclass
class LoraAdapterConfig:
    """peft LoRA settings (Hu et al. 2021, arXiv 2106.09685); the score head is always trained in full."""

    __pydantic_config__ = _STRICT

    r: int = field(default=16, metadata={"help": "LoRA rank."})
    alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)."})
    dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA branch input."})
    target_modules: list[str] = field(
        default_factory=lambda: list(DEFAULT_LORA_TARGETS),
        metadata={"help": "Names of the linear layers that get LoRA adapters."},
    )


@dataclass
class OptimizerConfig:
    """Optimizer and schedule of one training run or stage, the block every recipe shares (BT and CLoud inherit it
    through TrainerConfig; the judge recipes hold one per stage)."""

    __pydantic_config__ = _STRICT

    learning_rate: float = field(default=1e-4, metadata={"help": "Peak learning rate."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Passes over the training data."})
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many optimizer steps (-1: use epochs)."})
    per_device_train_batch_size: int = field(
        default=4, metadata={"help": "Examples (pairwise recipes: pairs) per training step per device."}
    )
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Steps accumulated per optimizer update."})
    warmup_ratio: float = field(default=0.03, metadata={"help": "Fraction of steps with linear learning-rate warmup."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "transformers scheduler name."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})


@dataclass
class TrainerIntegrationsConfig:
    """Where the Trainer reports and how it shards a model over several devices: passed through to transformers'
    TrainingArguments as they are (their documentation describes each), for every recipe. Launch the processes with
    `torchrun` or `accelerate launch` (docs/SCALE_OUT.md)."""

    __pydantic_config__ = _STRICT

    report_to: list[str] = field(
        default_factory=list,
        metadata={"help": "Trackers the Trainer logs to, e.g. [tensorboard] or [wandb] (their packages installed)."},
    )
    run_name: str | None = field(default=None, metadata={"help": "The run's name in those trackers."})
    deepspeed: str | dict[str, Any] | None = field(
        default=None, metadata={"help": "DeepSpeed config: a JSON file path or the config itself (needs deepspeed)."}
    )
    fsdp: bool = field(default=False, metadata={"help": "Shard weights, gradients and optimizer state with FSDP."})
    fsdp_config: str | dict[str, Any] | None = field(
        default=None, metadata={"help": "FSDP settings: a JSON file path or the settings themselves."}
    )

    def trainer_integrations(self) -> dict[str, Any]:
        """The TrainingArguments fields these settings set ('none' for report_to when no tracker is named)."""
        return {
            "report_to": self.report_to or "none",
            "run_name": self.run_name,
            "deepspeed": self.deepspeed,
            "fsdp": self.fsdp,
            "fsdp_config": self.fsdp_config,
        }


@dataclass
class TrainerConfig(TrainerIntegrationsConfig, OptimizerConfig):
    """transformers-Trainer settings of the Trainer-based recipes (BT, CLoud): the optimizer block plus precision,
    logging, evaluation and checkpoints."""

    __pydantic_config__ = _STRICT

    per_device_eval_batch_size: int = field(
        default=8, metadata={"help": "Examples (pairwise recipes: pairs) per evaluation step per device."}
    )
    group_by_length: bool = field(
        default=True, metadata={"help": "Batch examples of similar length together (less padding, faster on CPU)."}
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations in backward (less memory, ~30% more compute)."}
    )
    precision: Precision = field(default="auto", metadata={"help": PRECISION_HELP})
    logging_steps: int = field(default=10, metadata={"help": "Log training loss every N steps."})
    eval_steps: int = field(default=200, metadata={"help": "Evaluate every N steps (0: only at the end)."})
    save_steps: int = field(default=200, metadata={"help": "Write a resumable checkpoint every N steps."})
    save_total_limit: int = field(default=2, metadata={"help": "Keep at most this many checkpoints."})
    seed: int = field(default=42, metadata={"help": "Seed for the reward head, data order, subsampling and dropout."})


@dataclass
class BTConfig(TrainerConfig):
    """Bradley-Terry reward-model training: data, model, loss and trainer settings."""

    __pydantic_config__ = _STRICT

    model: str = field(
        default="default",
        metadata={"help": "Backbone: `default` (SmolLM2-135M), a local dir, a GGUF file or a Hub id."},
    )
    output_dir: str = field(
        default="runs/bt",
        metadata={"help": "Where the model and the training log go (checkpoints: beside it, in OUTPUT.checkpoints)."},
    )
    adapter: Literal["lora", "full"] = field(
        default="lora", metadata={"help": "'lora': train LoRA adapters + score head; 'full': train every weight."}
    )
    lora: LoraAdapterConfig = field(
        default_factory=LoraAdapterConfig, metadata={"help": "LoRA settings (adapter: lora)."}
    )
    train: list[DataSourceConfig] = field(
        default_factory=list,
        metadata={"help": "Training sources: paths (read_pairs formats) or {path, builder, limit} entries."},
    )
    synthetic: SyntheticDataConfig = field(
        default_factory=SyntheticDataConfig,
        metadata={"help": "Synthetic verifiable pairs added to the training data."},
    )
    eval_file: str | None = field(
        default=None, metadata={"help": "Held-out pairs file; when unset, eval_fraction of the training pairs."}
    )
    eval_fraction: float = field(
        default=0.05, metadata={"help": "Fraction of training pairs held out for evaluation when no eval_file."}
    )
    max_eval_pairs: int | None = field(
        default=200, metadata={"help": "Cap on evaluation pairs (seeded subsample); keeps evaluation cheap."}
    )
    max_train_pairs: int | None = field(
        default=None, metadata={"help": "Cap on training pairs after mixing all sources (seeded subsample)."}
    )
    skip_bad_rows: bool = field(
        default=False, metadata={"help": "Skip (and log) unreadable rows instead of stopping at the first one."}
    )
    max_length: int = field(default=256, metadata={"help": "Tokens per prompt+response; prompts cut from the left."})
    max_response_length: int = field(
        default=192, metadata={"help": "Tokens kept of a response (cut as `response_truncation` says when longer)."}
    )
    response_truncation: ResponseTruncation = field(
        default="keep_end",
        metadata={
            "help": "Which part of a long response is kept: 'keep_start', 'keep_end' (the reward head reads the "
            "response's real end) or 'keep_both_ends' (around an ellipsis); saved with the model, used by scoring."
        },
    )
    text_format: TextFormat = field(
        default="chat_template",
        metadata={
            "help": "'chat_template': exactly apply_chat_template's text (TRL/vLLM convention, reward at the last "
            "token); 'chat_template_no_final_newline': rewardkit's first format. Saved with the model."
        },
    )
    master_key_negatives: MasterKeyNegatives = field(
        default_factory=MasterKeyNegatives,
        metadata={
            "help": "Master-key negatives (Master-RM): {fraction, keys, first_sentence_share}; a number: the fraction."
        },
    )
    pair_packing: Packing = field(
        default="auto",
        metadata={
            "help": "Read a pair's shared prompt once: chosen and rejected in one row after it, under a tree "
            "attention mask (same loss and gradients). 'auto': as REWARDKIT_PACKING says, by default on when "
            "training on CPU with SDPA attention and a `score` head; 'on' also elsewhere (not yet measured on GPU)."
        },
    )
    margin: float = field(default=0.0, metadata={"help": "Constant margin m in -log σ(r_c − r_r − m)."})
    margin_field: str | None = field(
        default=None,
        metadata={"help": "Per-pair margin added to `margin`: a PreferencePair attribute or key of its `extra`."},
    )
    center_rewards_coefficient: float | None = field(
        default=None,
        metadata={"help": "Weight of mean((r_c + r_r)^2), reward centering (Eisenstein et al. 2023, 2312.09244)."},
    )

    def __post_init__(self) -> None:
        self.train = [DataSourceConfig(path=entry) if isinstance(entry, str) else entry for entry in self.train]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def field_help(config_class: type = BTConfig) -> dict[str, str]:
    """Field name -> help text (for docs and --help listings)."""
    return {item.name: item.metadata.get("help", "") for item in dataclasses.fields(config_class)}


def parse_override(text: str) -> tuple[list[str], Any]:
    """`key.sub=value` -> (["key", "sub"], YAML-parsed value)."""
    key, separator, raw_value = text.partition("=")
    if not separator or not key.strip():
        raise ConfigError(f"--set {text!r}: expected key=value, e.g. --set learning_rate=5e-5 or --set lora.r=8")
    return key.strip().split("."), yaml.safe_load(raw_value) if raw_value.strip() else None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of the raw config dict with each `key=value` override set (dotted keys reach nested fields)."""
    merged = dict(data)
    for text in overrides:
        keys, value = parse_override(text)
        target = merged
        for key in keys[:-1]:
            target[key] = dict(target.get(key) or {})
            target = target[key]
        target[keys[-1]] = value
    return merged


def _key_locations(node: yaml.Node, source: str, prefix: tuple = ()) -> dict[tuple, str]:
    """Config path (tuple of keys/indices) -> `file:line` where it is written, for error messages."""
    locations: dict[tuple, str] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = prefix + (key_node.value,)
            locations[path] = f"{source}:{key_node.start_mark.line + 1}"
            locations.update(_key_locations(value_node, source, path))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            locations[prefix + (index,)] = f"{source}:{item.start_mark.line + 1}"
            locations.update(_key_locations(item, source, prefix + (index,)))
    return locations


def _describe_error(error: dict[str, Any]) -> tuple[tuple, str]:
    """(config path, message) for one pydantic error."""
    path = tuple(error["loc"])
    key = ".".join(str(part) for part in path) or "(top level)"
    if error["type"] == "unexpected_keyword_argument":
        return path, f"unknown key '{key}'"
    return path, f"key '{key}': {error['msg']} (got {error.get('input')!r})"


def _locate(path: tuple, locations: dict[tuple, str], default: str) -> str:
    """The most specific known location of `path` (or of its closest parent)."""
    for end in range(len(path), 0, -1):
        if path[:end] in locations:
            return locations[path[:end]]
    return default


def _with_current_keys(data: Any, locations: dict[tuple, str], source: str, prefix: tuple = ()) -> Any:
    """Renamed keys (rewardkit.vocabulary) under their current names at every depth, each old spelling noted with
    where it was written; `locations` learns the new paths."""
    if isinstance(data, list):
        return [_with_current_keys(item, locations, source, prefix + (index,)) for index, item in enumerate(data)]
    if not isinstance(data, dict):
        return data
    for old in set(data) & set(RENAMED_KEYS):
        where = _locate(prefix + (old,), locations, source)
        warnings.warn(renamed_key_note(old, where), FutureWarning, stacklevel=2)
        locations[prefix + (RENAMED_KEYS[old],)] = where
    current = with_current_keys(data, _locate(prefix, locations, source), warn=False)
    return {key: _with_current_keys(value, locations, source, prefix + (key,)) for key, value in current.items()}


def _expand_shorthands(data: dict[str, Any]) -> dict[str, Any]:
    """Plain path strings in `train` become `{path: ...}` entries; a bare number as `master_key_negatives` is its
    fraction."""
    expanded = dict(data)
    if isinstance(data.get("train"), list):
        expanded["train"] = [{"path": entry} if isinstance(entry, str) else entry for entry in data["train"]]
    if isinstance(data.get("master_key_negatives"), (int, float)):
        expanded["master_key_negatives"] = {"fraction": data["master_key_negatives"]}
    return expanded


def build_config(
    data: dict[str, Any],
    source: str = "config",
    locations: dict[tuple, str] | None = None,
    config_class: type[ConfigT] = BTConfig,
) -> ConfigT:
    """Validate a raw dict into `config_class` (a recipe dataclass, BTConfig by default); errors name where each bad
    key was written (`file:line` or `--set`)."""
    locations = dict(locations or {})
    try:
        data = _with_current_keys(data, locations, source)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    try:
        return TypeAdapter(config_class).validate_python(_expand_shorthands(data))
    except ValidationError as error:
        messages = []
        for detail in error.errors():
            path, message = _describe_error(detail)
            messages.append(f"{_locate(path, locations, source)}: {message}")
        known = ", ".join(item.name for item in dataclasses.fields(config_class))
        raise ConfigError("\n".join(dict.fromkeys(messages)) + f"\nKnown top-level keys: {known}") from None


def load_config(
    path: str | Path, overrides: list[str] | None = None, config_class: type[ConfigT] = BTConfig
) -> ConfigT:
    """Read a YAML recipe, apply `key=value` overrides, and validate it as `config_class` (unknown keys are errors)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text()
    try:
        data = yaml.safe_load(text) or {}
        locations = _key_locations(yaml.compose(text), str(path)) if data else {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys at the top level, got {type(data).__name__}")
    for text_override in overrides or []:
        locations[tuple(parse_override(text_override)[0])] = f"--set {text_override}"
    merged = apply_overrides(data, overrides or [])
    return build_config(merged, source=str(path), locations=locations, config_class=config_class)
