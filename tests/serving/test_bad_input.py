"""Bad input on every route is a 4xx whose detail names the problem, never a 500, and the server stays healthy:
malformed JSON, wrong types, empty lists, mismatched lengths, 10 MB and 100 MB bodies, 100,000 items, a text over
the limit, non-UTF-8 bodies, NaN/Infinity, a message without a role, a lone surrogate."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rewardkit.serving.app import create_app
from rewardkit.serving.limits import ServingLimitsConfig
from rewardkit.serving.micro_batcher import BatchingConfig
from tests.evaluation.fakes import ScoreTableModel

CHAT_TEXT = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n"
TURNS = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
POOLING_ROUTES = ("/classify", "/v1/classify", "/pooling", "/v1/embeddings")


def _pooling(n: int) -> dict:
    return {"input": [CHAT_TEXT] * n}


# route -> (a good payload of n items, a payload with a wrong type, a payload whose lists disagree)
PAYLOADS = {
    "/score": (
        lambda n: {"prompts": ["p"] * n, "responses": ["a"] * n},
        {"prompts": "p", "responses": 5},
        {"prompts": ["p", "q"], "responses": ["a"]},
    ),
    "/compare": (
        lambda n: {"prompts": ["p"] * n, "responses_a": ["a"] * n, "responses_b": ["b"] * n},
        {"prompts": ["p"], "responses_a": [1], "responses_b": ["b"]},
        {"prompts": ["p"], "responses_a": ["a", "b"], "responses_b": ["b"]},
    ),
    "/get_reward": (
        lambda n: {"query": ["p a"] * n, "prompts": ["p"] * n},
        {"query": [["p a"]], "prompts": ["p"]},
        {"query": ["p a", "p b"], "prompts": ["p"]},
    ),
    **{route: (_pooling, {"input": 5}, {"input": [CHAT_TEXT], "messages": TURNS}) for route in POOLING_ROUTES},
    "/v1/chat/completions": (
        lambda n: {"messages": TURNS * max(1, n // 2)},
        {"messages": "hi"},
        {"messages": [TURNS[0], TURNS[0]]},
    ),
}
ROUTES = sorted(PAYLOADS)
EMPTY = {
    "/score": {"prompts": [], "responses": []},
    "/compare": {"prompts": [], "responses_a": [], "responses_b": []},
    "/get_reward": {"query": [], "prompts": []},
    **{route: {"input": []} for route in POOLING_ROUTES},
    "/v1/chat/completions": {"messages": []},
}
LIMITS = ServingLimitsConfig(max_body_bytes=8 * 2**20, max_items=1024, max_text_chars=100_000)


@pytest.fixture(scope="module")
def client():
    app = create_app(ScoreTableModel(lambda response: float(len(response))), BatchingConfig(max_wait_ms=1), LIMITS)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _refused(client, route: str, status: int, words: str, **request) -> None:
    answer = client.post(route, **request)
    assert answer.status_code == status, (route, answer.status_code, answer.text[:300])
    assert words in answer.json()["detail"], (route, answer.json()["detail"][:300])
    good, _, _ = PAYLOADS[route]
    assert client.get("/health").status_code == 200
    assert client.post(route, json=good(2)).status_code == 200, "a good request fails after a bad one"


@pytest.mark.parametrize("route", ROUTES)
def test_malformed_json_names_line_and_column(client, route):
    _refused(client, route, 400, "malformed JSON at line 1 column", content=b'{"prompts": [', headers=_JSON)


@pytest.mark.parametrize("route", ROUTES)
def test_wrong_types_name_the_field(client, route):
    _, wrong_type, _ = PAYLOADS[route]
    _refused(client, route, 422, "invalid request: ", json=wrong_type)
    _refused(client, route, 422, "valid dictionary", json=[1, 2])


@pytest.mark.parametrize("route", ROUTES)
def test_empty_lists_are_refused(client, route):
    answer = client.post(route, json=EMPTY[route])
    assert answer.status_code == 422 and ("at least" in answer.text or "empty" in answer.text), answer.text


@pytest.mark.parametrize("route", ROUTES)
def test_lists_that_disagree_are_refused(client, route):
    _, _, mismatched = PAYLOADS[route]
    answer = client.post(route, json=mismatched)
    assert answer.status_code == 422 and answer.json()["detail"], answer.text


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("megabytes", [10, 100])
def test_large_bodies_are_refused_naming_the_limit(client, route, megabytes):
    body = b'{"prompts": ["' + b"x" * (megabytes * 10**6) + b'"]}'
    _refused(client, route, 413, "over the limit of 8,388,608 bytes (--max-body-bytes)", content=body, headers=_JSON)


def test_a_streamed_body_without_length_is_cut_at_the_limit(client):
    chunks = (b"x" * 2**20 for _ in range(20))
    _refused(client, "/score", 413, "--max-body-bytes", content=chunks, headers=_JSON)


@pytest.mark.parametrize("route", ROUTES)
def test_a_hundred_thousand_items_are_refused_naming_the_limit(client, route):
    good, _, _ = PAYLOADS[route]
    _refused(client, route, 413, "entries, over the limit of 1,024 (--max-items)", json=good(100_000))


def test_a_text_over_the_limit_is_refused_with_its_path(client):
    payload = {"prompts": ["p"], "responses": ["x" * 100_001]}
    _refused(client, "/score", 413, "$.responses[0]: a text of 100,001 characters", json=payload)


@pytest.mark.parametrize("route", ROUTES)
def test_a_body_that_is_not_utf8_names_the_byte(client, route):
    _refused(client, route, 400, "not UTF-8: byte 14", content=b'{"prompts": ["\xff\xfe"]}', headers=_JSON)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("route", ["/score", "/classify", "/v1/chat/completions"])
def test_nan_and_infinity_are_refused(client, route, constant):
    body = f'{{"prompts": [{constant}], "responses": ["a"], "input": {constant}}}'.encode()
    _refused(client, route, 400, f"{constant} is not a JSON number", content=body, headers=_JSON)


@pytest.mark.parametrize("route", ["/score", "/v1/chat/completions", "/classify"])
def test_a_message_without_a_role_names_its_place(client, route):
    turns = [{"content": "hi"}, {"role": "assistant", "content": "hello"}]
    payload = {"prompts": [turns[:1]], "responses": ["a"], "messages": turns}
    _refused(client, route, 422, "role: Field required", json=payload)


@pytest.mark.parametrize("route", ROUTES)
def test_a_lone_surrogate_is_refused_with_its_path(client, route):
    body = b'{"prompts": ["\\ud800"], "responses": ["a"], "input": ["\\udc00"], "messages": ["\\ud800"]}'
    _refused(client, route, 400, "lone surrogate", content=body, headers=_JSON)


def test_text_that_is_not_chat_formatted_names_the_input(client):
    _refused(client, "/classify", 422, "input[1]: not a ChatML conversation", json={"input": [CHAT_TEXT, "plain"]})


def test_streaming_chat_is_refused(client):
    _refused(
        client, "/v1/chat/completions", 400, "streaming is not supported", json={"messages": TURNS, "stream": True}
    )


_JSON = {"Content-Type": "application/json"}
