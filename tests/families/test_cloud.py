"""CloudRewardModel on the tiny model: save/load identity, self-consistency, batched critiques, compare, specs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from rewardkit.families.cloud import CloudRewardModel, CritiqueSamplingConfig, load_cloud, self_consistent_score
from rewardkit.families.registry import load_reward_model
from rewardkit.protocol import RewardModel
from tests.families.cloud_helpers import PROMPTS, RESPONSES, tiny_cloud_model


@pytest.fixture(autouse=True, scope="module")
def single_thread_fp32():
    """One torch thread (tiny models only contend) and no bf16 autocast, so batched and single results match."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REWARDKIT_PRECISION", "fp32")
        yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def cloud_model(tiny_model_dir, single_thread_fp32) -> CloudRewardModel:
    return tiny_cloud_model(tiny_model_dir)


@pytest.fixture(scope="module")
def saved_dir(cloud_model, tmp_path_factory):
    return cloud_model.save(tmp_path_factory.mktemp("cloud"))


def test_implements_the_protocol(cloud_model):
    assert isinstance(cloud_model, RewardModel)


def test_reload_gives_identical_rewards_and_greedy_critiques(cloud_model, saved_dir):
    reloaded = CloudRewardModel.load(saved_dir, precision="fp32")
    before, after = cloud_model.score(PROMPTS, RESPONSES), reloaded.score(PROMPTS, RESPONSES)
    assert [score.text for score in after] == [score.text for score in before]
    assert all(score.text for score in before), "greedy critiques should be non-empty text"
    assert [score.value for score in after] == [score.value for score in before]
    manifest = json.loads((saved_dir / "rewardkit.json").read_text())
    assert manifest["family"] == "cloud" and manifest["critique_format"]["max_new_tokens"] == 8
    assert (saved_dir / "reward_head.safetensors").is_file() and (saved_dir / "config.json").is_file()


def test_sampled_critiques_repeat_with_the_same_seed(saved_dir):
    sampling = {"num_samples": 3, "temperature": 1.0, "seed": 5}
    first = CloudRewardModel.load(saved_dir, sampling_overrides=sampling, precision="fp32").score(PROMPTS, RESPONSES)
    again = CloudRewardModel.load(saved_dir, sampling_overrides=sampling, precision="fp32").score(PROMPTS, RESPONSES)
    assert [score.meta["critiques"] for score in first] == [score.meta["critiques"] for score in again]
    assert [score.value for score in first] == [score.value for score in again]


def test_self_consistent_score_is_the_mean_with_the_variance_as_uncertainty():
    score = self_consistent_score(["a", "b", "c", "d"], [1.0, 2.0, 3.0, 6.0])
    assert score.value == 3.0 and score.text == "a"
    assert score.meta["variance"] == pytest.approx(3.5)  # ((-2)^2 + 1 + 0 + 9) / 4
    assert score.meta["critiques"] == ["a", "b", "c", "d"] and score.meta["critique_rewards"] == [1.0, 2.0, 3.0, 6.0]


def test_k_sampled_critiques_are_averaged(cloud_model):
    sampling = CritiqueSamplingConfig(num_samples=4, temperature=1.0, seed=3)
    cloud_model.sampling = sampling
    try:
        scores = cloud_model.score(PROMPTS, RESPONSES)
    finally:
        cloud_model.sampling = CritiqueSamplingConfig()
    for prompt, response, score in zip(PROMPTS, RESPONSES, scores, strict=True):
        critiques = score.meta["critiques"]
        assert len(critiques) == 4 and len(set(critiques)) > 1
        one_by_one = [cloud_model.critique_rewards([prompt], [response], [[text]])[0][0] for text in critiques]
        rewards = score.meta["critique_rewards"]
        assert rewards == pytest.approx(one_by_one, abs=1e-5)
        assert score.value == pytest.approx(np.mean(rewards)) and score.meta["variance"] == pytest.approx(
            np.var(rewards)
        )


