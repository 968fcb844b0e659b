"""Ensemble aggregation math (Coste et al. 2023), normalization round trip, registry loading and the recipe."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from rewardkit.commands import ensemble_cmd
from rewardkit.families.ensemble import EnsembleRewardModel, RewardNormalization, fit_reward_normalization
from rewardkit.families.registry import load_reward_model
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.metrics.reward_aggregation import aggregate_rewards
from rewardkit.protocol import Score
from rewardkit.training.config import load_config
from rewardkit.training.ensemble import EnsembleConfig, load_recipe, member_overrides, train_ensemble
from tests.conftest import REPO_ROOT


class LengthTimesModel:
    """Reward = factor * len(response) + offset."""

    def __init__(self, factor: float, offset: float = 0.0) -> None:
        self.factor, self.offset, self.name = factor, offset, f"len*{factor}"

    def score(self, prompts: Sequence, responses: Sequence[str]) -> list[Score]:
        return [Score(self.factor * len(response) + self.offset) for response in responses]

    def compare(self, prompts, responses_a, responses_b):
        raise NotImplementedError


def test_aggregations_by_hand():
    rewards = np.array([[1.0, -2.0], [3.0, 0.0], [2.0, 2.0]])  # 3 members x 2 items
    assert aggregate_rewards(rewards, "mean") == pytest.approx([2.0, 0.0])
    assert aggregate_rewards(rewards, "wco") == pytest.approx([1.0, -2.0])
    # item 0: var of (1, 3, 2) = 2/3; item 1: var of (-2, 0, 2) = 8/3 (population variance).
    assert aggregate_rewards(rewards, "uwo", uwo_lambda=0.5) == pytest.approx([2.0 - 1 / 3, 0.0 - 4 / 3])
    with pytest.raises(ValueError, match="choose one of mean, wco, uwo"):
        aggregate_rewards(rewards, "median")


class CompiledMember(LengthTimesModel):
    """Stands for a BT member under REWARDKIT_COMPILE=on: `compiles` and `warm_up`, as ScalarRewardModel has them."""

    compiles = True

    def warm_up(self) -> None:
        self.warmed = True


def test_an_ensemble_warms_up_its_compiled_members_only():
    eager, compiled = LengthTimesModel(1.0), CompiledMember(2.0)
    assert not EnsembleRewardModel([eager]).compiles
    ensemble = EnsembleRewardModel([eager, compiled])
    assert ensemble.compiles
    ensemble.warm_up()
    assert compiled.warmed and not hasattr(eager, "warmed")


def test_fit_normalization_and_scores_carry_members_and_variance():
    ensemble = EnsembleRewardModel([LengthTimesModel(1.0), LengthTimesModel(-2.0, offset=10.0)], method="uwo")
    normalizations = ensemble.fit_normalization(["p"] * 3, ["a", "abc", "abcde"])
    assert normalizations[0] == RewardNormalization(mean=3.0, std=pytest.approx(math.sqrt(8 / 3)))
    assert normalizations[1].mean == pytest.approx(4.0) and normalizations[1].std == pytest.approx(
        2 * math.sqrt(8 / 3)
    )
    [score] = ensemble.score(["p"], ["abcde"])
    z = 2 / math.sqrt(8 / 3)
    assert score.members.rewards == pytest.approx([z, -z])
    assert score.meta["member_raw_rewards"] == pytest.approx([5.0, 0.0])
    assert score.meta["variance"] == pytest.approx(z**2)
    assert score.value == pytest.approx(0.0 - 0.5 * z**2)


def test_compare_is_sigmoid_of_aggregated_difference():
    ensemble = EnsembleRewardModel([LengthTimesModel(1.0), LengthTimesModel(0.5)], method="wco")
    [preference] = ensemble.compare(["p"], ["abcd"], ["ab"])
    # unnormalized: A -> min(4, 2) = 2, B -> min(2, 1) = 1
    assert preference.p_a_better == pytest.approx(1 / (1 + math.exp(-1.0)))


def test_constant_rewards_cannot_be_normalized():
    with pytest.raises(ValueError, match="several different responses"):
        fit_reward_normalization([2.0, 2.0, 2.0])


def test_save_needs_member_specs(tmp_path):
    with pytest.raises(ValueError, match="from_specs"):
        EnsembleRewardModel([LengthTimesModel(1.0)]).save(tmp_path)


@pytest.fixture(scope="module")
def tiny_members(tiny_model_dir, tmp_path_factory) -> list[str]:
    """Two tiny scalar reward models differing only by the head's seed, saved as rewardkit directories."""
    root = tmp_path_factory.mktemp("ensemble-members")
    return [
        str(ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=seed).save(root / f"m{seed}")) for seed in (0, 1)
    ]


