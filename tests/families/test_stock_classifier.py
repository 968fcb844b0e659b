"""Reward models saved without rewardkit (here: trained by TRL's RewardTrainer in the test) load by directory and
score exactly as a stock transformers pipeline does; models that are not reward models are refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rewardkit.cli import app
from rewardkit.families.registry import load_reward_model, looks_like_hub_id
from tests.stock_pipeline import conversation, stock_rewards

PAIRS = [
    ("What is 12 plus 7?", "The answer is 19.", "It is 5."),
    ("Reverse the string abc.", "cba", "abc"),
    ("Count the letters in the word banana.", "There are 6 letters in banana.", "banana"),
    ("Say hi", "Hello there, friend!", "no"),
]


@pytest.fixture(scope="module")
def trl_reward_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """A tiny reward model trained for a few steps by TRL's RewardTrainer and saved as TRL saves it."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    output = tmp_path_factory.mktemp("trl-rm")
    rows = [
        {"chosen": conversation(prompt, chosen), "rejected": conversation(prompt, rejected)}
        for prompt, chosen, rejected in PAIRS
    ]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1)
    args = RewardConfig(
        output_dir=str(output / "run"), max_steps=3, per_device_train_batch_size=2, learning_rate=1e-2,
        use_cpu=True, report_to=[], save_strategy="no", logging_steps=1,
    )  # fmt: skip
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    trainer.train()
    trainer.save_model(str(output / "model"))
    return output / "model"


def test_a_trl_reward_model_scores_as_the_stock_pipeline(trl_reward_model_dir, monkeypatch):
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    prompts = [prompt for prompt, _, _ in PAIRS] * 2
    responses = [chosen for _, chosen, _ in PAIRS] + [rejected for _, _, rejected in PAIRS]
    model = load_reward_model(str(trl_reward_model_dir))
    rewards = [score.value for score in model.score(prompts, responses)]
    assert rewards == pytest.approx(stock_rewards(trl_reward_model_dir, prompts, responses), abs=1e-4)


def test_rewardkit_eval_reports_the_stock_rewards_of_a_trl_model(trl_reward_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    data = tmp_path / "pairs.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"p{index}", "prompt": prompt, "chosen": chosen, "rejected": rejected}) + "\n"
            for index, (prompt, chosen, rejected) in enumerate(PAIRS)
        )
    )
    arguments = ["--model", str(trl_reward_model_dir), "--data", str(data), "--report", str(tmp_path / "report")]
    result = CliRunner().invoke(app, ["eval", *arguments, "--bootstrap", "10", "--no-progress"])
    assert result.exit_code == 0, result.output
    predictions = [json.loads(line) for line in (tmp_path / "report" / "predictions.jsonl").read_text().splitlines()]
    prompts = [prompt for prompt, _, _ in PAIRS]
    chosen = stock_rewards(trl_reward_model_dir, prompts, [chosen for _, chosen, _ in PAIRS])
    rejected = stock_rewards(trl_reward_model_dir, prompts, [rejected for _, _, rejected in PAIRS])
    assert [row["score_chosen"] for row in predictions] == pytest.approx(chosen, abs=1e-4)
    assert [row["score_rejected"] for row in predictions] == pytest.approx(rejected, abs=1e-4)


def test_a_causal_lm_is_refused_as_a_reward_model(tiny_model_dir):
    with pytest.raises(
        ValueError, match=r"'architectures' is \['LlamaForCausalLM'\]: not a \*ForSequenceClassification"
    ):
        load_reward_model(str(tiny_model_dir))


def test_a_classifier_with_several_labels_is_refused(tiny_model_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3).save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="field 'num_labels' is 3: a classifier over 3 classes"):
        load_reward_model(str(tmp_path))


def test_rewardkit_eval_says_a_causal_lm_is_not_a_reward_model(tiny_model_dir, tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    result = CliRunner().invoke(
        app, ["eval", "--model", str(tiny_model_dir), "--data", str(data), "--report", str(tmp_path / "r")]
    )
    assert result.exit_code == 1 and "not a *ForSequenceClassification model" in result.output


def test_hub_ids_are_told_apart_from_other_specs():
    assert looks_like_hub_id("Skywork/Skywork-Reward-V2-Qwen3-0.6B")
    assert not looks_like_hub_id("loglik:default") and not looks_like_hub_id("remote:http://host/x")
    assert not looks_like_hub_id("runs/bt/final") and not looks_like_hub_id("longer")


def test_a_hub_id_loads_like_its_directory(trl_reward_model_dir, tmp_path, monkeypatch):
    """`owner/name` resolves through the Hugging Face cache (offline here) to the same model as its directory."""
    import shutil
    import subprocess
    import sys

    revision = "0" * 40
    repository = tmp_path / "hub" / "models--someone--tiny-rm"
    shutil.copytree(trl_reward_model_dir, repository / "snapshots" / revision)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(revision)
    script = (
        "import json; from rewardkit.families.registry import load_reward_model; "
        "print(json.dumps([s.value for s in load_reward_model('someone/tiny-rm').score(['Say hi'], ['Hello'])]))"
    )
    environment = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    environment["REWARDKIT_PRECISION"] = "fp32"
    finished = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    expected = [score.value for score in load_reward_model(str(trl_reward_model_dir)).score(["Say hi"], ["Hello"])]
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == pytest.approx(expected, abs=1e-6)
