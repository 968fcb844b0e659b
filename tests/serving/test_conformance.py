"""Every shape a client speaks returns the offline `score()` of the same (prompt, response), to 1e-5 in fp32, read
by the clients' own code where it installs: OpenRLHF's fetch function, verl's reward-loop request code (vLLM and
SGLang engines), the `openai` client; and `remote:URL` speaking vLLM's and SGLang's shapes. Once on a tiny random
model, once on the default model (integration)."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
import requests

from rewardkit.families.process import prefix_step_rewards
from rewardkit.families.remote import RemoteRewardModel
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.serving.app import create_app
from rewardkit.serving.micro_batcher import BatchingConfig
from rewardkit.serving.pooling_api import usage_of
from tests.serving.live_server import live_server

TOLERANCE = 1e-5
CONVERSATIONS = [
    ([{"role": "user", "content": "Say hi"}], "hi there"),
    ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Add 2 and 3"}], " 5 \n"),
    ([{"role": "user", "content": "List two steps"}], "First, read.\nThen, add 2 and 3.\nSo 5."),
]
PROMPTS = [prompt for prompt, _ in CONVERSATIONS]
RESPONSES = [response for _, response in CONVERSATIONS]


def _served(model: ScalarRewardModel):
    return live_server(create_app(model, BatchingConfig(max_batch_size=4, max_wait_ms=2)))


@pytest.fixture(scope="module")
def tiny_rm(tiny_model_dir) -> ScalarRewardModel:
    return ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, precision="fp32")


@pytest.fixture(scope="module")
def tiny_server(tiny_rm):
    with _served(tiny_rm) as url:
        yield url


@pytest.fixture(scope="module")
def offline(tiny_rm) -> list[float]:
    return [score.value for score in tiny_rm.score(PROMPTS, RESPONSES)]


def _chat_text(model: ScalarRewardModel, prompt, response: str) -> str:
    return model.tokenizer.apply_chat_template(prompt + [{"role": "assistant", "content": response}], tokenize=False)


def _openrlhf_rewards(url: str, model: ScalarRewardModel) -> list[float]:
    """OpenRLHF 0.11.2's HTTP fetch: prompt text (chat template + generation prompt) and prompt + decoded response."""
    agent = pytest.importorskip("openrlhf.utils.agent")
    tokenizer = model.tokenizer
    prompts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in PROMPTS]
    queries = [p + r + tokenizer.eos_token for p, r in zip(prompts, RESPONSES, strict=True)]
    executor = agent.SingleTurnAgentExecutor(f"{url}/get_reward")
    answers = asyncio.run(executor._fetch_rewards_via_http(queries, prompts, [""] * len(queries)))
    return [reward for answer in answers for reward in answer["rewards"]]


def _verl_reward(url: str, model: ScalarRewardModel, engine: str, prompt, response: str) -> float:
    """verl's RewardLoopWorker.compute_score_disrm on one rollout: it applies the RM's chat template, posts to the
    router as vLLM (`/classify`) or SGLang (`/v1/embeddings`) and reads the reward."""
    reward_loop = pytest.importorskip("verl.experimental.reward_loop.reward_loop")
    import torch
    from omegaconf import OmegaConf
    from verl.protocol import DataProto

    worker = reward_loop.RewardLoopWorker.__new__(reward_loop.RewardLoopWorker)
    worker.config = OmegaConf.create({"reward": {"reward_model": {"rollout": {"name": engine}, "model_path": "rm"}}})
    worker.reward_router_address = url.removeprefix("http://")
    worker.input_tokenizer = worker.reward_model_tokenizer = model.tokenizer
    response_ids = torch.tensor([model.tokenizer(response, add_special_tokens=False)["input_ids"]])
    raw_prompt = np.empty(1, dtype=object)
    raw_prompt[0] = prompt
    data = DataProto.from_dict(
        tensors={
            "responses": response_ids,
            "attention_mask": torch.ones(1, 3 + response_ids.shape[1], dtype=torch.long),
        },
        non_tensors={"raw_prompt": raw_prompt},
    )
    return asyncio.run(worker.compute_score_disrm(data))["reward_score"]


