"""Step splitting, prefix scoring and the Clip / Delta refinements of Gao et al. 2024 (arXiv 2410.15115), by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rewardkit.families.process import (
    ProcessRewardModel,
    clip_rewards,
    delta_rewards,
    prefix_step_rewards,
    process_return,
    refine_step_rewards,
    split_steps,
    step_prefixes,
)
from rewardkit.protocol import Score


class LinesModel:
    """Reward of a prefix = 0.5 * number of its lines; records what it scored."""

    name = "lines"

    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def score(self, prompts: Sequence, responses: Sequence[str]) -> list[Score]:
        self.seen.append((list(prompts), list(responses)))
        return [Score(0.5 * len(response.splitlines())) for response in responses]

    def compare(self, prompts, responses_a, responses_b):
        raise NotImplementedError


@pytest.mark.parametrize(
    ("mode", "text", "steps"),
    [
        ("lines", "a = 1\n\nb = 2\nc", ["a = 1\n\n", "b = 2\n", "c"]),
        ("lines", "\nonly\n", ["\nonly\n"]),
        ("steps", "Plan.\nStep 1: x=1\nmore\nStep 2: y=2.\n", ["Plan.\n", "Step 1: x=1\nmore\n", "Step 2: y=2.\n"]),
        ("steps", "## Step 1. a\n## Step 2) b", ["## Step 1. a\n", "## Step 2) b"]),
        (
            "sentences",
            "It costs 3.5 dollars. Then 2! Done?  ok",
            ["It costs 3.5 dollars. ", "Then 2! ", "Done?  ", "ok"],
        ),
    ],
)
def test_split_steps_keeps_every_character(mode, text, steps):
    assert split_steps(text, mode) == steps
    assert "".join(split_steps(text, mode)) == text


def test_step_prefixes_and_unknown_mode():
    assert step_prefixes(["a\n\n", "b\n", "c"]) == ["a", "a\n\nb", "a\n\nb\nc"]
    with pytest.raises(ValueError, match="lines, steps, sentences"):
        split_steps("x", "paragraphs")


def test_prefix_rewards_use_one_batched_call():
    model = LinesModel()
    rewards = prefix_step_rewards(model, ["p1", "p2"], ["a\nb\nc", "x"])
    assert rewards == [[0.5, 1.0, 1.5], [0.5]]
    assert model.seen == [(["p1", "p1", "p1", "p2"], ["a", "a\nb", "a\nb\nc", "x"])]


def test_clip_by_hand():
    # r = (0.7, 0.2, 0.4, 0.8), eta = 0.5 -> min(r - 0.5, 0) = (0, -0.3, -0.1, 0)
    assert clip_rewards([0.7, 0.2, 0.4, 0.8], eta=0.5) == pytest.approx([0.0, -0.3, -0.1, 0.0])


def test_delta_by_hand_and_its_return_telescopes():
    rewards = [0.7, 0.2, 0.4, 0.8]
    assert delta_rewards(rewards) == pytest.approx([0.5, -0.2, -0.4, 0.8])
    refined = delta_rewards(rewards)
    for start in range(4):  # the return from step t is r_t
        assert process_return(refined[start:]) == pytest.approx(rewards[start])
    assert delta_rewards([]).size == 0


def test_clip_delta_and_returns():
    rewards = [0.7, 0.2, 0.4, 0.8]
    assert refine_step_rewards(rewards, "clip-delta", eta=0.5) == pytest.approx([0.3, -0.2, -0.1, 0.0])
    assert process_return(refine_step_rewards(rewards, "none")) == pytest.approx(2.1)
    assert process_return(refine_step_rewards(rewards, "clip", eta=0.5)) == pytest.approx(-0.4)
    with pytest.raises(ValueError, match="choose one of none, clip, delta, clip-delta"):
        refine_step_rewards(rewards, "cap")


def test_repeating_steps_cannot_raise_a_clipped_return():
    """The reward-hacking case of Gao et al.: padding a solution with more steps never adds reward under Clip."""
    model = ProcessRewardModel(LinesModel(), refinement="clip", eta=10.0)
    short, padded = model.score(["p", "p"], ["a\nb", "a\nb\nb\nb\nb"])
    assert padded.value <= short.value
    plain = ProcessRewardModel(LinesModel(), refinement="none")
    short, padded = plain.score(["p", "p"], ["a\nb", "a\nb\nb\nb\nb"])
    assert padded.value > short.value


def test_process_reward_model_protocol():
    model = ProcessRewardModel(LinesModel(), refinement="delta")
    [score] = model.score(["p"], ["a\nb\nc"])
    assert score.meta["step_rewards"] == [0.5, 1.0, 1.5]
    assert score.meta["refined_step_rewards"] == pytest.approx([-0.5, -0.5, 1.5])
    assert score.value == pytest.approx(0.5)
    [preference] = model.compare(["p"], ["a\nb\nc"], ["a"])
    assert preference.p_a_better == pytest.approx(0.5)  # Delta's return is r_1 for both
    with pytest.raises(ValueError, match="split mode"):
        ProcessRewardModel(LinesModel(), split_mode="words")


def test_process_spec_wraps_any_registered_model():
    from rewardkit.families.registry import load_reward_model

    model = load_reward_model("process:longer?refinement=delta&split=lines")
    assert isinstance(model, ProcessRewardModel) and (model.refinement, model.split_mode) == ("delta", "lines")
    # `longer` scores a prefix by its length: Delta telescopes to the first step's length.
    [score] = model.score(["q"], ["ab\ncdef\n"])
    assert score.meta["refined_step_rewards"][-1] == score.meta["step_rewards"][-1]
    assert score.value == pytest.approx(score.meta["step_rewards"][0])
    with pytest.raises(ValueError, match="unknown option"):
        load_reward_model("process:longer?eta=0.1&window=3")
    with pytest.raises(ValueError, match="needs an inner reward model"):
        load_reward_model("process:")
