"""bench/bench_cot_verdicts.py: alternating the two paths keeps every verdict in pair order."""

from __future__ import annotations

import pytest

from rewardkit.families.generative import GenerativeJudge
from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    load_script("bench/bench_judge_voting.py")  # the bench imports it by its file name
    return load_script("bench/bench_cot_verdicts.py")


def test_alternating_judges_time_each_chunk_and_keep_pair_order(bench, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    options = dict(
        verdict_after_rationale=True, temperature=0.0, max_new_tokens=4, engine_options={"precision": "fp32"}
    )
    reusing = GenerativeJudge(str(tiny_model_dir), **options)
    rereading = GenerativeJudge(str(tiny_model_dir), engine=reusing.engine, tokenizer=reusing.tokenizer, **options)
    rereading.config.reuse_sampler_cache = False
    prompts = [f"What is {index} + {index}?" for index in range(5)]
    answers_a, answers_b = [str(2 * index) for index in range(5)], ["No idea."] * 5
    order = []
    timed_compare = bench.timed_compare
    monkeypatch.setattr(
        bench, "timed_compare", lambda judge, *rest: order.append(judge) or timed_compare(judge, *rest)
    )

    timed = bench.time_alternating(
        {"rereading": rereading, "sampler_cache": reusing}, prompts, answers_a, answers_b, chunks=3
    )

    assert order == [rereading, reusing, reusing, rereading, rereading, reusing]
    whole = reusing.compare(prompts, answers_a, answers_b)
    for name in ("rereading", "sampler_cache"):
        preferences, seconds = timed[name]
        assert seconds > 0
        assert bench.verdicts(preferences) == bench.verdicts(whole)
