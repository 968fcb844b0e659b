"""Judge training data: balanced A/B orders, GenRM targets, critique targets, length filter."""

from __future__ import annotations

import pytest

from rewardkit.data.schema import PreferencePair
from rewardkit.families.judge_templates import get_template
from rewardkit.models.loading import load_tokenizer
from rewardkit.training.judge_data import (
    PointwiseExample,
    canonical_completion,
    critique_record,
    cut_at_sentence,
    genrm_records,
    pairwise_examples,
)
from rewardkit.training.judge_trainer import within_length
from tests.training.judge_helpers import scripted_renderer, written

PAIRS = [
    PreferencePair(id=f"p{i}", prompt=f"What is {i} plus 7?", chosen=f"{i + 7}", rejected="cba") for i in range(8)
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(str(tiny_model_dir))


@pytest.fixture(scope="module")
def renderer(tiny_model_dir, tokenizer):
    return scripted_renderer(tiny_model_dir, tokenizer)


def test_pairs_are_shown_chosen_first_in_a_seeded_half_with_matching_labels(renderer):
    examples = pairwise_examples(renderer, PAIRS, both_orders=False, seed=3)
    assert [example.label for example in examples].count("A") == 4
    for pair, example in zip(PAIRS, examples, strict=True):
        chosen_is_a = example.response_a == pair.chosen
        assert example.label == ("A" if chosen_is_a else "B")
        assert example.text == renderer.pair_prompts(pair.prompt, example.response_a, example.response_b)[0][0]
    assert examples == pairwise_examples(renderer, PAIRS, both_orders=False, seed=3)
    assert examples != pairwise_examples(renderer, PAIRS, both_orders=False, seed=4)


def test_both_orders_gives_each_pair_twice_with_opposite_labels(renderer):
    examples = pairwise_examples(renderer, PAIRS[:3], both_orders=True, seed=0)
    assert [(example.pair_id, example.label) for example in examples] == [
        ("p0", "A"), ("p0", "B"), ("p1", "A"), ("p1", "B"), ("p2", "A"), ("p2", "B"),
    ]  # fmt: skip
    assert examples[0].response_a == examples[1].response_b == PAIRS[0].chosen


def test_genrm_target_is_the_verdict_alone_right_where_logprob_mode_reads_it(renderer):
    examples = pairwise_examples(renderer, PAIRS[:4], both_orders=False, seed=0)
    records = genrm_records(examples, renderer.template)
    assert [record["completion"] for record in records] == [f"[[{example.label}]]" for example in examples]
    for record, example in zip(records, examples, strict=True):
        assert record["prompt"] == example.text and record["prompt"].endswith("<|im_start|>assistant\n")
        logprob_prompt = record["prompt"] + renderer.template.verdict_prefix  # what mode=logprob feeds the model
        assert (record["prompt"] + record["completion"]).startswith(logprob_prompt)


def test_sampled_judgements_become_canonical_targets():
    template = get_template("pairwise")
    assert canonical_completion(template, written("B", "Weighing both.")) == "Weighing both.\n[[B]]"
    assert canonical_completion(template, written(None, "  rambling  ")) == "rambling"


def test_critique_target_is_cut_at_a_sentence_and_ends_with_the_gold_rating(tokenizer):
    template = get_template("pointwise-1-10")
    critique = "The count is wrong. " * 30 + "\n\nRating: [[3]]"
    example = PointwiseExample("r", "q", "a", "PROMPT", gold=4.0, critique=critique)
    record = critique_record(example, template, tokenizer, budget=24)
    body, last_line = record["completion"].rsplit("\n", 1)
    assert last_line == "Rating: [[4]]" and record["prompt"] == "PROMPT"
    assert body.endswith("wrong.") and len(tokenizer(body)["input_ids"]) <= 24
    assert (
        critique_record(PointwiseExample("r", "q", "a", "P", 4.0, "no rating here"), template, tokenizer, 24) is None
    )
    assert cut_at_sentence("Short one.", tokenizer, 24) == "Short one."


def test_examples_over_max_length_are_dropped_and_counted(tokenizer):
    records = [{"prompt": "Count the letters.", "completion": "[[A]]"}, {"prompt": "word " * 200, "completion": "x"}]
    dpo = [{"prompt": "q", "chosen": "short", "rejected": "banana " * 100}]
    kept, dropped = within_length(records + dpo, tokenizer, max_length=64)
    assert kept == records[:1] and dropped == 2
