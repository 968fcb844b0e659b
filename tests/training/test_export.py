"""`rewardkit export`: full and LoRA BT models become standalone models that plain transformers scores as rewardkit
does, with a model card, a consistent pad token, no checkpoints and no path of the training machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from rewardkit.cli import app
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.models.chat import LEGACY_TEXT_FORMAT
from rewardkit.training.bt import train_bt
from rewardkit.training.config import build_config
from rewardkit.training.export import export_model, portable_value
from rewardkit.training.pairwise_trainer import checkpoints_dir
from tests.stock_pipeline import conversation, stock_rewards
from tests.training.test_bt_training import DATA

PROMPTS = [pair.prompt for pair in DATA.eval] * 2
RESPONSES = [pair.chosen for pair in DATA.eval] + [pair.rejected for pair in DATA.eval]


def train_tiny(tiny_model_dir: Path, output: Path, adapter: str, **settings) -> Path:
    config = build_config(
        settings
        | {
            "model": str(tiny_model_dir), "output_dir": str(output), "adapter": adapter, "precision": "fp32",
            "max_steps": 2, "per_device_train_batch_size": 4, "learning_rate": 5e-3, "save_steps": 1,
            "eval_steps": 2, "logging_steps": 1, "seed": 3,
            "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
        }
    )  # fmt: skip
    return Path(train_bt(config, data=DATA).model_dir)


@pytest.fixture(scope="module", params=["full", "lora"])
def trained_and_exported(request, tiny_model_dir, tmp_path_factory) -> tuple[Path, Path]:
    run_dir = train_tiny(tiny_model_dir, tmp_path_factory.mktemp(f"run-{request.param}"), request.param)
    return run_dir, export_model(run_dir, tmp_path_factory.mktemp("exported") / f"rm-{request.param}")


def test_plain_transformers_gets_rewardkits_rewards_from_the_export(trained_and_exported, monkeypatch):
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    run_dir, exported = trained_and_exported
    rewardkit_rewards = ScalarRewardModel.load(str(run_dir), precision="fp32").rewards(PROMPTS, RESPONSES)
    assert stock_rewards(exported, PROMPTS, RESPONSES) == pytest.approx(rewardkit_rewards, abs=1e-4)


def test_the_export_is_standalone_and_holds_no_path_of_the_training_machine(trained_and_exported, tmp_path_factory):
    run_dir, exported = trained_and_exported
    assert checkpoints_dir(run_dir).is_dir() and not (run_dir / "checkpoints").exists()  # kept beside the model
    names = sorted(path.name for path in exported.rglob("*"))
    assert not [name for name in names if "checkpoint" in name or name.startswith(("optimizer", "scheduler"))]
    assert "adapter_config.json" not in names and "model.safetensors" in names and "README.md" in names
    machine_paths = [str(tmp_path_factory.getbasetemp()), str(Path.home())]
    leaks = [
        f"{path.name} holds {machine_path}"
        for path in exported.rglob("*")
        if path.is_file()
        for machine_path in machine_paths
        if machine_path.encode() in path.read_bytes()
    ]
    assert leaks == []


def test_the_export_pads_with_the_id_its_config_names(trained_and_exported):
    from transformers import AutoConfig, AutoTokenizer

    _, exported = trained_and_exported
    assert json.loads((exported / "config.json").read_text())["pad_token_id"] == (
        AutoTokenizer.from_pretrained(exported).pad_token_id
    )
    config = AutoConfig.from_pretrained(exported)
    assert config.architectures == ["LlamaForSequenceClassification"] and config.num_labels == 1


def test_the_model_card_holds_the_recipe_and_the_evaluation(trained_and_exported):
    _, exported = trained_and_exported
    card = (exported / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers")
    assert "learning_rate: 0.005" in card and "max_steps: 2" in card
    assert "eval_accuracy" in card and "AutoModelForSequenceClassification.from_pretrained" in card


def test_export_cli_pushes_the_exported_directory_to_the_hub(trained_and_exported, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    calls = []
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kwargs: calls.append(("create", repo_id)))
    monkeypatch.setattr(
        HfApi, "upload_folder", lambda self, **kwargs: calls.append(("upload", kwargs)) or "https://hub/commit/1"
    )
    run_dir, _ = trained_and_exported
    target = tmp_path / "exported"
    result = CliRunner().invoke(app, ["export", str(run_dir), str(target), "--push-to-hub", "someone/tiny-rm"])
    assert result.exit_code == 0, result.output
    assert calls == [
        ("create", "someone/tiny-rm"),
        ("upload", {"repo_id": "someone/tiny-rm", "folder_path": str(target), "repo_type": "model"}),
    ]


def test_export_refuses_a_directory_that_is_not_empty(trained_and_exported, tmp_path):
    run_dir, _ = trained_and_exported
    (tmp_path / "kept.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        export_model(run_dir, tmp_path)


def test_paths_in_a_recipe_keep_only_their_file_names():
    recipe = {"model": "/home/me/models/base", "train": [{"path": "../shared/data/pairs.jsonl"}], "lr": 0.1}
    assert portable_value(recipe) == {"model": "base", "train": [{"path": "pairs.jsonl"}], "lr": 0.1}


def test_train_bt_export_writes_the_standalone_model_at_the_end(tiny_model_dir, tmp_path):
    import yaml

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(pair.__dict__ | {"extra": {}}) + "\n" for pair in DATA.train))
    recipe = tmp_path / "recipe.yaml"
    settings = {"model": str(tiny_model_dir), "train": [str(pairs)], "max_steps": 1, "precision": "fp32"}
    recipe.write_text(yaml.safe_dump(settings))
    arguments = ["train", "bt", "--config", str(recipe), "--output", str(tmp_path / "run")]
    result = CliRunner().invoke(app, [*arguments, "--export", str(tmp_path / "standalone")])
    assert result.exit_code == 0, result.output
    assert f"standalone model: {tmp_path / 'standalone'}" in result.output
    assert (tmp_path / "standalone" / "README.md").is_file() and not checkpoints_dir(tmp_path / "standalone").exists()


def test_the_model_card_summarizes_a_rewardkit_eval_report(trained_and_exported, tmp_path):
    run_dir, _ = trained_and_exported
    pairs = tmp_path / "pairs.jsonl"
    rows = [pair.__dict__ | {"extra": {}, "category": "chat"} for pair in DATA.eval]
    pairs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    evaluated = CliRunner().invoke(
        app, ["eval", "--model", str(run_dir), "--data", str(pairs), "--report", str(tmp_path / "report"),
              "--bootstrap", "10", "--no-progress"],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    card = (export_model(run_dir, tmp_path / "exported", report_dir=tmp_path / "report") / "README.md").read_text()
    assert f"`rewardkit eval` on `pairs.jsonl`: mean of sections {report['mean_of_sections']:.3f}" in card
    assert f"| chat | {report['sections']['chat']['accuracy']:.3f} | {len(rows)} |" in card


def test_a_model_of_the_first_text_format_gets_a_card_that_reproduces_its_rewards(
    tiny_model_dir, tmp_path, monkeypatch
):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    run_dir = train_tiny(tiny_model_dir, tmp_path / "run", "full", text_format=LEGACY_TEXT_FORMAT)
    exported = export_model(run_dir, tmp_path / "exported")
    card = (exported / "README.md").read_text()
    assert "first text format" in card and 'tokenize=False).rstrip("\\n")' in card
    tokenizer = AutoTokenizer.from_pretrained(exported)
    model = AutoModelForSequenceClassification.from_pretrained(exported, dtype=torch.float32).eval()
    texts = [
        tokenizer.apply_chat_template(conversation(prompt, response), tokenize=False).rstrip("\n")
        for prompt, response in zip(PROMPTS, RESPONSES, strict=True)
    ]  # what the card tells a plain-transformers user to feed
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        card_rewards = model(**batch).logits[:, 0].tolist()
    rewardkit_rewards = ScalarRewardModel.load(str(run_dir), precision="fp32").rewards(PROMPTS, RESPONSES)
    assert card_rewards == pytest.approx(rewardkit_rewards, abs=1e-4)
    assert stock_rewards(exported, PROMPTS, RESPONSES) != pytest.approx(rewardkit_rewards, abs=1e-4)
