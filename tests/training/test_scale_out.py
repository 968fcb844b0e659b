"""A BT recipe under `torchrun` and `accelerate launch` with two CPU processes (gloo): both ranks end with the same
weights, rank 0 alone saves, and the result matches one process with the doubled batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from rewardkit.families.registry import load_reward_model
from rewardkit.training.bt import train_bt
from rewardkit.training.config import load_config
from tests.training.judge_helpers import SMALL_LORA, write_pairs, write_recipe
from tests.training.test_bt_training import DATA

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
SHARD_WORKER = Path(__file__).with_name("shard_worker.py")
JUDGE_WORKER = Path(__file__).with_name("judge_worker.py")
CRITIQUES_WORKER = Path(__file__).with_name("critiques_worker.py")
PROCESSES = 2
PER_PROCESS_BATCH = 2
LAUNCH_TIMEOUT_S = 300
WEIGHT_TOLERANCE = 1e-5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def recipe(tiny_model_dir, tmp_path_factory) -> Path:
    """A full fine-tune of the tiny model, fp32, in plain random order (length grouping depends on the batch)."""
    directory = tmp_path_factory.mktemp("scale-out")
    for name, pairs in (("train", DATA.train), ("eval", DATA.eval)):
        rows = [
            {"id": pair.id, "prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected} for pair in pairs
        ]
        (directory / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    settings = {
        "model": str(tiny_model_dir), "adapter": "full", "precision": "fp32", "group_by_length": False,
        "train": [{"path": str(directory / "train.jsonl")}], "eval_file": str(directory / "eval.jsonl"),
        "max_steps": 3, "per_device_train_batch_size": PER_PROCESS_BATCH, "learning_rate": 1e-3,
        "save_steps": 3, "eval_steps": 3, "logging_steps": 1, "seed": 5,
    }  # fmt: skip
    path = directory / "recipe.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def launch(launcher: list[str], *arguments: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"), str(REPO_ROOT)])}
    environment.update(OMP_NUM_THREADS="1", REWARDKIT_PRECISION="fp32")
    command = [*launcher, *map(str, arguments)]
    finished = subprocess.run(
        command, env=environment, cwd=REPO_ROOT, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]


LAUNCHERS = {
    "torchrun": lambda port: [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={PROCESSES}",
                              f"--master_port={port}"],
    # `--cpu` would start ONE process: accelerate 1.15 sends every --cpu launch to its single-process launcher.
    "accelerate": lambda port: [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                                f"--num_processes={PROCESSES}", f"--main_process_port={port}"],
}  # fmt: skip


@pytest.fixture(scope="module")
def single_process_weights(recipe, tmp_path_factory, monkeypatch_module) -> dict[str, torch.Tensor]:
    """One process with the doubled batch: the reference the multi-process runs must reproduce."""
    monkeypatch_module.setenv("REWARDKIT_PRECISION", "fp32")
    output = tmp_path_factory.mktemp("single") / "model"
    overrides = [f"output_dir={output}", f"per_device_train_batch_size={PER_PROCESS_BATCH * PROCESSES}"]
    train_bt(load_config(recipe, overrides))
    return load_file(output / "model.safetensors")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.slow
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_two_processes_train_one_model_like_one_process_with_the_doubled_batch(
    launcher, recipe, tmp_path, single_process_weights
):
    output, records = tmp_path / "model", tmp_path / "records"
    records.mkdir()
    launch(LAUNCHERS[launcher](free_port()), WORKER, recipe, output, records)

    assert (records / "saves.txt").read_text().split() == ["0"]
    rank_weights = [torch.load(records / f"weights-rank{rank}.pt") for rank in range(PROCESSES)]
    assert all(torch.equal(rank_weights[0][name], rank_weights[1][name]) for name in rank_weights[0])
    saved = load_file(output / "model.safetensors")
    differences = {name: (saved[name] - single_process_weights[name]).abs().max().item() for name in saved}
    assert max(differences.values()) < WEIGHT_TOLERANCE, sorted(differences.items(), key=lambda item: -item[1])[:3]
    log_lines = (output / "train_log.jsonl").read_text().splitlines()
    assert len(log_lines) == len(set(log_lines))  # each record written once, by rank 0


def test_generation_is_dealt_across_ranks_and_gathered_in_order(tmp_path):
    launch(LAUNCHERS["torchrun"](free_port()), SHARD_WORKER, tmp_path)
    shards = [json.loads((tmp_path / f"shard-rank{rank}.json").read_text()) for rank in range(PROCESSES)]
    assert shards == [[0, 2, 4, 6], [1, 3, 5]]
    assert json.loads((tmp_path / "gathered.json").read_text()) == [item * item for item in range(7)]


@pytest.mark.slow
def test_a_star_sft_round_samples_half_per_rank_and_rank_0_writes_one_judge(tiny_model_dir, tmp_path):
    recipe = write_recipe(
        tmp_path / "star.yaml",
        {
            "model": str(tiny_model_dir), "precision": "fp32", "lora": SMALL_LORA, "seed": 3, "rounds": 1,
            "train": [str(write_pairs(tmp_path / "pairs.jsonl", 4))],
            "sampling": {"num_samples": 2, "max_new_tokens": 16},
            "training": {"max_steps": 2, "learning_rate": 1e-3, "per_device_train_batch_size": 1},
        },
    )  # fmt: skip
    output, records = tmp_path / "judge", tmp_path / "records"
    records.mkdir()
    launch(LAUNCHERS["torchrun"](free_port()), JUDGE_WORKER, recipe, output, records)

    sampled = [(records / f"sampled-rank{rank}.txt").read_text().split() for rank in range(PROCESSES)]
    assert sampled == [["2"], ["2"]]  # 4 judge prompts, 2 per rank
    data, record = [json.loads(line) for line in (output / "rounds.jsonl").read_text().splitlines()]
    assert data == {"stage": "data", "pairs": 4, "master_key_negatives": 0}
    assert record["samples"] == 8 and record["kept"] == 4 and record["train_steps"] == 2  # all gathered on rank 0
    assert load_reward_model(str(output)).config.mode == "sample"


@pytest.mark.slow
def test_cloud_critiques_are_dealt_across_ranks_and_written_once_in_order(tiny_model_dir, tmp_path, monkeypatch):
    from rewardkit.data.readers import write_pairs_jsonl
    from rewardkit.training.cloud_config import CritiqueGenerationConfig
    from rewardkit.training.cloud_critiques import CRITIQUES_FILE, generate_self_critiques
    from tests.families.cloud_helpers import tiny_cloud_model
    from tests.training.test_cloud_critiques import PAIRS

    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    critic = tiny_cloud_model(tiny_model_dir).save(tmp_path / "critic")
    pairs = write_pairs_jsonl(PAIRS, tmp_path / "pairs.jsonl")
    settings = {"model": str(critic), "train": [str(pairs)], "pairs_per_call": 3, "precision": "fp32"}
    recipe = write_recipe(tmp_path / "critiques.yaml", settings)
    launch(LAUNCHERS["torchrun"](free_port()), CRITIQUES_WORKER, recipe, tmp_path / "two")

    one_process = load_config(recipe, [f"output_dir={tmp_path / 'one'}"], config_class=CritiqueGenerationConfig)
    generate_self_critiques(one_process, progress=False)
    two = (tmp_path / "two" / CRITIQUES_FILE).read_text().splitlines()
    assert two == (tmp_path / "one" / CRITIQUES_FILE).read_text().splitlines() and len(two) == len(PAIRS)
