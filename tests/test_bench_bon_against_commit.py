"""bench/bench_bon_against_commit.py: the model both trees read, the alternating order, and a real worker process
checked to come from the tree it was given."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rewardkit.data.bon_data import BonItem, write_bon_jsonl
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.models.chat import TruncationConfig, legacy_truncation
from tests.scripts import REPO, load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/bench_bon_against_commit.py")


@pytest.fixture(scope="module")
def saved_model(tiny_model_dir, tmp_path_factory):
    truncation = TruncationConfig(max_length=64, max_response_length=32, response_truncation="keep_end")
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp32", truncation=truncation)
    return model.save(tmp_path_factory.mktemp("saved") / "bt")


@pytest.fixture(scope="module")
def bon_file(tmp_path_factory):
    items = [
        BonItem(f"q{n}", f"What is {n} + {n}?", [f"It is {2 * n}.", "No idea.", f"{n}"], [True, False, False])
        for n in range(3)
    ]
    return write_bon_jsonl(items, tmp_path_factory.mktemp("bon") / "items.jsonl")


def test_both_trees_get_the_model_with_the_earlier_encoding_and_the_same_weights(bench, saved_model, tmp_path):
    linked = bench.model_for_both(saved_model, tmp_path / "model")
    manifest = json.loads((linked / "rewardkit.json").read_text())
    assert set(manifest["truncation"]) == {"max_length", "max_response_length"}
    assert json.loads((saved_model / "rewardkit.json").read_text())["truncation"]["response_truncation"] == "keep_end"
    weights = [entry for entry in saved_model.iterdir() if entry.name != "rewardkit.json"]
    assert weights and all((linked / entry.name).resolve() == entry.resolve() for entry in weights)
    assert ScalarRewardModel.load(linked).truncation == legacy_truncation(max_length=64, max_response_length=32)


def test_the_trees_alternate_which_goes_first_and_rewards_stay_in_item_order(bench, monkeypatch):
    calls = []

    def fake_time_in(source, model, data, bounds):
        calls.append((source.name, bounds))
        return {"seconds": 1.0, "rewards": list(range(*bounds)), "precision": "fp32", "weight_dtype": "torch.float32"}

    monkeypatch.setattr(bench, "time_in", fake_time_in)
    trees = {"today": REPO / "today", "earlier": REPO / "earlier"}
    timed = bench.time_alternating(trees, REPO, REPO, [(0, 2), (2, 5), (5, 6)])
    assert calls == [
        ("today", (0, 2)), ("earlier", (0, 2)), ("earlier", (2, 5)), ("today", (2, 5)), ("today", (5, 6)),
        ("earlier", (5, 6)),
    ]  # fmt: skip
    for run in timed.values():
        assert run["seconds"] == 3.0 and run["rewards"].tolist() == list(range(6))


def test_a_worker_scores_with_the_tree_it_is_given(bench, saved_model, bon_file, tmp_path, monkeypatch):
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")  # the worker inherits it; bf16 rewards move with batching
    linked = bench.model_for_both(saved_model, tmp_path / "model")
    result = bench.time_in(REPO / "src", linked, bon_file, (1, 3))
    scorer = ScalarRewardModel.load(linked)
    expected = [scorer.rewards([f"What is {n} + {n}?"] * 3, [f"It is {2 * n}.", "No idea.", f"{n}"]) for n in (1, 2)]
    assert result["seconds"] > 0 and np.allclose(result["rewards"], np.concatenate(expected), atol=1e-5)

    with pytest.raises(RuntimeError, match="not the tree"):
        bench.time_in(tmp_path / "no_rewardkit_here", linked, bon_file, (0, 1))


def test_a_commit_the_checkout_lacks_ends_with_one_error_line(bench, tmp_path):
    with pytest.raises(SystemExit, match="cannot check out 0000000 .* git checkout holding it"):
        bench.earlier_tree("0000000", tmp_path / "tree")
