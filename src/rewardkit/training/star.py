"""STaR self-training of a chain-of-thought judge (CoT-GenRM; Mahan et al. 2024, arXiv 2410.12832).

Each round samples K rationale+verdict judgements per judge prompt from the current model (Zelikman et al. 2022,
STaR, arXiv 2203.14465, algorithm 1), then
  - STaR-SFT keeps the rationales whose verdict agrees with the preference label and fine-tunes on them;
  - STaR-Rationalizer also samples, for prompts no rationale got right, with the correct verdict given as a hint,
    keeps the agreeing hinted rationales and trains on them under the *un-hinted* prompt (STaR, section 3.2);
  - STaR-DPO pairs an agreeing with a disagreeing rationale of the same prompt and runs DPO.
The next round samples from the updated model. Kept SFT records are balanced over the two verdicts by default: a
position-biased judge agrees mostly on one verdict, and training on those alone would deepen the bias. A rationale
that ends without a readable verdict gets the most likely verdict token after it (`verdict_after_rationale`, on by
default): SmolLM2-135M almost never writes `[[A]]` unprompted, so without it the first round would keep nothing.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from rewardkit.data.master_keys import is_master_key_negative
from rewardkit.families.generative import WrittenJudgement
from rewardkit.families.judge_templates import JudgeTemplate
from rewardkit.training.judge_config import (
    JudgeSamplingConfig,
    StarConfig,
    StarDPOConfig,
    StarRationalizerConfig,
    StarSFTConfig,
)
from rewardkit.training.judge_data import (
    PairwiseExample,
    canonical_completion,
    pairwise_examples,
    read_judge_pairs,
    verdict_text,
)
from rewardkit.training.judge_trainer import JudgeRun, JudgeTrainResult, stage_stats

HINT = (
    "\n\nHint: the correct final verdict for this comparison is {verdict}. Explain step by step why, then write "
    "that verdict on the last line."
)
LabelledRecord = tuple[str, dict[str, str]]


def agreeing(samples: Sequence[WrittenJudgement], label: str) -> list[WrittenJudgement]:
    """Samples whose parsed verdict is the label."""
    return [sample for sample in samples if sample.parsed.verdict == label]


def disagreeing(samples: Sequence[WrittenJudgement], label: str, include_unparsed: bool) -> list[WrittenJudgement]:
    """Samples with another verdict (a tie included), and unparsed ones when `include_unparsed`."""
    return [
        sample
        for sample in samples
        if sample.parsed.verdict != label and (include_unparsed or not sample.parsed.failed)
    ]


def distinct_completions(template: JudgeTemplate, samples: Sequence[WrittenJudgement], limit: int) -> list[str]:
    """Up to `limit` different training targets, in sampling order."""
    completions = list(dict.fromkeys(canonical_completion(template, sample) for sample in samples))
    return completions[:limit]


def star_sft_records(
    template: JudgeTemplate,
    examples: Sequence[PairwiseExample],
    samples: Sequence[Sequence[WrittenJudgement]],
    keep_per_prompt: int,
) -> list[LabelledRecord]:
    """(label, SFT record) for each kept agreeing rationale, always under the example's own (un-hinted) prompt."""
    records = []
    for example, rows in zip(examples, samples, strict=True):
        for completion in distinct_completions(template, agreeing(rows, example.label), keep_per_prompt):
            records.append((example.label, {"prompt": example.text, "completion": completion}))
    return records


def star_dpo_records(
    template: JudgeTemplate,
    examples: Sequence[PairwiseExample],
    samples: Sequence[Sequence[WrittenJudgement]],
    pairs_per_prompt: int,
    reject_unparsed: bool,
) -> list[LabelledRecord]:
    """(label, DPO record): agreeing vs disagreeing rationales of one prompt; prompts lacking either side give none."""
    records = []
    for example, rows in zip(examples, samples, strict=True):
        chosen = distinct_completions(template, agreeing(rows, example.label), pairs_per_prompt)
        rejected = distinct_completions(template, disagreeing(rows, example.label, reject_unparsed), pairs_per_prompt)
        for good, bad in zip(chosen, rejected, strict=False):
            records.append((example.label, {"prompt": example.text, "chosen": good, "rejected": bad}))
    return records


