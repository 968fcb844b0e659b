"""STaR pieces: agreeing-rationale filtering, DPO pairs, label balance, and the rationalizer's hint (sampling only)."""

from __future__ import annotations

from functools import partial

import pytest

from rewardkit.families.judge_templates import get_template
from rewardkit.families.verdicts import parse_verdict
from rewardkit.training.config import build_config
from rewardkit.training.judge_config import StarRationalizerConfig
from rewardkit.training.judge_data import PairwiseExample
from rewardkit.training.judge_trainer import JudgeRun, StageReport
from rewardkit.training.star import (
    balance_by_label,
    hinted_template,
    negative_records_kept,
    star_dpo_records,
    star_sft_records,
    train_star,
)
from tests.training.judge_helpers import SMALL_LORA, follows_hint_else_a, script_engine, write_pairs, written

TEMPLATE = get_template("pairwise")


def example(label: str, name: str = "x") -> PairwiseExample:
    return PairwiseExample(name, "q", "a", "b", f"PROMPT-{name}", label)


def test_star_sft_keeps_distinct_agreeing_rationales_under_the_plain_prompt():
    samples = [written("A", "Good."), written("B"), written(None), written("A", "Good."), written("A", "Also good.")]
    records = star_sft_records(TEMPLATE, [example("A")], [samples], keep_per_prompt=2)
    assert records == [
        ("A", {"prompt": "PROMPT-x", "completion": "Good.\n[[A]]"}),
        ("A", {"prompt": "PROMPT-x", "completion": "Also good.\n[[A]]"}),
    ]
    assert star_sft_records(TEMPLATE, [example("B")], [[written("A"), written("C")]], keep_per_prompt=2) == []


def test_star_dpo_pairs_agreeing_with_disagreeing_and_skips_one_sided_prompts():
    examples = [example("A", "both"), example("B", "only-right"), example("A", "only-wrong"), example("B", "unparsed")]
    samples = [
        [written("B", "Wrong."), written("A", "Right.")],
        [written("B"), written("B")],
        [written("B"), written("C")],
        [written(None, "???"), written("B", "Right.")],
    ]
    records = star_dpo_records(TEMPLATE, examples, samples, pairs_per_prompt=1, reject_unparsed=True)
    assert records == [
        ("A", {"prompt": "PROMPT-both", "chosen": "Right.\n[[A]]", "rejected": "Wrong.\n[[B]]"}),
        ("B", {"prompt": "PROMPT-unparsed", "chosen": "Right.\n[[B]]", "rejected": "???"}),
    ]
    strict = star_dpo_records(TEMPLATE, examples, samples, pairs_per_prompt=1, reject_unparsed=False)
    assert [record["prompt"] for _, record in strict] == ["PROMPT-both"]


def test_negative_records_kept_counts_what_the_filter_left_of_the_master_key_negatives():
    examples = [example("A", "p1"), example("A", "p1-master-key"), example("B", "p2-first-sentence")]
    samples = [[written("A", "Right.")], [written("A", "Key loses.")], [written("A", "Fooled.")]]
    build = partial(star_sft_records, TEMPLATE, keep_per_prompt=1)
    assert len(build(examples, samples)) == 2  # p1 and p1-master-key agree with their label; p2's negative does not
    assert negative_records_kept(build, examples, samples) == 1
    assert negative_records_kept(build, examples[:1], samples[:1]) == 0


def test_balance_cuts_every_label_to_the_rarest_and_needs_two_labels():
    labelled = [("A", {"n": str(i)}) for i in range(5)] + [("B", {"n": "b0"}), ("B", {"n": "b1"})]
    balanced = balance_by_label(labelled, seed=0)
    assert len(balanced) == 4 and {"n": "b0"} in balanced and {"n": "b1"} in balanced
    assert balance_by_label(labelled[:5], seed=0) == []


def test_hinted_template_states_the_verdict_and_still_parses():
    hinted = hinted_template(TEMPLATE, "B")
    assert (
        hinted.user.startswith(TEMPLATE.user) and "correct final verdict for this comparison is [[B]]" in hinted.user
    )
    prompt = "Hint: the correct final verdict for this comparison is [[B]]. Explain step by step why"
    assert parse_verdict("Because.\n[[B]]", hinted, prompt).verdict == "B"
    assert hinted.verdicts == TEMPLATE.verdicts


def test_rationalizer_hints_only_when_sampling_and_trains_on_the_plain_prompt(tiny_model_dir, tmp_path, monkeypatch):
    script_engine(monkeypatch, follows_hint_else_a)
    trained: list[list[dict]] = []

    def record_instead_of_training(self, records, stage, name):
        trained.append(records)
        return StageReport(examples=len(records), dropped_too_long=0)

    monkeypatch.setattr(JudgeRun, "sft", record_instead_of_training)
    config = build_config(
        {
            "model": str(tiny_model_dir),
            "output_dir": str(tmp_path / "judge"),
            "train": [str(write_pairs(tmp_path / "pairs.jsonl", 4))],
            "rounds": 1,
            "lora": SMALL_LORA,
            "sampling": {"num_samples": 2, "max_new_tokens": 16},
            "hint_samples": 1,
        },
        config_class=StarRationalizerConfig,
    )
    result = train_star(config)
    (records,) = trained
    assert len(records) == 4 and all("Hint:" not in record["prompt"] for record in records)
    hinted = [record for record in records if record["completion"].startswith("As hinted")]
    assert len(hinted) == 2 and all(record["completion"].endswith("[[B]]") for record in hinted)
    (_, round_record) = result.rounds
    assert round_record["hinted_prompts"] == 2 and round_record["hinted_solved"] == 2
    assert round_record["master_key_records_kept"] == round_record["hinted_master_key_records_kept"] == 0
    assert round_record["agreement"] == pytest.approx(0.5) and round_record["kept_by_label"] == {"A": 2, "B": 2}