def test_normalization_round_trip_through_save_and_registry(tiny_members, tmp_path):
    ensemble = EnsembleRewardModel.from_specs(tiny_members, method="uwo", uwo_lambda=0.25)
    responses = ["The answer is 19.", "banana has 6 letters", "cba", "Let's solve this step by step."]
    ensemble.fit_normalization(["What is 12 plus 7?"] * 4, responses)
    before = ensemble.score(["What is 12 plus 7?"] * 2, responses[:2])
    ensemble.save(tmp_path / "ens")
    manifest = json.loads((tmp_path / "ens" / "rewardkit.json").read_text())
    assert manifest["family"] == "ensemble" and manifest["method"] == "uwo" and manifest["uwo_lambda"] == 0.25
    assert len(manifest["normalization"]) == 2
    loaded = load_reward_model(str(tmp_path / "ens"))
    assert isinstance(loaded, EnsembleRewardModel)
    assert loaded.normalizations == ensemble.normalizations
    after = loaded.score(["What is 12 plus 7?"] * 2, responses[:2])
    assert [s.value for s in after] == pytest.approx([s.value for s in before], abs=1e-5)
    members_after = np.array([s.members.rewards for s in after])
    assert members_after == pytest.approx(np.array([s.members.rewards for s in before]), abs=1e-5)
    assert not np.allclose(members_after[:, 0], members_after[:, 1])  # the seeds give different members


def test_member_paths_inside_the_directory_are_relative(tmp_path):
    (tmp_path / "ens" / "members" / "a").mkdir(parents=True)
    ensemble = EnsembleRewardModel([LengthTimesModel(1.0)], member_specs=[str(tmp_path / "ens" / "members" / "a")])
    ensemble.save(tmp_path / "ens")
    assert json.loads((tmp_path / "ens" / "rewardkit.json").read_text())["members"] == ["members/a"]


def test_bad_manifest_names_the_field(tmp_path):
    (tmp_path / "rewardkit.json").write_text(
        json.dumps({"family": "ensemble", "members": ["longer"], "normalization": [{"mean": 0}]})
    )
    with pytest.raises(ValueError, match="field 'normalization'"):
        EnsembleRewardModel.load(tmp_path)
    (tmp_path / "rewardkit.json").write_text(json.dumps({"family": "ensemble", "members": []}))
    with pytest.raises(ValueError, match="field 'members'"):
        load_reward_model(str(tmp_path))


def write_recipe(tmp_path, **fields) -> object:
    path = tmp_path / "recipe.yaml"
    (tmp_path / "bt.yaml").write_text("model: default\n")
    lines = ["member_config: bt.yaml"] + [f"{key}: {json.dumps(value)}" for key, value in fields.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_recipe_trains_one_member_per_seed_with_an_injected_trainer(tiny_model_dir, tmp_path):
    calibration = tmp_path / "calibration.jsonl"
    calibration.write_text(
        "".join(
            json.dumps({"prompt": "q", "chosen": c, "rejected": r}) + "\n" for c, r in [("aa", "b"), ("cccc", "d")]
        )
    )
    recipe = load_recipe(
        write_recipe(
            tmp_path, seeds=[3, 5], member_overrides=["max_steps=1"], method="wco", calibration_data=str(calibration)
        )
    )
    loaded, trained = [], []

    def fake_load(path, overrides):
        loaded.append((path, overrides))
        return dict(item.split("=", 1) for item in overrides)

    def fake_train(config):
        trained.append(config)
        seed = int(config["seed"])
        ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=seed).save(json.loads(config["output_dir"]))

    ensemble = train_ensemble(recipe, tmp_path / "out", load_member_config=fake_load, train_member=fake_train)
    assert [path for path, _ in loaded] == [str(tmp_path / "bt.yaml")] * 2
    assert [config["seed"] for config in trained] == ["3", "5"]
    assert all(config["max_steps"] == "1" for config in trained)
    manifest = json.loads((tmp_path / "out" / "rewardkit.json").read_text())
    assert manifest["members"] == ["members/seed-3", "members/seed-5"] and manifest["method"] == "wco"
    assert len(ensemble.normalizations) == 2
    assert isinstance(load_reward_model(str(tmp_path / "out")), EnsembleRewardModel)


def test_member_overrides_validate_against_the_real_bt_config(tmp_path):
    from rewardkit.training.config import load_config

    recipe = EnsembleConfig(
        member_config=str(write_recipe(tmp_path).parent / "bt.yaml"), member_overrides=["max_steps=2"]
    )
    config = load_config(recipe.member_config, member_overrides(7, tmp_path / "members" / "seed-7", recipe))
    assert (config.seed, config.output_dir, config.max_steps) == (7, str(tmp_path / "members" / "seed-7"), 2)


