"""The main job end to end on the tiny model: trains, evaluates the BT model next to the baselines, summarizes."""

from __future__ import annotations

import json

import pytest
import torch

from rewardkit.commands.quickstart_cmd import QuickstartConfig, run_quickstart


@pytest.fixture(autouse=True)
def single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_quickstart_writes_summary_with_every_model(tiny_model_dir, shared_data, tmp_path):
    config = QuickstartConfig(
        output=tmp_path / "run",
        model=str(tiny_model_dir),
        n_train=48,
        n_eval=16,
        max_steps=2,
        dev_file=shared_data / "eval" / "rewardbench_like_dev.jsonl",
        dev_per_category=2,
    )

    summary = run_quickstart(config)

    totals = json.loads((config.output / "summary.json").read_text())
    assert set(totals["synthetic_accuracy"]) == {"bt-quickstart", "random", "longer", "loglik"}
    assert set(totals["dev_slice_mean_of_sections"]) == {"bt-quickstart", "random", "longer", "loglik"}
    assert "bt-quickstart" in summary.read_text()
    assert (config.output / "reports" / "dev" / "loglik" / "report.json").is_file()


def test_quickstart_without_dev_file_still_reports_synthetic(tiny_model_dir, tmp_path):
    config = QuickstartConfig(
        output=tmp_path / "run",
        model=str(tiny_model_dir),
        n_train=48,
        n_eval=16,
        max_steps=1,
        dev_file=tmp_path / "absent.jsonl",
    )

    run_quickstart(config)

    totals = json.loads((config.output / "summary.json").read_text())
    assert "dev_slice_mean_of_sections" not in totals
    assert len(totals["synthetic_accuracy"]) == 4
