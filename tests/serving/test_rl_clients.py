"""rewardkit driven by the RL trainers' own client code (requirements/rl-clients.txt, installed with --no-deps):
OpenRLHF's SingleTurnAgentExecutor posting to `rewardkit serve` (a prompt it truncates included) and verl 0.9's
reward loop calling `compute_score` from many threads at once."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from rewardkit.families import registry
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.serving import integrations
from rewardkit.serving.app import create_app
from rewardkit.serving.micro_batcher import BatchingConfig
from tests.evaluation.fakes import ScoreTableModel

RESPONSE = "It is four."
SYSTEM = " ".join(["You are a careful assistant."] * 12)  # long enough that the client's prompt budget cuts it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def scalar_model(tiny_model_dir) -> ScalarRewardModel:
    return ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=0, precision="fp32")


@pytest.fixture
def served_url(scalar_model):
    """`rewardkit serve`'s app on a local port, run by uvicorn in a thread (what `rewardkit serve` starts)."""
    import uvicorn

    port = free_port()
    app = create_app(scalar_model, BatchingConfig(max_wait_ms=1))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/get_reward"
    server.should_exit = True
    thread.join()


class FixedResponseEngine:
    """The part of a vLLM engine OpenRLHF's executor calls: `generate` answering RESPONSE, ended like a chat turn."""

    def __init__(self, tokenizer) -> None:
        self.token_ids = tokenizer(RESPONSE + "<|im_end|>", add_special_tokens=False)["input_ids"]
        self.seen_prompt_ids: list[int] = []

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        self.seen_prompt_ids = list(prompt_token_ids)
        output = SimpleNamespace(token_ids=self.token_ids, finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[output])


def openrlhf_rollout(url: str, tokenizer, prompt_text: str, max_length: int):
    """One OpenRLHF 0.11 single-turn rollout: its executor truncates the prompt, generates, and asks `url`."""
    openrlhf_agent = pytest.importorskip("openrlhf.utils.agent")
    engine = FixedResponseEngine(tokenizer)
    executor = openrlhf_agent.SingleTurnAgentExecutor(remote_rm_url=url)
    sampling = SimpleNamespace(max_tokens=len(engine.token_ids) + 2, logprobs=None)
    output = asyncio.run(executor.execute(prompt_text, "", sampling, max_length, tokenizer, engine))
    return output, engine


def chat_prompt(scalar_model: ScalarRewardModel) -> tuple[list[dict[str, str]], str]:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What is 2+2?"}]
    text = scalar_model.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return messages, text


def test_openrlhf_client_gets_the_reward_of_the_response(served_url, scalar_model):
    messages, prompt_text = chat_prompt(scalar_model)
    output, engine = openrlhf_rollout(served_url, scalar_model.tokenizer, prompt_text, max_length=4096)
    assert engine.seen_prompt_ids == scalar_model.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    assert output["reward"] == pytest.approx([scalar_model.score([messages], [RESPONSE])[0].value], abs=1e-5)


def test_openrlhf_truncated_prompt_still_gets_the_reward_with_a_warning(served_url, scalar_model, caplog):
    messages, prompt_text = chat_prompt(scalar_model)
    prompt_ids = scalar_model.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    output, engine = openrlhf_rollout(served_url, scalar_model.tokenizer, prompt_text, max_length=len(prompt_ids))
    assert len(engine.seen_prompt_ids) < len(prompt_ids)  # OpenRLHF cut the prompt from the left
    assert output["reward"] == pytest.approx([scalar_model.score([messages], [RESPONSE])[0].value], abs=1e-5)
    assert "truncated a long prompt" in caplog.text


def verl_batch(tokenizer, count: int):
    """`count` samples as verl's rollout hands them to the reward loop: left-padded prompts, right-padded responses."""
    import numpy as np
    import torch
    from verl import DataProto

    prompt_ids = tokenizer("What is 2+2?", add_special_tokens=False)["input_ids"]
    responses = [f"{RESPONSE} ({index})" for index in range(count)]
    response_ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in responses]
    width = max(len(ids) for ids in response_ids)
    padded = [ids + [tokenizer.pad_token_id] * (width - len(ids)) for ids in response_ids]
    mask = [[1] * len(prompt_ids) + [1] * len(ids) + [0] * (width - len(ids)) for ids in response_ids]
    data = DataProto.from_dict(
        tensors={
            "prompts": torch.tensor([prompt_ids] * count),
            "responses": torch.tensor(padded),
            "attention_mask": torch.tensor(mask),
        },
        non_tensors={
            "data_source": np.array(["gsm8k"] * count, dtype=object),
            "reward_model": np.array([{"ground_truth": "4"} for _ in range(count)], dtype=object),
            "extra_info": np.array([{"question": "What is 2+2?"} for _ in range(count)], dtype=object),
        },
    )
    return data, responses


def test_verl_reward_loop_loads_the_model_once_for_twelve_concurrent_samples(tiny_model_dir, monkeypatch):
    pytest.importorskip("verl.experimental.reward_loop.reward_manager.naive")
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls
    from verl.trainer.ppo.reward import get_custom_reward_fn

    loads: list[str] = []

    def slow_counting_loader(argument: str) -> ScoreTableModel:
        loads.append(argument)
        time.sleep(0.2)  # a real load takes seconds: every thread that misses the cache meanwhile would load too
        return ScoreTableModel(lambda response: float(len(response)), name="counting")

    monkeypatch.setitem(registry._LOADERS, "counting", slow_counting_loader)
    config = OmegaConf.create(
        {
            "reward": {
                "custom_reward_function": {
                    "path": str(Path(integrations.__file__)),
                    "name": "compute_score",
                    "reward_kwargs": {"model": "counting:x"},
                },
                "reward_manager": {"name": "naive"},
            }
        }
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    data, responses = verl_batch(tokenizer, count=12)

    async def run_samples():
        manager = get_reward_manager_cls(config.reward.reward_manager.name)(
            config, tokenizer, get_custom_reward_fn(config)
        )
        return await asyncio.gather(*(manager.run_single(data[index : index + 1]) for index in range(len(data))))

    results = asyncio.run(run_samples())
    assert loads == ["x"]
    assert [result["reward_score"] for result in results] == [float(len(text)) for text in responses]
