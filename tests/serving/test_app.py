"""The HTTP server on fake models and tiny real ones: routes, OpenRLHF's format, errors that name the field, one
model call at a time."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from rewardkit.families.generative import GenerativeJudge
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.protocol import Capabilities, Preference, Score
from rewardkit.serving.app import create_app
from rewardkit.serving.micro_batcher import BatchingConfig
from tests.evaluation.fakes import ScoreTableModel


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
    assert answer["rewards"] == answer["scores"] == [6.0, 10.0]  # " hello", " hey there": whitespace is kept


def test_get_reward_gives_the_reward_score_gives_for_the_same_text(client):
    prompt, response = "Q: hi A:", " hello \n"
    via_score = client.post("/score", json={"prompts": [prompt], "responses": [response]}).json()["scores"]
    via_openrlhf = client.post("/get_reward", json={"query": [prompt + response], "prompts": [prompt]}).json()
    assert via_openrlhf["rewards"] == via_score == [8.0]


def test_mismatched_lists_are_refused_naming_the_fields(client):
    answer = client.post("/score", json={"prompts": ["p", "q"], "responses": ["a"]})
    assert answer.status_code == 422
    assert "prompts has 2" in answer.text and "responses has 1" in answer.text


def test_unsplittable_query_is_a_422_naming_its_index(client):
    answer = client.post("/get_reward", json={"query": ["abc"], "prompts": ["zzz"]})
    assert answer.status_code == 422 and "query[0]" in answer.json()["detail"]


def test_a_real_pairwise_only_judge_answers_501_for_scores(tiny_model_dir):
    judge = GenerativeJudge(str(tiny_model_dir), template="pairwise", max_new_tokens=4)
    with TestClient(create_app(judge, BatchingConfig(max_wait_ms=1))) as client:
        compared = client.post("/compare", json={"prompts": ["p"], "responses_a": ["a"], "responses_b": ["b"]})
        scored = client.post("/score", json={"prompts": ["p"], "responses": ["a"]})
        rewarded = client.post("/get_reward", json={"query": ["p a"], "prompts": ["p"]})
        info = client.get("/info").json()
    assert compared.status_code == 200 and 0.0 <= compared.json()["p_a_better"][0] <= 1.0
    assert scored.status_code == 501 and "score()" in scored.json()["detail"]
    assert rewarded.status_code == 501
    assert info["capabilities"] == {"score": False, "compare": True, "references": False}
    assert info["tie_credit"] == 0.5


class OverlapRecordingModel:
    """Holds the model for `seconds` per call and records how many calls were inside at once."""

    name = "overlap-recorder"
    tie_credit = 0.0
    capabilities = Capabilities()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.inside = 0
        self.most_inside = 0
        self.lock = threading.Lock()

    def _hold(self) -> None:
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        time.sleep(self.seconds)
        with self.lock:
            self.inside -= 1

    def score(self, prompts, responses):
        self._hold()
        return [Score(1.0) for _ in responses]

    def compare(self, prompts, responses_a, responses_b):
        self._hold()
        return [Preference(0.5) for _ in responses_a]


async def _score_and_compare_at_once(app, rounds: int) -> list[int]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rewardkit") as client:
            score = {"prompts": ["p"], "responses": ["a"]}
            compare = {"prompts": ["p"], "responses_a": ["a"], "responses_b": ["b"]}
            requests = [client.post("/score", json=score) for _ in range(rounds)]
            requests += [client.post("/compare", json=compare) for _ in range(rounds)]
            answers = await asyncio.gather(*requests)
    return [answer.status_code for answer in answers]


def test_score_and_compare_sent_together_never_overlap_in_the_model():
    model = OverlapRecordingModel(seconds=0.05)
    app = create_app(model, BatchingConfig(max_batch_size=1, max_wait_ms=0))
    statuses = asyncio.run(_score_and_compare_at_once(app, rounds=3))
    assert statuses == [200] * 6
    assert model.most_inside == 1


def test_info_counts_requests_and_model_calls(client):
    client.post("/score", json={"prompts": ["p"], "responses": ["a"]})
    info = client.get("/info").json()
    assert info["model"] == "score-table" and info["batches"]["requests"] == 1
    assert info["batches"]["model_calls"] == 1


def test_served_scalar_model_matches_the_model_itself(tiny_model_dir):
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, precision="fp32")
    prompts, responses = ["Say hi", "Add 2 and 3"], ["hi", "5"]
    expected = [score.value for score in model.score(prompts, responses)]
    with TestClient(create_app(model, BatchingConfig(max_wait_ms=1))) as client:
        served = client.post("/score", json={"prompts": prompts, "responses": responses}).json()["scores"]
    assert served == pytest.approx(expected, abs=1e-5)


class RatingJudge(ScoreTableModel):
    """A pointwise judge: it writes a rating text and the rating is its reward."""

    def score(self, prompts, responses):
        return [Score(float(len(r)), f"The answer is fine. Rating: {len(r)}") for r in responses]


def test_chat_completions_answer_with_the_judge_text_and_the_parsed_reward():
    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "four"}]
    with TestClient(create_app(RatingJudge(length_reward), BatchingConfig(max_wait_ms=1))) as client:
        answer = client.post("/v1/chat/completions", json={"model": "judge", "messages": turns}).json()
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "The answer is fine. Rating: 4"}
    assert answer["reward"] == 4.0 and answer["object"] == "chat.completion"
