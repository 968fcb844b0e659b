"""`rewardkit export`: a trained reward model as a standalone Hugging Face model directory anyone can load.

The exported directory holds the model (LoRA adapters merged into the backbone, so no base model is needed), the
tokenizer with the pad token the model skips when it pools (`config.json`'s `pad_token_id` is the same id), the
rewardkit manifest (so rewardkit reads it in the format it was trained with), and a model card (README.md) with the
training recipe and evaluation summary. It holds no checkpoint, no optimizer state and no path of the training
machine: paths in the recipe keep only their file names. `push_to_hub` uploads it with huggingface_hub.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from rewardkit.families.registry import MANIFEST_NAME
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.models.chat import LEGACY_TEXT_FORMAT
from rewardkit.training.config import RESOLVED_CONFIG_NAME

logger = logging.getLogger(__name__)

CARD_NAME = "README.md"
TRAIN_RESULT_NAME = "train_result.json"
REPORT_JSON_NAME = "report.json"
TIMING_SUFFIXES = ("_runtime", "_per_second")  # the Trainer's timings of the evaluation, not results


def portable_value(value: Any) -> Any:
    """`value` with every local path (absolute, home-relative or parent-relative) reduced to its file name."""
    if isinstance(value, dict):
        return {key: portable_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [portable_value(item) for item in value]
    if isinstance(value, str) and value.startswith(("/", "~", "..", "." + os.sep)):
        return Path(value).name
    return value


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def recipe_of(run_dir: Path) -> dict[str, Any] | None:
    """The training recipe the run resolved (train_config.yaml), without paths of the training machine or the
    output directory."""
    path = run_dir / RESOLVED_CONFIG_NAME
    if not path.is_file():
        return None
    recipe = yaml.safe_load(path.read_text()) or {}
    recipe.pop("output_dir", None)
    return portable_value(recipe)


def evaluation_summary(run_dir: Path, report_dir: Path | None) -> list[str]:
    """Markdown lines: the held-out metrics at the end of training, and a `rewardkit eval` report's sections."""
    lines = []
    result = _read_json(run_dir / TRAIN_RESULT_NAME)
    if result:
        lines.append(
            f"Trained on {result['train_pairs']:,} pairs for {result['global_step']:,} steps; held-out pairs: "
            f"{result['eval_pairs']:,}."
        )
        metrics = sorted(result.get("eval_metrics", {}).items())
        lines += [f"- {name}: {value:.4f}" for name, value in metrics if not name.endswith(TIMING_SUFFIXES)]
    report = _read_json(report_dir / REPORT_JSON_NAME) if report_dir else None
    if report:
        data = portable_value(report.get("meta", {}).get("data_path", "?"))
        lines += ["", f"`rewardkit eval` on `{data}`: mean of sections {_fraction(report.get('mean_of_sections'))}"]
        lines += ["", "| section | accuracy | pairs |", "|---|---|---|"]
        lines += [
            f"| {name} | {_fraction(section.get('accuracy'))} | {section.get('n', '')} |"
            for name, section in report.get("sections", {}).items()
        ]
    return lines or ["No evaluation was recorded with this model."]


