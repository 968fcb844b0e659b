"""Direct GenRM (Mahan et al. 2024, arXiv 2410.12832): SFT of a judge LM on the verdict token alone.

Each preference pair becomes the judge prompt of a verdict-only template (default `pairwise-direct`) in a seeded
A/B order, with `[[A]]` or `[[B]]` as the target; the loss falls on the verdict (the prompt is masked). The judge is
saved in logprob mode: at inference P(A) is read from the verdict token's distribution right after `[[`.
"""

from __future__ import annotations

from rewardkit.families.verdicts import verdict_token_ids
from rewardkit.training.judge_config import GenRMConfig
from rewardkit.training.judge_data import genrm_records, pairwise_examples, read_judge_pairs
from rewardkit.training.judge_trainer import JudgeRun, JudgeTrainResult, stage_stats


def train_genrm(config: GenRMConfig, resume: bool = False) -> JudgeTrainResult:
    """Train a direct GenRM judge as `config` says and save it as a logprob-mode judge directory. `resume`: an
    interrupted run whose one SFT stage had finished is saved without training again (a stage cut short reruns)."""
    run = JudgeRun(config, resume)
    renderer = run.judge()
    verdict_token_ids(run.tokenizer, renderer.template)
    pairs, negatives = read_judge_pairs(config)
    examples = pairwise_examples(renderer, pairs, config.both_orders, config.seed)

    def sft_stage() -> dict:
        report = run.sft(genrm_records(examples, renderer.template), config.training, "genrm")
        first_verdict = renderer.template.verdicts[0]
        return {
            "stage": "genrm",
            "pairs": len(pairs),
            "master_key_negatives": negatives.added,
            "judge_prompts": len(examples),
            "label_first_fraction": round(sum(ex.label == first_verdict for ex in examples) / len(examples), 4),
            **stage_stats(report),
        }

    run.unit(sft_stage)
    return run.save(mode="logprob")
