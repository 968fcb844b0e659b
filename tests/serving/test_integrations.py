"""TRL reward_funcs and verl compute_score over the RewardModel protocol (fake models, real call conventions)."""

from __future__ import annotations

import pytest

from rewardkit.protocol import MemberRewards, Votes
from rewardkit.serving import integrations
from rewardkit.serving.integrations import (
    completion_text,
    compute_score,
    compute_score_batch,
    short_metric_name,
    trl_reward_function,
)
from tests.evaluation.fakes import ScoreTableModel


class RecordingModel(ScoreTableModel):
    def __init__(self) -> None:
        super().__init__(lambda response: float(len(response)), name="recording")
        self.calls: list[tuple[list, list]] = []

    def score(self, prompts, responses):
        self.calls.append((list(prompts), list(responses)))
        return super().score(prompts, responses)


def test_trl_reward_function_takes_trl_keyword_call_and_chunks():
    model = RecordingModel()
    reward = trl_reward_function(model, batch_size=2)
    rewards = reward(
        prompts=["p1", "p2", "p3"], completions=["a", "bb", "ccc"], completion_ids=[[1], [2], [3]], answer=["x"] * 3
    )
    assert rewards == [1.0, 2.0, 3.0]
    assert [len(responses) for _, responses in model.calls] == [2, 1]
    assert reward.__name__ == "recording"


def test_trl_conversational_completions_are_read_as_their_assistant_text():
    model = RecordingModel()
    prompts = [[{"role": "user", "content": "hi"}]]
    completions = [[{"role": "assistant", "content": "hello"}]]
    assert trl_reward_function(model)(prompts=prompts, completions=completions) == [5.0]
    assert model.calls == [(prompts, ["hello"])]
    assert completion_text("plain") == "plain"


def test_trl_reward_function_refuses_mismatched_lists():
    with pytest.raises(ValueError, match="2 prompts but 1 completions"):
        trl_reward_function(RecordingModel())(prompts=["a", "b"], completions=["x"])


@pytest.fixture
def cached_recording_model(monkeypatch):
    model = RecordingModel()
    monkeypatch.setattr(integrations, "_cached_model", lambda spec: model if spec == "fake-spec" else None)
    return model


def test_verl_compute_score_reads_the_prompt_from_extra_info(cached_recording_model):
    score = compute_score("gsm8k", "four", "4", extra_info={"question": "2+2?"}, model="fake-spec")
    assert score == 4.0 and cached_recording_model.calls == [(["2+2?"], ["four"])]


def test_verl_batch_entry_makes_one_model_call(cached_recording_model, monkeypatch):
    monkeypatch.setenv(integrations.MODEL_ENV, "fake-spec")
    scores = compute_score_batch(["a", "b"], ["x", "yyy"], ["1", "2"], [{"prompt": "p"}, {"problem": "q"}])
    assert scores == [1.0, 3.0] and len(cached_recording_model.calls) == 1


def test_verl_without_a_prompt_names_the_sample_and_the_keys(cached_recording_model):
    with pytest.raises(ValueError, match="sample 1: extra_info has none of prompt, question"):
        compute_score_batch(["a", "b"], ["x", "y"], None, [{"prompt": "p"}, {"index": 3}], model="fake-spec")


def test_verl_without_a_model_says_where_to_set_it(monkeypatch):
    monkeypatch.delenv(integrations.MODEL_ENV, raising=False)
    with pytest.raises(ValueError, match="reward_kwargs.model"):
        compute_score("d", "s", None, {"prompt": "p"})


def test_trl_reward_function_loads_a_spec_through_the_registry():
    reward = trl_reward_function("longer")
    assert (
        reward(prompts=["p", "p"], completions=["a", "a much longer answer"])[1]
        > reward(prompts=["p"], completions=["a"])[0]
    )


def test_a_real_grpo_step_calls_the_reward_function_and_logs_it(tiny_model_dir, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    model = RecordingModel()
    prompts = Dataset.from_list([{"prompt": [{"role": "user", "content": text}]} for text in ("hi", "yo")])
    config = GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=2, num_generations=2, max_completion_length=4,
        max_steps=1, report_to=[], logging_steps=1, use_cpu=True, save_strategy="no",
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=str(tiny_model_dir), reward_funcs=[trl_reward_function(model)], args=config, train_dataset=prompts
    )
    trainer.train()
    [(called_prompts, called_responses)] = model.calls
    assert called_prompts[0][0]["role"] == "user" and all(isinstance(text, str) for text in called_responses)
    logged = trainer.state.log_history[0]
    assert logged["rewards/recording/mean"] == pytest.approx(
        sum(len(text) for text in called_responses) / len(called_responses)
    )


def test_verl_compute_score_loads_a_saved_model_once_and_matches_it(tiny_model_dir, tmp_path, monkeypatch):
    from rewardkit.families.scalar import ScalarRewardModel

    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")  # the loaded copy runs in fp32 too: the numbers match exactly

    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, precision="fp32")
    saved = str(model.save(tmp_path / "bt"))
    monkeypatch.setattr(integrations, "_loaded_models", {})
    first = compute_score("gsm8k", "It is 4.", "4", {"question": "What is 2+2?"}, model=saved)
    batch = compute_score_batch(["gsm8k"], ["It is 4."], ["4"], [{"question": "What is 2+2?"}], model=saved)
    expected = model.score(["What is 2+2?"], ["It is 4."])[0].value
    assert first == pytest.approx(expected, abs=1e-4) and batch[0] == pytest.approx(expected, abs=1e-4)
    assert list(integrations._loaded_models) == [saved]


def test_short_metric_names_drop_the_family_and_the_directories():
    assert short_metric_name("bt:/home/someone/runs/bt-lora") == "bt-lora"
    assert short_metric_name("loglik:default") == "default"
    assert short_metric_name("recording") == "recording"


class DiagnosedModel(RecordingModel):
    """Scores that carry a judge's votes and an ensemble's members, as generative judges and ensembles return."""

    def score(self, prompts, responses):
        scores = super().score(prompts, responses)
        for index, score in enumerate(scores):
            score.votes = Votes(verdicts=("A", None), forced=index, unreadable=index == 0)
            score.members = MemberRewards(rewards=[0.0, 2.0 * index], method="mean", uwo_lambda=0.0)
        return scores


def test_trl_reward_function_logs_score_diagnostics_through_log_metric():
    logged: dict[str, float] = {}
    reward = trl_reward_function(DiagnosedModel(), name="judge")
    reward(prompts=["p", "q"], completions=["a", "b"], log_metric=logged.__setitem__)
    assert logged == {"judge/unreadable": 0.5, "judge/forced_verdicts": 0.5, "judge/member_std": 0.5}


def test_async_trl_reward_function_is_a_coroutine_trl_awaits():
    import asyncio

    from trl.trainer.utils import is_async_callable

    reward = trl_reward_function(RecordingModel(), asynchronous=True)
    assert is_async_callable(reward)
    assert asyncio.run(reward(prompts=["p"], completions=["abc"], trainer_state=None)) == [3.0]