def test_recipe_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown field"):
        load_recipe(write_recipe(tmp_path, epochs=3))
    with pytest.raises(ValueError, match="distinct"):
        load_recipe(write_recipe(tmp_path, seeds=[1, 1]))
    with pytest.raises(ValueError, match="choose one of"):
        load_recipe(write_recipe(tmp_path, method="max"))


def test_shipped_recipe_parses():
    recipe = load_recipe(REPO_ROOT / "configs" / "ensemble_bt.yaml")
    assert recipe.seeds == [0, 1, 2] and recipe.method == "uwo"
    config = load_config(recipe.member_config, member_overrides(0, Path("members/seed-0"), recipe))
    assert config.model == "default" and config.seed == 0
    assert config.train[0].path.endswith("gsm8k_train.jsonl") and config.num_train_epochs == 2


def test_ensemble_command_builds_a_normalized_ensemble(tmp_path):
    app, train_app = typer.Typer(), typer.Typer()
    app.add_typer(train_app, name="train")
    ensemble_cmd.register(app, train_app)
    calibration = tmp_path / "bon.jsonl"
    calibration.write_text(
        json.dumps({"id": "1", "prompt": "q", "candidates": ["a", "bbb", "cc"], "correct": [1, 0, 0]})
    )
    args = [
        "ensemble",
        "--member",
        "longer",
        "--member",
        "random:1",
        "--output",
        str(tmp_path / "e"),
        "--method",
        "mean",
        "--calibration",
        str(calibration),
    ]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 1 and "element 0 is int, expected bool" in outcome.output
    calibration.write_text(
        json.dumps({"id": "1", "prompt": "q", "candidates": ["a", "bbb", "cc"], "correct": [True, False, False]})
    )
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    loaded = load_reward_model(str(tmp_path / "e"))
    assert loaded.normalizations[0] == RewardNormalization(mean=2.0, std=pytest.approx(math.sqrt(2 / 3)))


def test_recipe_with_the_real_bt_trainer(tiny_model_dir, tmp_path):
    """One optimizer step per member on synthetic pairs: the recipe drives rewardkit.training.bt end to end."""
    (tmp_path / "bt.yaml").write_text(
        f"model: {json.dumps(str(tiny_model_dir))}\nadapter: full\nsynthetic: {{n: 8, seed: 0}}\nmax_steps: 1\n"
        "eval_fraction: 0.25\neval_steps: 0\nsave_steps: 1000\nmax_length: 64\nmax_response_length: 32\n"
    )
    calibration = tmp_path / "calibration.jsonl"
    calibration.write_text(
        "".join(
            json.dumps({"id": str(i), "question": "What is 12 plus 7?", "solution": s}) + "\n"
            for i, s in enumerate(["#### 19", "The answer is 19.", "12 plus 7 is 19, so #### 19"])
        )
    )
    recipe = EnsembleConfig(member_config=str(tmp_path / "bt.yaml"), seeds=[0], calibration_data=str(calibration))
    ensemble = train_ensemble(recipe, tmp_path / "ens")
    assert (tmp_path / "ens" / "members" / "seed-0" / "train_result.json").is_file()
    assert len(ensemble.normalizations) == 1 and ensemble.normalizations[0].std > 0
    [score] = load_reward_model(str(tmp_path / "ens")).score(["What is 12 plus 7?"], ["#### 19"])
    assert len(score.members.rewards) == 1


def test_rerunning_the_recipe_reuses_members_trained_with_the_same_config(tiny_model_dir, tmp_path):
    (tmp_path / "bt.yaml").write_text(
        f"model: {json.dumps(str(tiny_model_dir))}\nadapter: full\nsynthetic: {{n: 8, seed: 0}}\nmax_steps: 1\n"
        "eval_fraction: 0.25\neval_steps: 0\nsave_steps: 1000\nmax_length: 64\nmax_response_length: 32\n"
    )
    first = EnsembleConfig(member_config=str(tmp_path / "bt.yaml"), seeds=[0])
    train_ensemble(first, tmp_path / "ens")
    retrained = []

    def record_training(config):
        retrained.append(config.seed)
        from rewardkit.training.bt import train_bt

        return train_bt(config)

    more_seeds = EnsembleConfig(member_config=str(tmp_path / "bt.yaml"), seeds=[0, 1])
    ensemble = train_ensemble(
        more_seeds, tmp_path / "ens", load_member_config=load_config, train_member=record_training
    )
    assert retrained == [1] and len(ensemble.members) == 2
    changed = EnsembleConfig(member_config=str(tmp_path / "bt.yaml"), seeds=[0], member_overrides=["max_steps=2"])
    with pytest.raises(FileExistsError, match="already holds checkpoint"):  # never silently overwritten
        train_ensemble(changed, tmp_path / "ens", load_member_config=load_config, train_member=record_training)
    assert retrained == [1, 0]