def label_counts(labelled: Sequence[LabelledRecord]) -> dict[str, Any]:
    """How many records each label produced (before balancing)."""
    counts: dict[str, int] = {}
    for label, _ in labelled:
        counts[label] = counts.get(label, 0) + 1
    return {"kept": len(labelled), "kept_by_label": dict(sorted(counts.items()))}


def balance_by_label(records: Sequence[LabelledRecord], seed: int) -> list[dict[str, str]]:
    """Records with every label cut (seeded) to the count of the rarest label, in their original order."""
    by_label: dict[str, list[int]] = {}
    for index, (label, _) in enumerate(records):
        by_label.setdefault(label, []).append(index)
    if len(by_label) < 2:
        return []
    smallest = min(len(indices) for indices in by_label.values())
    rng = random.Random(seed)
    keep = {index for indices in by_label.values() for index in rng.sample(indices, smallest)}
    return [record for index, (_, record) in enumerate(records) if index in keep]


def training_records(labelled: Sequence[LabelledRecord], balance: bool, seed: int) -> list[dict[str, str]]:
    """The records to train on: balanced over labels when asked, else all of them."""
    return balance_by_label(labelled, seed) if balance else [record for _, record in labelled]


def negative_records_kept(
    build: Callable[[Sequence[PairwiseExample], Sequence[Sequence[WrittenJudgement]]], list[LabelledRecord]],
    examples: Sequence[PairwiseExample],
    samples: Sequence[Sequence[WrittenJudgement]],
) -> int:
    """How many training records `build` makes from the master-key negatives alone (what survived the filtering)."""
    negatives = [
        (example, rows)
        for example, rows in zip(examples, samples, strict=True)
        if is_master_key_negative(example.pair_id)
    ]
    return len(build(*zip(*negatives, strict=True))) if negatives else 0


def hinted_template(template: JudgeTemplate, verdict: str) -> JudgeTemplate:
    """The template with the correct verdict stated as a hint at the end of the user turn (sampling only)."""
    hint = HINT.format(verdict=verdict_text(template, verdict)).replace("{", "{{").replace("}", "}}")
    return dataclasses.replace(template, name=f"{template.name}+hint-{verdict}", user=template.user + hint)


def agreement_stats(examples: Sequence[PairwiseExample], samples: Sequence[Sequence[WrittenJudgement]]) -> dict:
    """Fraction of samples agreeing with the label, and of prompts with at least one agreeing sample."""
    total = sum(len(rows) for rows in samples)
    agreed = [len(agreeing(rows, example.label)) for example, rows in zip(examples, samples, strict=True)]
    return {
        "agreement": round(sum(agreed) / total, 4) if total else None,
        "prompts_solved": round(sum(count > 0 for count in agreed) / len(examples), 4) if examples else None,
    }


def _sample_round(run: JudgeRun, config: StarConfig, examples: Sequence[PairwiseExample], round_index: int):
    judge = run.judge(sampling=config.sampling, verdict_after_rationale=config.verdict_after_rationale)
    texts = [example.text for example in examples]
    samples, stats = run.sample(judge, texts, config.sampling, seed=config.seed + 10_000 * round_index)
    return judge.template, samples, stats | agreement_stats(examples, samples)


def hinted_samples(
    run: JudgeRun,
    template: JudgeTemplate,
    unsolved: Sequence[PairwiseExample],
    sampling: JudgeSamplingConfig,
    seed: int,
    forced: bool,
) -> list[list[WrittenJudgement]]:
    """Samples of each unsolved example drawn with its correct verdict as a hint, in the order of `unsolved`."""
    samples: list[list[WrittenJudgement]] = [[] for _ in unsolved]
    for offset, label in enumerate(sorted({example.label for example in unsolved})):
        judge = run.judge(hinted_template(template, label), sampling=sampling, verdict_after_rationale=forced)
        positions = [index for index, example in enumerate(unsolved) if example.label == label]
        texts = [
            judge.pair_prompts(unsolved[i].prompt, unsolved[i].response_a, unsolved[i].response_b)[0][0]
            for i in positions
        ]
        drawn, _ = run.sample(judge, texts, sampling, seed + offset)
        for position, rows in zip(positions, drawn, strict=True):
            samples[position] = rows
    return samples