def test_batched_greedy_critiques_equal_one_by_one(cloud_model):
    cloud_model.max_batch_rows = 2  # several engine chunks, each left-padded
    try:
        batched = cloud_model.generate_critiques(PROMPTS * 2, RESPONSES + RESPONSES[::-1])
    finally:
        cloud_model.max_batch_rows = 32
    pairs = zip(PROMPTS * 2, RESPONSES + RESPONSES[::-1], strict=True)
    single = [cloud_model.generate_critiques([prompt], [response])[0] for prompt, response in pairs]
    assert batched == single


def test_rewards_do_not_depend_on_batch_padding(cloud_model):
    critiques = [["The answer is right."], ["Wrong, it is cba."], ["Count again: 6 letters."]]
    batched = [rewards[0] for rewards in cloud_model.critique_rewards(PROMPTS, RESPONSES, critiques)]
    items = zip(PROMPTS, RESPONSES, critiques, strict=True)
    single = [cloud_model.critique_rewards([prompt], [response], [texts])[0][0] for prompt, response, texts in items]
    assert batched == pytest.approx(single, abs=1e-5)


def test_forward_gives_the_lm_logits_of_exactly_the_critique_tokens(cloud_model):
    encoded = cloud_model.encoder.with_critique(PROMPTS[0], RESPONSES[0], "The answer is right.")
    input_ids = torch.tensor([encoded.input_ids])
    mask = torch.zeros_like(input_ids)
    mask[0, encoded.critique_start : encoded.critique_end] = 1
    with torch.no_grad():
        output = cloud_model.network(input_ids, torch.ones_like(input_ids), mask)
        full_logits = cloud_model.network.language_model(input_ids).logits[0]
    span = range(encoded.critique_start, encoded.critique_end)
    assert output.critique_labels.tolist() == [encoded.input_ids[position] for position in span]
    torch.testing.assert_close(output.critique_logits, full_logits[[position - 1 for position in span]])


def test_compare_is_sigmoid_of_the_mean_rewards(cloud_model):
    preferences = cloud_model.compare(PROMPTS, RESPONSES, RESPONSES[::-1])
    scores = cloud_model.score(PROMPTS * 2, RESPONSES + RESPONSES[::-1])
    for index, preference in enumerate(preferences):
        a, b = scores[index].value, scores[index + 3].value
        assert preference.diagnostics.scores[0] == pytest.approx(a, abs=1e-6)
        assert preference.p_a_better == pytest.approx(1 / (1 + math.exp(b - a)), abs=1e-6)
        assert preference.meta["critique_a"] == scores[index].text and preference.meta["variance_b"] == 0.0


def test_registry_spec_sets_sampling_and_rejects_bad_options(saved_dir):
    model = load_reward_model(f"cloud:{saved_dir}?num_samples=2&temperature=0.7&max_new_tokens=4&precision=fp32")
    assert (model.sampling.num_samples, model.sampling.temperature, model.sampling.max_new_tokens) == (2, 0.7, 4)
    assert isinstance(load_reward_model(str(saved_dir)), CloudRewardModel)
    with pytest.raises(ValueError, match="kk.*sampling options: num_samples, temperature"):
        load_cloud(f"{saved_dir}?kk=2")
    with pytest.raises(ValueError, match="greedy critiques would all be the same"):
        load_cloud(f"{saved_dir}?num_samples=3")


def test_older_spec_keys_still_work_with_a_deprecation_note(saved_dir):
    with (
        pytest.warns(FutureWarning, match="'k' is deprecated, write 'num_samples'"),
        pytest.warns(FutureWarning, match="'dtype' is deprecated, write 'precision'"),
    ):
        model = load_cloud(f"{saved_dir}?k=2&temperature=0.7&max_new_tokens=4&dtype=fp32")
    assert (model.sampling.num_samples, model.precision) == (2, "fp32")
    manifest_path = saved_dir / "rewardkit.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["sampling"] = {"k" if key == "num_samples" else key: value for key, value in manifest["sampling"].items()}
    manifest_path.write_text(json.dumps(manifest))
    assert CloudRewardModel.load(saved_dir, precision="fp32").sampling.num_samples == 1  # saved before the rename


def test_loading_another_family_is_a_clear_error(tmp_path):
    (tmp_path / "rewardkit.json").write_text(json.dumps({"family": "bt"}))
    with pytest.raises(ValueError, match="field 'family': expected 'cloud', got 'bt'"):
        CloudRewardModel.load(tmp_path)
