"""The vLLM engine's code paths, run against a fake `vllm` module (vLLM itself needs a GPU)."""

import sys
import types
from dataclasses import dataclass, field

import pytest

from rewardkit.families.generative import GenerativeJudge
from rewardkit.inference.engine import MissingExtraError, SamplingParams, create_engine
from rewardkit.inference.vllm_engine import VLLMEngine
from rewardkit.models.loading import load_tokenizer

EOS = 2


@dataclass
class FakeCompletion:
    token_ids: list[int]


@dataclass
class FakeLogprob:
    logprob: float


@dataclass
class FakeRequestOutput:
    outputs: list[FakeCompletion] = field(default_factory=list)
    prompt_logprobs: list | None = None


class FakeSamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class FakeLLM:
    """Echoes a deterministic continuation: sample j of a prompt is [last prompt token + j, j, EOS]."""

    instances: list["FakeLLM"] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.requests = []
        FakeLLM.instances.append(self)

    def get_tokenizer(self):
        return types.SimpleNamespace(eos_token_id=EOS)

    def generate(self, requests, params, use_tqdm=True):
        self.requests.append((requests, params.kwargs))
        if "prompt_logprobs" in params.kwargs:
            return [self._score(request["prompt_token_ids"]) for request in requests]
        n = params.kwargs["n"]
        return [
            FakeRequestOutput([FakeCompletion([r["prompt_token_ids"][-1] + j, j, EOS]) for j in range(n)])
            for r in requests
        ]

    @staticmethod
    def _score(token_ids):
        positions = [None] + [{token: FakeLogprob(-0.1 * token)} for token in token_ids[1:]]
        return FakeRequestOutput(prompt_logprobs=positions)


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM = FakeLLM
    module.SamplingParams = FakeSamplingParams
    FakeLLM.instances.clear()
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_from_spec_enables_prefix_caching_on_the_resolved_model(fake_vllm, tiny_model_dir):
    engine = create_engine("vllm", str(tiny_model_dir), gpu_memory_utilization=0.5)
    assert isinstance(engine, VLLMEngine)
    (llm,) = FakeLLM.instances
    assert llm.kwargs == {
        "model": str(tiny_model_dir),
        "dtype": "auto",
        "enable_prefix_caching": True,
        "gpu_memory_utilization": 0.5,
    }
    assert engine.eos_token_ids == (EOS,)


def test_generate_sends_token_ids_with_n_samples_and_strips_eos(fake_vllm, tiny_model_dir):
    engine = create_engine("vllm", str(tiny_model_dir))
    params = SamplingParams(max_new_tokens=5, temperature=0.7, top_p=0.9, seed=3)
    samples = engine.generate([[10, 11], [20]], num_samples=3, params=params)
    assert samples == [[[11, 0], [12, 1], [13, 2]], [[20, 0], [21, 1], [22, 2]]]
    requests, sent = engine.llm.requests[0]
    assert requests == [{"prompt_token_ids": [10, 11]}, {"prompt_token_ids": [20]}]
    assert sent == {
        "n": 3,
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": -1,
        "max_tokens": 5,
        "seed": 3,
        "stop_token_ids": [],
    }


def test_next_token_logprobs_read_prompt_logprobs_of_each_candidate(fake_vllm, tiny_model_dir):
    engine = create_engine("vllm", str(tiny_model_dir))
    logprobs = engine.next_token_logprobs([[10, 11], [20]], [5, 7])
    assert logprobs == [pytest.approx([-0.5, -0.7])] * 2
    requests, sent = engine.llm.requests[0]
    assert [r["prompt_token_ids"] for r in requests] == [[10, 11, 5], [10, 11, 7], [20, 5], [20, 7]]
    assert sent["max_tokens"] == 1 and sent["prompt_logprobs"] == 0


def test_judge_runs_on_the_vllm_engine(fake_vllm, tiny_model_dir):
    judge = GenerativeJudge(str(tiny_model_dir), template="pairwise-direct", mode="logprob", engine="vllm")
    (preference,) = judge.compare(["2+2?"], ["4"], ["5"])
    assert 0.0 <= preference.p_a_better <= 1.0
    assert sum(preference.meta["verdict_probs_by_order"][0].values()) == pytest.approx(1.0)


def test_missing_vllm_names_the_extra(monkeypatch, tiny_model_dir):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'rewardkit\[vllm\]'"):
        create_engine("vllm", str(tiny_model_dir))


def test_tokenizer_and_engine_agree_on_eos(tiny_model_dir):
    assert load_tokenizer(str(tiny_model_dir)).eos_token_id == EOS
