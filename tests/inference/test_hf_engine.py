import warnings

import pytest
import torch
from transformers import DynamicCache

from rewardkit.inference.engine import ReadAfter, ReadsAfterSamples, SamplingParams, create_engine
from rewardkit.inference.hf_engine import HFEngine
from rewardkit.models.loading import load_tokenizer
from rewardkit.models.shared_prefix import PrefixGroup, group_by_shared_prefix, left_pad

GREEDY = SamplingParams(max_new_tokens=6, temperature=0.0)


@pytest.fixture(scope="module", autouse=True)
def fp32_compute():
    """No bf16 autocast, so batched and single results can be compared to 1e-4."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REWARDKIT_PRECISION", "fp32")
        yield


@pytest.fixture(scope="module")
def engine(tiny_model_dir, fp32_compute):
    return HFEngine.from_spec(str(tiny_model_dir), precision="fp32", max_batch_rows=16)


@pytest.fixture(scope="module")
def prompts(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    texts = [
        "You are a helpful assistant. Count the letters in the word banana.",
        "You are a helpful assistant. Reverse the string abc.",
        "What is 12 plus 7?",
    ]
    return [tokenizer(text)["input_ids"] for text in texts]


def _count_prompt_tokens_read(engine, monkeypatch):
    """Record how many tokens each forward reads (prefill forwards read more than one per row)."""
    read = []
    forward = engine._forward

    def counting_forward(input_ids, *args):
        read.append(tuple(input_ids.shape))
        return forward(input_ids, *args)

    monkeypatch.setattr(engine, "_forward", counting_forward)
    return read


def test_group_by_shared_prefix_shares_only_when_it_pays():
    prefix = list(range(100, 120))
    prompts = [prefix + [1, 2], prefix + [3], [7] * 30]
    assert group_by_shared_prefix(prompts) == [PrefixGroup(20, [0, 1]), PrefixGroup(29, [2])]
    identical = [[5] * 10, [5] * 10]
    assert group_by_shared_prefix(identical) == [PrefixGroup(9, [0, 1])]  # each keeps one token of its own


def test_left_pad():
    ids, mask = left_pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_greedy_samples_equal_a_single_greedy_decode_and_hf_generate(engine, prompts):
    batched = engine.generate(prompts, num_samples=3, params=GREEDY)
    for prompt, samples in zip(prompts, batched, strict=True):
        single = engine.generate([prompt], num_samples=1, params=GREEDY)[0][0]
        assert samples == [single] * 3
        reference = engine.model.generate(
            torch.tensor([prompt]), max_new_tokens=6, do_sample=False, eos_token_id=engine.eos_token_ids
        )[0, len(prompt) :].tolist()
        eos = reference.index(engine.eos_token_ids[0]) if engine.eos_token_ids[0] in reference else len(reference)
        assert single == reference[:eos]


def test_k_samples_share_one_prefill(engine, prompts, monkeypatch):
    read = _count_prompt_tokens_read(engine, monkeypatch)
    engine.generate([prompts[2]], num_samples=8, params=SamplingParams(max_new_tokens=3, temperature=1.0, seed=0))
    first_decode = next(index for index, (rows, _) in enumerate(read) if rows == 8)
    assert sum(rows * length for rows, length in read[:first_decode]) == len(prompts[2])  # one prefill, one row
    assert all(length == 1 for _, length in read[first_decode:])
    assert sum(rows * length for rows, length in read) <= len(prompts[2]) + 2 * 8  # not 8 * len(prompt)


def test_the_cache_is_a_config_built_cache_object_and_decoding_warns_nothing(engine, prompts, monkeypatch):
    caches = []
    forward = engine._forward

    def recording_forward(input_ids, attention_mask, position_ids, cache):
        caches.append((cache, len(cache.layers)))
        return forward(input_ids, attention_mask, position_ids, cache)

    monkeypatch.setattr(engine, "_forward", recording_forward)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.generate(prompts, num_samples=2, params=SamplingParams(max_new_tokens=4, temperature=1.0, seed=0))
    assert caches and all(isinstance(cache, DynamicCache) for cache, _ in caches)
    assert caches[0][1] == engine.model.config.num_hidden_layers  # built from the config before the first forward
    assert [str(warning.message) for warning in caught] == []


def test_shared_prefix_is_read_once_for_prompts_that_share_it(engine, prompts, monkeypatch):
    read = _count_prompt_tokens_read(engine, monkeypatch)
    engine.next_token_logprobs(prompts[:2], [5])
    total = sum(rows * length for rows, length in read)
    assert total < len(prompts[0]) + len(prompts[1])


def test_sampling_with_a_seed_is_reproducible(engine, prompts):
    params = SamplingParams(max_new_tokens=8, temperature=1.0, top_p=0.9, seed=123)
    first = engine.generate(prompts, num_samples=4, params=params)
    assert first == engine.generate(prompts, num_samples=4, params=params)
    other_seed = engine.generate(
        prompts, num_samples=4, params=SamplingParams(max_new_tokens=8, temperature=1.0, seed=7)
    )
    assert first != other_seed
    assert len({tuple(sample) for sample in first[0]}) > 1  # the 4 samples differ


def test_stop_tokens_end_a_sample_and_are_excluded(engine, prompts):
    first_token = engine.generate([prompts[0]], num_samples=1, params=GREEDY)[0][0][0]
    stopped = engine.generate(
        [prompts[0]],
        num_samples=2,
        params=SamplingParams(max_new_tokens=6, temperature=0.0, stop_token_ids=(first_token,)),
    )
    assert stopped == [[[], []]]


def test_max_new_tokens_bounds_every_sample(engine, prompts):
    samples = engine.generate(prompts, num_samples=2, params=SamplingParams(max_new_tokens=4, temperature=1.0, seed=0))
    assert all(len(sample) <= 4 for per_prompt in samples for sample in per_prompt)


def test_early_stop_hook_retires_the_remaining_samples(engine, prompts):
    calls = []

    def stop_after_first(index, finished, remaining):
        calls.append((index, len(finished), remaining))
        return True

    samples = engine.generate(prompts, num_samples=4, params=GREEDY, stop_early=stop_after_first)
    assert [len(per_prompt) for per_prompt in samples] == [1, 1, 1]
    assert sorted(calls) == [(0, 1, 3), (1, 1, 3), (2, 1, 3)]


def test_next_token_logprobs_match_a_manual_forward(engine, prompts):
    candidates = [5, 6, 7, 40]
    logprobs = engine.next_token_logprobs(prompts, candidates)
    for prompt, row in zip(prompts, logprobs, strict=True):
        with torch.no_grad():
            manual = torch.log_softmax(engine.model(torch.tensor([prompt])).logits[0, -1].float(), dim=-1)
        assert row == pytest.approx(manual[candidates].tolist(), abs=1e-4)


def test_engine_registry_builds_the_hf_engine(tiny_model_dir):
    built = create_engine("hf", str(tiny_model_dir), precision="fp32")
    assert isinstance(built, HFEngine)
    with pytest.raises(ValueError, match="Unknown engine 'tpu'.*hf, llamacpp, vllm"):
        create_engine("tpu", str(tiny_model_dir))


def test_bad_inputs_are_rejected(engine):
    with pytest.raises(ValueError, match="prompt 1 has no tokens"):
        engine.generate([[1, 2], []], num_samples=1, params=GREEDY)
    with pytest.raises(ValueError, match="num_samples \\(samples per prompt\\)"):
        engine.generate([[1, 2]], num_samples=0, params=GREEDY)
    with pytest.raises(ValueError, match="temperature"):
        SamplingParams(temperature=-1)


def _readings_by_rereading(engine, prompts, samples, read_after):
    contexts = [
        prompt + sample + list(read_after.suffix_ids)
        for prompt, rows in zip(prompts, samples, strict=True)
        for sample in rows
    ]
    return [value for row in engine.next_token_logprobs(contexts, read_after.candidate_ids) for value in row]


def test_generate_and_read_reads_after_each_sample_on_its_own_cache(engine, prompts):
    """Greedy: the samples are generate()'s, and each reading equals re-reading prompt + sample + suffix whole,
    for a sample ended by a stop token (not fed) and for one cut at max_new_tokens (its last token fed)."""
    assert isinstance(engine, ReadsAfterSamples)
    stop_token = engine.generate(prompts[:1], 1, GREEDY)[0][0][0]
    params = SamplingParams(max_new_tokens=6, temperature=0.0, stop_token_ids=(stop_token,))
    read_after = ReadAfter(suffix_ids=(198, 58, 58), candidate_ids=(32, 33, 34, 60))
    result = engine.generate_and_read(prompts, 2, params, read_after)
    assert result.samples == engine.generate(prompts, 2, params)
    lengths = {len(sample) for rows in result.samples for sample in rows}
    assert lengths == {0, 6}  # stopped at once (the stop token not fed) and cut at max_new_tokens
    readings = [value for rows in result.readings for reading in rows for value in reading]
    assert readings == pytest.approx(_readings_by_rereading(engine, prompts, result.samples, read_after), abs=1e-4)


def test_generate_and_read_with_sampling_and_retired_rows_keeps_readings_exact(engine, prompts):
    params = SamplingParams(max_new_tokens=5, temperature=1.0, seed=3)
    read_after = ReadAfter(suffix_ids=(198,), candidate_ids=(32, 33))
    small_batches = HFEngine(engine.model, engine.eos_token_ids, engine.pad_token_id, engine.device, 4, "fp32")
    result = small_batches.generate_and_read(prompts, 3, params, read_after)
    assert [len(rows) for rows in result.samples] == [3, 3, 3] == [len(rows) for rows in result.readings]
    readings = [value for rows in result.readings for reading in rows for value in reading]
    assert readings == pytest.approx(_readings_by_rereading(engine, prompts, result.samples, read_after), abs=1e-4)
