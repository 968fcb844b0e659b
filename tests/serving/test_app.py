"""The HTTP server on fake models and a tiny scalar model: routes, OpenRLHF's format, errors that name the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.serving.app import create_app
from rewardkit.serving.micro_batcher import BatchingConfig
from tests.evaluation.fakes import JudgeModel, ScoreTableModel


def length_reward(response: str) -> float:
    return float(len(response))


@pytest.fixture
def client():
    with TestClient(create_app(ScoreTableModel(length_reward), BatchingConfig(max_wait_ms=1))) as test_client:
        yield test_client


def test_score_returns_the_model_reward_per_response(client):
    answer = client.post(
        "/score", json={"prompts": ["p", [{"role": "user", "content": "q"}]], "responses": ["ab", "abcd"]}
    )
    assert answer.status_code == 200
    assert answer.json()["scores"] == [2.0, 4.0]


def test_compare_returns_p_a_better(client):
    answer = client.post("/compare", json={"prompts": ["p"], "responses_a": ["long answer"], "responses_b": ["a"]})
    assert answer.status_code == 200 and answer.json()["p_a_better"][0] > 0.99


def test_get_reward_speaks_openrlhf(client):
    payload = {
        "query": ["Q: hi A: hello", "Q: yo A: hey there"],
        "prompts": ["Q: hi A:", "Q: yo A:"],
        "labels": ["", ""],
    }
    answer = client.post("/get_reward", json=payload).json()
    assert answer["rewards"] == [
        5.0,
        9.0,
    ]  # "hello", "hey there": the leading space is cut and answer["scores"] == answer["rewards"]


def test_mismatched_lists_are_refused_naming_the_fields(client):
    answer = client.post("/score", json={"prompts": ["p", "q"], "responses": ["a"]})
    assert answer.status_code == 422
    assert "prompts has 2" in answer.text and "responses has 1" in answer.text


def test_unsplittable_query_is_a_422_naming_its_index(client):
    answer = client.post("/get_reward", json={"query": ["abc"], "prompts": ["zzz"]})
    assert answer.status_code == 422 and "query[0]" in answer.json()["detail"]


def test_a_pairwise_only_judge_answers_501_for_scores():
    app = create_app(JudgeModel(lambda a, b: (0.7, {})), BatchingConfig(max_wait_ms=1))
    with TestClient(app) as client:
        assert client.post("/compare", json={"prompts": ["p"], "responses_a": ["a"], "responses_b": ["b"]}).json() == {
            "p_a_better": [0.7],
            "rationales": None,
        }
        answer = client.post("/score", json={"prompts": ["p"], "responses": ["a"]})
    assert answer.status_code == 501 and "pairwise only" in answer.json()["detail"]


def test_info_counts_requests_and_model_calls(client):
    client.post("/score", json={"prompts": ["p"], "responses": ["a"]})
    info = client.get("/info").json()
    assert info["model"] == "score-table" and info["score_batches"]["requests"] == 1
    assert info["score_batches"]["model_calls"] == 1


def test_served_scalar_model_matches_the_model_itself(tiny_model_dir):
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, precision="fp32")
    prompts, responses = ["Say hi", "Add 2 and 3"], ["hi", "5"]
    expected = [score.value for score in model.score(prompts, responses)]
    with TestClient(create_app(model, BatchingConfig(max_wait_ms=1))) as client:
        served = client.post("/score", json={"prompts": prompts, "responses": responses}).json()["scores"]
    assert served == pytest.approx(expected, abs=1e-5)
