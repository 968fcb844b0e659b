"""Self-Rationalization of a pointwise judge (Trivedi et al. 2024, arXiv 2410.05495).

Stages: (1) SFT on reference critiques (GPT-4 critiques of AutoJ, cut to the sampling budget, ending with the gold
rating line); (2) `rounds` DPO iterations: the current judge writes N rationale+rating judgements per (prompt,
response, rubric), the one whose rating is closest to the gold score is preferred over one at least `pair_margin`
farther from it (preference pairs from the judge's own rationalizations), and DPO trains on those pairs. Agreement
with gold on a held-out slice (Pearson, Spearman, exact, within one; parse failures counted and never scored) is
measured before training and after every stage, and logged in rounds.jsonl.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from typing import Any

from tqdm.auto import tqdm

from rewardkit.families.generative import GenerativeJudge, WrittenJudgement
from rewardkit.families.judge_templates import JudgeTemplate
from rewardkit.metrics.agreement import RatingAgreement, rating_agreement
from rewardkit.training import distributed
from rewardkit.training.judge_config import SelfRationalizeConfig
from rewardkit.training.judge_data import (
    PointwiseExample,
    canonical_completion,
    critique_record,
    pointwise_examples,
    read_rated_rows,
    split_rows,
)
from rewardkit.training.judge_trainer import JudgeRun, JudgeTrainResult, stage_stats

HELD_OUT_NAME = "heldout.jsonl"
EVAL_CHUNK = 32


def closest_and_farthest(
    samples: Sequence[WrittenJudgement], gold: float, margin: float
) -> tuple[WrittenJudgement, WrittenJudgement] | None:
    """(closest to gold, farthest from gold) among the parsed judgements, when the farther one is at least `margin`
    farther; None otherwise (no parsed judgement, or all about as close). Ties keep the first drawn."""
    parsed = [sample for sample in samples if not sample.parsed.failed]
    if not parsed:
        return None

    def distance(sample: WrittenJudgement) -> float:
        return abs(float(sample.parsed.verdict) - gold)

    chosen, rejected = min(parsed, key=distance), max(parsed, key=distance)
    return (chosen, rejected) if distance(rejected) - distance(chosen) >= margin else None


def rating_dpo_records(
    template: JudgeTemplate,
    examples: Sequence[PointwiseExample],
    samples: Sequence[Sequence[WrittenJudgement]],
    margin: float,
) -> list[dict[str, str]]:
    """One DPO record per example whose judgements hold a close and a far rating."""
    records = []
    for example, rows in zip(examples, samples, strict=True):
        pair = closest_and_farthest(rows, example.gold, margin)
        if pair is not None:
            chosen, rejected = (canonical_completion(template, sample) for sample in pair)
            records.append({"prompt": example.text, "chosen": chosen, "rejected": rejected})
    return records


def check_gold_on_scale(template: JudgeTemplate, examples: Sequence[PointwiseExample]) -> None:
    """Every gold score must be one of the template's ratings, or closeness to gold would compare unlike scales."""
    scale = {float(verdict) for verdict in template.verdicts}
    off_scale = sorted({example.gold for example in examples} - scale)
    if off_scale:
        raise ValueError(
            f"gold scores {off_scale} are not on template {template.name!r}'s scale "
            f"{template.verdicts[0]}-{template.verdicts[-1]}: pick a template with the data's scale"
        )


def judge_agreement(judge: GenerativeJudge, examples: Sequence[PointwiseExample]) -> tuple[RatingAgreement, int]:
    """The judge's ratings of the examples against their gold scores (its own pointwise scoring, parse failures
    excluded and counted), and how many ratings were read after a rationale without one (forced)."""
    values, failed, forced = [], [], 0
    for start in tqdm(range(0, len(examples), EVAL_CHUNK), desc="agreement", unit="chunk"):
        chunk = examples[start : start + EVAL_CHUNK]
        for score in judge.score([example.prompt for example in chunk], [example.response for example in chunk]):
            values.append(score.value)
            failed.append(score.votes.unreadable)
            forced += score.votes.forced
    return rating_agreement(values, [example.gold for example in examples], failed), forced


