"""The llama.cpp engine's code paths, run against a fake `llama_cpp` module."""

import ctypes
import random
import sys
import types

import numpy as np
import pytest

from rewardkit.inference.engine import MissingExtraError, SamplingParams, create_engine
from rewardkit.inference.llamacpp_engine import LlamaCppEngine, gguf_path_for

EOS = 2
VOCAB = 16


class FakeLlama:
    """Tokens drawn from the seed; logits are a fixed function of the last evaluated token."""

    def __init__(self, model_path, n_ctx, **kwargs):
        self.model_path, self.n_ctx, self.kwargs = model_path, n_ctx, kwargs
        self.input_ids = np.zeros(n_ctx, dtype=np.intc)
        self.n_tokens = 0
        self.seed = None
        self.evaluated: list[list[int]] = []
        self.generate_calls: list[dict] = []
        self._logits = np.zeros(VOCAB, dtype=np.single)

    def token_eos(self):
        return EOS

    def n_vocab(self):
        return VOCAB

    @property
    def ctx(self):
        return self

    def set_seed(self, seed):
        self.seed = seed

    def eval(self, tokens):
        self.evaluated.append(list(tokens))
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        scale = 0.1 * (int(self.input_ids[self.n_tokens - 1]) % 3 + 1)
        self._logits = (np.arange(VOCAB) * scale).astype(np.single)

    def generate(self, tokens, **sampling):
        self.generate_calls.append({"tokens": list(tokens), **sampling})
        rng = random.Random(self.seed)
        while True:
            yield rng.choice([EOS, 5, 6, 7, 8])


def fake_get_logits_ith(llm, index):
    assert index == -1
    return llm._logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


@pytest.fixture
def fake_llama_cpp(monkeypatch, tmp_path):
    module = types.ModuleType("llama_cpp")
    module.Llama = FakeLlama
    module.llama_get_logits_ith = fake_get_logits_ith
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    return gguf


def test_from_spec_opens_the_gguf_file(fake_llama_cpp):
    engine = create_engine("llamacpp", str(fake_llama_cpp), n_ctx=256, n_threads=2)
    assert isinstance(engine, LlamaCppEngine)
    assert engine.llm.model_path == str(fake_llama_cpp)
    assert engine.llm.kwargs == {"verbose": False, "n_threads": 2}
    assert engine.eos_token_ids == (EOS,)


def test_generate_stops_at_eos_and_max_new_tokens(fake_llama_cpp):
    engine = create_engine("llamacpp", str(fake_llama_cpp))
    params = SamplingParams(max_new_tokens=3, temperature=0.8, top_p=0.9, seed=1)
    samples = engine.generate([[1, 3, 4], [1, 3, 9]], num_samples=4, params=params)
    assert [len(per_prompt) for per_prompt in samples] == [4, 4]
    assert all(EOS not in sample and len(sample) <= 3 for per_prompt in samples for sample in per_prompt)
    assert samples == engine.generate([[1, 3, 4], [1, 3, 9]], num_samples=4, params=params)  # seeded
    call = engine.llm.generate_calls[0]
    assert call["tokens"] == [1, 3, 4] and call["temp"] == 0.8 and call["top_p"] == 0.9 and call["min_p"] == 0.0


def test_early_stop_ends_sampling_of_a_prompt(fake_llama_cpp):
    engine = create_engine("llamacpp", str(fake_llama_cpp))
    seen = []

    def stop_after_two(index, finished, remaining):
        seen.append((index, len(finished), remaining))
        return len(finished) == 2

    samples = engine.generate(
        [[1, 3]], num_samples=5, params=SamplingParams(max_new_tokens=2, seed=0), stop_early=stop_after_two
    )
    assert len(samples[0]) == 2
    assert seen == [(0, 1, 4), (0, 2, 3)]


def test_next_token_logprobs_reuse_the_cached_prefix(fake_llama_cpp):
    engine = create_engine("llamacpp", str(fake_llama_cpp))
    first, second = engine.next_token_logprobs([[1, 3, 4], [1, 3, 5]], [0, 15])
    assert engine.llm.evaluated == [[1, 3, 4], [5]]  # the second prompt only evaluates what differs
    logits = np.arange(VOCAB) * 0.1 * (4 % 3 + 1)
    expected = logits - np.log(np.exp(logits).sum())
    assert first == pytest.approx([expected[0], expected[15]])
    assert np.exp(second).sum() < 1.0


def test_non_gguf_specs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="needs a GGUF file"):
        gguf_path_for(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="GGUF file not found"):
        gguf_path_for(str(tmp_path / "missing.gguf"))


def test_missing_llama_cpp_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'rewardkit\[llamacpp\]'"):
        create_engine("llamacpp", str(tmp_path / "model.gguf"))