def _rationalized(run, config, template, examples, samples, round_index) -> tuple[list[LabelledRecord], dict]:
    unsolved = [ex for ex, rows in zip(examples, samples, strict=True) if not agreeing(rows, ex.label)]
    if not unsolved:
        return [], {"hinted_prompts": 0, "hinted_solved": 0, "hinted_master_key_records_kept": 0}
    sampling = dataclasses.replace(config.sampling, num_samples=config.hint_samples)
    seed = config.seed + 10_000 * round_index + 5_000
    hinted = hinted_samples(run, template, unsolved, sampling, seed, config.verdict_after_rationale)
    build = partial(star_sft_records, template, keep_per_prompt=config.keep_per_prompt)
    solved = sum(bool(agreeing(rows, ex.label)) for ex, rows in zip(unsolved, hinted, strict=True))
    stats = {"hinted_prompts": len(unsolved), "hinted_solved": solved}
    stats["hinted_master_key_records_kept"] = negative_records_kept(build, unsolved, hinted)
    return build(unsolved, hinted), stats


def star_sft_round(run: JudgeRun, config: StarSFTConfig, examples, round_index: int) -> dict[str, Any]:
    """One STaR-SFT (or Rationalizer) round: sample, keep agreeing rationales, balance the labels, SFT."""
    template, samples, stats = _sample_round(run, config, examples, round_index)
    labelled = star_sft_records(template, examples, samples, config.keep_per_prompt)
    stats["master_key_records_kept"] = negative_records_kept(
        partial(star_sft_records, template, keep_per_prompt=config.keep_per_prompt), examples, samples
    )
    if isinstance(config, StarRationalizerConfig):
        hinted_records, hint_stats = _rationalized(run, config, template, examples, samples, round_index)
        labelled, stats = labelled + hinted_records, stats | hint_stats
    records = training_records(labelled, config.balance_labels, config.seed + round_index)
    report = run.sft(records, config.training, f"round-{round_index}")
    return {"stage": f"round-{round_index}", **stats, **label_counts(labelled), **stage_stats(report)}


def star_dpo_round(run: JudgeRun, config: StarDPOConfig, examples, round_index: int) -> dict[str, Any]:
    """One STaR-DPO round: sample, pair agreeing with disagreeing rationales, balance the labels, DPO."""
    template, samples, stats = _sample_round(run, config, examples, round_index)
    labelled = star_dpo_records(template, examples, samples, config.pairs_per_prompt, config.reject_unparsed)
    stats["master_key_records_kept"] = negative_records_kept(
        partial(
            star_dpo_records,
            template,
            pairs_per_prompt=config.pairs_per_prompt,
            reject_unparsed=config.reject_unparsed,
        ),
        examples,
        samples,
    )
    records = training_records(labelled, config.balance_labels, config.seed + round_index)
    report = run.dpo(records, config.training, f"round-{round_index}", beta=config.beta)
    return {"stage": f"round-{round_index}", **stats, **label_counts(labelled), **stage_stats(report)}


STAR_ROUNDS: dict[type, Callable[..., dict[str, Any]]] = {
    StarSFTConfig: star_sft_round,
    StarRationalizerConfig: star_sft_round,
    StarDPOConfig: star_dpo_round,
}


def train_star(config: StarConfig, resume: bool = False) -> JudgeTrainResult:
    """Run `config.rounds` STaR rounds (the variant is the config's class) and save a sample-mode judge. `resume`:
    continue an interrupted run in the output directory after its last finished round."""
    run = JudgeRun(config, resume)
    pairs, negatives = read_judge_pairs(config)
    run.unit(lambda: {"stage": "data", "pairs": len(pairs), "master_key_negatives": negatives.added})
    examples = pairwise_examples(run.judge(), pairs, config.both_orders, config.seed)
    one_round = STAR_ROUNDS[type(config)]
    for round_index in range(1, config.rounds + 1):
        run.unit(partial(one_round, run, config, examples, round_index))
    return run.save(
        mode="sample",
        num_samples=config.inference_num_samples,
        max_new_tokens=config.sampling.max_new_tokens,
        verdict_after_rationale=config.verdict_after_rationale,
    )