def _fraction(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


CHAT_TEMPLATE_READING = (
    "The reward is read from the text the tokenizer's chat template writes for the whole conversation (the TRL / "
    "OpenRLHF / vLLM convention); `rewardkit eval|serve` load this directory as it is."
)
LEGACY_READING = (
    "This model was trained on rewardkit's first text format: the chat template's text without the newline after the "
    "last end-of-turn marker (docs/TEXT_FORMAT.md). Feed it that text, as below; the plain `apply_chat_template` text "
    "(TRL, OpenRLHF, vLLM) reads the reward one token later and gives other rewards. `rewardkit eval|serve` read the "
    "format from rewardkit.json."
)
CARD_TEMPLATE = """---
{header}
---
# {name}

A Bradley-Terry reward model (one scalar per conversation) trained with rewardkit and exported as a standalone
`AutoModelForSequenceClassification`: LoRA adapters are merged, and the tokenizer's pad token is the model's
`pad_token_id`. Base model: `{base}`.

## Use

{reading}

```python
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{name}")
model = AutoModelForSequenceClassification.from_pretrained("{name}", dtype=torch.float32)
messages = [{{"role": "user", "content": "What is 2+2?"}}, {{"role": "assistant", "content": "4"}}]
text = tokenizer.apply_chat_template(messages, tokenize=False){text_suffix}
inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
reward = model(**inputs).logits[0, 0].item()
```

## Training recipe

```yaml
{recipe}
```

## Evaluation

{evaluation}
"""


def model_card(manifest: dict[str, Any], recipe: dict[str, Any] | None, evaluation: list[str], name: str) -> str:
    """README.md: Hub metadata, how to load the model with plain transformers, the recipe and the evaluation."""
    base = manifest.get("base_model")
    header: dict[str, Any] = {
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["reward-model", "rewardkit"],
    }
    if base and "/" in base and not base.startswith("/"):
        header["base_model"] = base
    legacy = manifest.get("truncation", {}).get("text_format") == LEGACY_TEXT_FORMAT
    return CARD_TEMPLATE.format(
        reading=LEGACY_READING if legacy else CHAT_TEMPLATE_READING,
        text_suffix='.rstrip("\\n")' if legacy else "",
        header=yaml.safe_dump(header, sort_keys=False).strip(),
        name=name,
        base=base,
        recipe=yaml.safe_dump(recipe, sort_keys=False).rstrip() if recipe else "(no train_config.yaml in the run)",
        evaluation="\n".join(evaluation),
    )


def standalone_model(model: ScalarRewardModel) -> ScalarRewardModel:
    """The model with LoRA adapters merged into the backbone, its pad token id the same in config and tokenizer."""
    if model.is_lora:
        model.model = model.model.merge_and_unload()
    if model.model.config.pad_token_id != model.tokenizer.pad_token_id:
        raise ValueError(
            f"config.json pad_token_id {model.model.config.pad_token_id} differs from the tokenizer's pad token "
            f"{model.tokenizer.pad_token!r} ({model.tokenizer.pad_token_id})"
        )
    return model


def portable_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest of the exported model: full weights, and a base model named without a local path."""
    return portable_value({**manifest, "adapter": "full"})


def export_model(run_dir: str | Path, output: str | Path, report_dir: str | Path | None = None) -> Path:
    """Write the model of a rewardkit BT directory to `output` as a standalone model with a model card."""
    run_dir, output = Path(run_dir), Path(output)
    if output.exists() and any(output.iterdir()):
        raise FileExistsError(f"{output} exists and is not empty: export into a new directory")
    model = standalone_model(ScalarRewardModel.load(str(run_dir), precision="fp32"))
    if model.truncation.text_format == LEGACY_TEXT_FORMAT:
        logger.warning(
            "%s was trained on rewardkit's first text format (no newline after the last end-of-turn marker): plain "
            "apply_chat_template text gives other rewards; the model card says how to feed it",
            run_dir,
        )
    output.mkdir(parents=True, exist_ok=True)
    model.model.save_pretrained(output)
    model.tokenizer.save_pretrained(output)
    manifest = portable_manifest(model.manifest())
    (output / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    evaluation = evaluation_summary(run_dir, Path(report_dir) if report_dir else None)
    (output / CARD_NAME).write_text(model_card(manifest, recipe_of(run_dir), evaluation, output.name))
    logger.info("exported %s to %s", run_dir, output)
    return output


def push_to_hub(directory: str | Path, repo_id: str, private: bool = False) -> str:
    """Create `repo_id` on the Hub (if needed) and upload the exported directory; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(directory), repo_type="model")
    return str(commit)