def _evaluate(run: JudgeRun, config: SelfRationalizeConfig, held_out: Sequence[PointwiseExample], after: str) -> None:
    if config.evaluate_stages and held_out:
        run.unit(lambda: _evaluation(run, config, held_out, after))


def _evaluation(run: JudgeRun, config: SelfRationalizeConfig, held_out: Sequence[PointwiseExample], after: str):
    judge = run.judge(
        max_new_tokens=config.eval_max_new_tokens,
        pairs_per_batch=EVAL_CHUNK,
        verdict_after_rationale=config.verdict_after_rationale,
    )
    agreement, forced = judge_agreement(judge, held_out)
    return {"stage": "eval", "after": after, **asdict(agreement), "forced_ratings": forced}


def _sft_on_critiques(run: JudgeRun, config: SelfRationalizeConfig, rows: Sequence[PointwiseExample]) -> dict:
    template = run.judge().template
    records = [critique_record(example, template, run.tokenizer, config.max_critique_tokens) for example in rows]
    usable = [record for record in records if record is not None]
    report = run.sft(usable, config.sft, "sft")
    return {"stage": "sft", "rows": len(rows), "unreadable_critiques": len(rows) - len(usable), **stage_stats(report)}


def _dpo_round(run: JudgeRun, config: SelfRationalizeConfig, rows: Sequence[PointwiseExample], round_index: int):
    judge = run.judge(sampling=config.sampling, verdict_after_rationale=config.verdict_after_rationale)
    texts = [example.text for example in rows]
    samples, stats = run.sample(judge, texts, config.sampling, seed=config.seed + 10_000 * round_index)
    records = rating_dpo_records(judge.template, rows, samples, config.pair_margin)
    report = run.dpo(records, config.dpo, f"dpo-{round_index}", beta=config.beta)
    return {"stage": f"dpo-{round_index}", **stats, "dpo_pairs": len(records), **stage_stats(report)}


def _write_held_out(run: JudgeRun, rows: Sequence[dict[str, Any]]) -> None:
    """The held-out rows, so any judge can be measured on the same slice with `rewardkit judge --data`."""
    with (run.output / HELD_OUT_NAME).open("w") as handle:
        for row in rows:
            handle.write(json.dumps({key: value for key, value in row.items() if key != "gold"}) + "\n")


def _split(config: SelfRationalizeConfig, rows: list[dict[str, Any]]) -> tuple[list, list, list]:
    """(DPO rows, SFT rows, held-out rows): disjoint, from one seeded shuffle."""
    train, held_out = split_rows(rows, config.eval_rows, config.seed)
    dpo_rows = train[: config.dpo_rows]
    sft_end = None if config.sft_rows is None else config.dpo_rows + config.sft_rows
    return dpo_rows, train[config.dpo_rows : sft_end], held_out


def train_self_rationalize(config: SelfRationalizeConfig, resume: bool = False) -> JudgeTrainResult:
    """SFT on critiques, then `rounds` DPO iterations on the judge's own judgements; agreement after every stage.
    `resume`: continue an interrupted run in the output directory after its last finished stage."""
    run = JudgeRun(config, resume)
    renderer = run.judge()
    dpo_rows, sft_rows, held_out_rows = _split(config, read_rated_rows(config.data))
    dpo_examples, sft_examples, held_out = (
        pointwise_examples(renderer, rows) for rows in (dpo_rows, sft_rows, held_out_rows)
    )
    check_gold_on_scale(renderer.template, [*dpo_examples, *sft_examples, *held_out])
    distributed.on_main_process(lambda: _write_held_out(run, held_out_rows))
    _evaluate(run, config, held_out, "nothing")
    if sft_examples:
        run.unit(lambda: _sft_on_critiques(run, config, sft_examples))
        _evaluate(run, config, held_out, "sft")
    for round_index in range(1, config.rounds + 1):
        run.unit(partial(_dpo_round, run, config, dpo_examples, round_index))
        _evaluate(run, config, held_out, f"dpo-{round_index}")
    return run.save(
        mode="sample",
        max_new_tokens=config.sampling.max_new_tokens,
        verdict_after_rationale=config.verdict_after_rationale,
    )