def _post(url: str, route: str, payload: dict) -> dict:
    answer = requests.post(url + route, json=payload, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_score_and_openrlhf_get_reward_match_offline(tiny_server, tiny_rm, offline):
    assert _post(tiny_server, "/score", {"prompts": PROMPTS, "responses": RESPONSES})["scores"] == pytest.approx(
        offline, abs=TOLERANCE
    )
    assert _openrlhf_rewards(tiny_server, tiny_rm) == pytest.approx(offline, abs=TOLERANCE)


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_verl_reward_loop_reads_the_offline_reward(tiny_server, tiny_rm, engine):
    decoded = [
        tiny_rm.tokenizer.decode(tiny_rm.tokenizer(r, add_special_tokens=False)["input_ids"]) for r in RESPONSES
    ]
    expected = [score.value for score in tiny_rm.score(PROMPTS, decoded)]
    read = [_verl_reward(tiny_server, tiny_rm, engine, p, r) for p, r in zip(PROMPTS, RESPONSES, strict=True)]
    assert read == pytest.approx(expected, abs=TOLERANCE)


def test_vllm_and_sglang_classify_texts_and_messages_match_offline(tiny_server, tiny_rm, offline):
    texts = [_chat_text(tiny_rm, p, r) for p, r in CONVERSATIONS]
    for route in ("/classify", "/v1/classify"):
        raw = _post(tiny_server, route, {"model": "rm", "input": texts, "use_activation": False})
        assert [row["probs"][-1] for row in raw["data"]] == pytest.approx(offline, abs=TOLERANCE)
        activated = _post(tiny_server, route, {"model": "rm", "input": texts})["data"]
        assert [row["probs"][0] for row in activated] == pytest.approx([1 / (1 + math.exp(-r)) for r in offline])
    for (prompt, response), expected in zip(CONVERSATIONS, offline, strict=True):
        messages = prompt + [{"role": "assistant", "content": response}]
        answer = _post(tiny_server, "/classify", {"messages": messages, "activation": False})
        assert answer["data"][0]["probs"] == pytest.approx([expected], abs=TOLERANCE)


def test_pooling_classify_embeddings_and_token_classify_match_offline(tiny_server, tiny_rm, offline):
    texts = [_chat_text(tiny_rm, p, r) for p, r in CONVERSATIONS]
    pooled = _post(tiny_server, "/pooling", {"input": texts, "task": "classify", "use_activation": False})
    assert [row["data"][0] for row in pooled["data"]] == pytest.approx(offline, abs=TOLERANCE)
    embedded = _post(tiny_server, "/v1/embeddings", {"input": texts})
    assert [row["embedding"][-1] for row in embedded["data"]] == pytest.approx(offline, abs=TOLERANCE)
    steps = _post(tiny_server, "/pooling", {"input": texts, "task": "token_classify", "use_activation": False})
    expected_steps = prefix_step_rewards(tiny_rm, PROMPTS, RESPONSES)
    assert len(expected_steps[2]) == 3  # the third response has three lines: three step rewards
    for row, expected in zip(steps["data"], expected_steps, strict=True):
        assert [value for (value,) in row["data"]] == pytest.approx(expected, abs=TOLERANCE)


def test_openai_client_reads_the_reward_of_the_judged_turn(tiny_server, tiny_rm, offline):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{tiny_server}/v1", api_key="unused")
    for (prompt, response), expected in zip(CONVERSATIONS, offline, strict=True):
        completion = client.chat.completions.create(
            model="rm", messages=prompt + [{"role": "assistant", "content": response}]
        )
        assert completion.model_extra["reward"] == pytest.approx(expected, abs=TOLERANCE)
        assert float(completion.choices[0].message.content) == pytest.approx(expected, abs=TOLERANCE)
        assert completion.usage.prompt_tokens == len(tiny_rm.encode([prompt], [response])[0]) > 0
    assert client.models.list().data[0].id == tiny_rm.name


@pytest.mark.parametrize("spec_query", ["?api=vllm", "?api=sglang&tokenizer={tokenizer}", ""])
def test_remote_speaks_vllm_and_sglang_shapes(tiny_server, tiny_model_dir, tiny_rm, offline, spec_query):
    from rewardkit.families.registry import load_reward_model

    remote = load_reward_model(f"remote:{tiny_server}{spec_query.format(tokenizer=tiny_model_dir)}")
    assert isinstance(remote, RemoteRewardModel)
    assert [score.value for score in remote.score(PROMPTS, RESPONSES)] == pytest.approx(offline, abs=TOLERANCE)
    [preference] = remote.compare(PROMPTS[:1], RESPONSES[:1], RESPONSES[1:2])
    expected = tiny_rm.compare(PROMPTS[:1], RESPONSES[:1], RESPONSES[1:2])[0].p_a_better
    assert preference.p_a_better == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.integration
def test_every_shape_matches_offline_on_the_default_model():
    model = ScalarRewardModel.from_backbone("default", seed=0, precision="fp32")
    offline = [score.value for score in model.score(PROMPTS, RESPONSES)]
    texts = [_chat_text(model, p, r) for p, r in CONVERSATIONS]
    with _served(model) as url:
        assert _post(url, "/score", {"prompts": PROMPTS, "responses": RESPONSES})["scores"] == pytest.approx(
            offline, abs=TOLERANCE
        )
        assert _openrlhf_rewards(url, model) == pytest.approx(offline, abs=TOLERANCE)
        classified = _post(url, "/classify", {"input": texts, "use_activation": False})["data"]
        assert [row["probs"][-1] for row in classified] == pytest.approx(offline, abs=TOLERANCE)
        embedded = _post(url, "/v1/embeddings", {"input": texts})["data"]
        assert [row["embedding"][-1] for row in embedded] == pytest.approx(offline, abs=TOLERANCE)
        chat = _post(
            url, "/v1/chat/completions", {"messages": PROMPTS[0] + [{"role": "assistant", "content": RESPONSES[0]}]}
        )
        assert chat["reward"] == pytest.approx(offline[0], abs=TOLERANCE)
        verl_read = _verl_reward(url, model, "vllm", PROMPTS[1], RESPONSES[1])
        decoded = model.tokenizer.decode(model.tokenizer(RESPONSES[1], add_special_tokens=False)["input_ids"])
        assert verl_read == pytest.approx(model.score(PROMPTS[1:2], [decoded])[0].value, abs=TOLERANCE)


def test_pooling_usage_counts_the_tokens_the_model_reads(tiny_server, tiny_rm):
    texts = [_chat_text(tiny_rm, p, r) for p, r in CONVERSATIONS]
    read = sum(len(ids) for ids in tiny_rm.encode(PROMPTS, RESPONSES))
    for route, payload in [
        ("/classify", {"input": texts}),
        ("/v1/embeddings", {"input": texts}),
        ("/pooling", {"input": texts, "task": "classify"}),
    ]:
        usage = _post(tiny_server, route, payload)["usage"]
        assert usage == {"prompt_tokens": read, "total_tokens": read, "completion_tokens": 0}, route
    prompt, response = CONVERSATIONS[2]
    steps = ["First, read.", "First, read.\nThen, add 2 and 3.", response]  # the three step prefixes it scores
    step_tokens = sum(len(ids) for ids in tiny_rm.encode([prompt] * 3, steps))
    answer = _post(tiny_server, "/pooling", {"input": [texts[2]], "task": "token_classify"})
    assert len(answer["data"][0]["data"]) == 3 and answer["usage"]["prompt_tokens"] == step_tokens


def test_usage_is_zero_for_a_model_that_cannot_count_tokens():
    assert usage_of(object(), PROMPTS, RESPONSES).model_dump() == {
        "prompt_tokens": 0,
        "total_tokens": 0,
        "completion_tokens": 0,
    }
