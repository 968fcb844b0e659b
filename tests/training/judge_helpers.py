"""Shared pieces of the judge-recipe tests: toy data files, recipe YAML, and a scripted engine in place of HFEngine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from rewardkit.families.generative import GenerativeJudge, WrittenJudgement
from rewardkit.families.verdicts import ParsedVerdict
from rewardkit.training.judge_trainer import JudgeRun
from tests.families.test_generative import ScriptedEngine

HINTED_VERDICT = re.compile(r"Hint: the correct final verdict for this comparison is \[\[(\w)\]\]")
SMALL_LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
STEPS = {"max_steps": 2, "learning_rate": 1e-3, "per_device_train_batch_size": 2}  # two steps a stage


def written(verdict: str | None, text: str | None = None) -> WrittenJudgement:
    """A sampled judgement with the given verdict (None: a failed parse)."""
    if verdict is None:
        return WrittenJudgement(text or "no idea", ParsedVerdict(None, "no_verdict", text or "no idea"))
    rationale = text or f"Reason for {verdict}."
    return WrittenJudgement(f"{rationale}\n[[{verdict}]]", ParsedVerdict(verdict, "ok", rationale))


def write_pairs(path: Path, count: int = 4) -> Path:
    with path.open("w") as handle:
        for index in range(count):
            row = {
                "id": f"p{index}",
                "prompt": f"What is {index} plus 7?",
                "chosen": f"{index + 7}",
                "rejected": "cba",
            }
            handle.write(json.dumps(row) + "\n")
    return path


def write_rated_rows(path: Path, count: int = 8) -> Path:
    with path.open("w") as handle:
        for index in range(count):
            score = index % 5 + 2
            row = {
                "id": f"r{index}",
                "prompt": "Count the letters in the word banana.",
                "response": f"There are {index} letters.",
                "critique": f"The count is off. It says {index}.\n\nRating: [[{score}]]",
                "score": str(score),
            }
            handle.write(json.dumps(row) + "\n")
    return path


def write_recipe(path: Path, settings: dict) -> Path:
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def alternating_verdicts(prompt: str, index: int) -> str:
    """Sample 0 says A, sample 1 says B (so every prompt has an agreeing and a disagreeing rationale)."""
    return f"Looking at both, sample {index}.\n[[{'AB'[index % 2]}]]"


def follows_hint_else_a(prompt: str, index: int) -> str:
    """A position-biased judge: always [[A]], unless a hint names the verdict."""
    hinted = HINTED_VERDICT.search(prompt)
    return f"As hinted, {index}.\n[[{hinted.group(1)}]]" if hinted else f"The first, {index}.\n[[A]]"


def spread_ratings(prompt: str, index: int) -> str:
    """Ratings 2, 6, 4, ... by sample index, so each item has a close and a far judgement."""
    return f"Assessment {index}.\nRating: [[{(2, 6, 4)[index % 3]}]]"


def script_engine(monkeypatch, rule) -> None:
    """Make every JudgeRun sample through a ScriptedEngine writing `rule(prompt, index)` (training stays real)."""

    def engine(self: JudgeRun) -> ScriptedEngine:
        return ScriptedEngine(self.tokenizer, rule)

    monkeypatch.setattr(JudgeRun, "engine", engine)


def scripted_renderer(tiny_model_dir, tokenizer, template: str = "pairwise-direct") -> GenerativeJudge:
    """A one-order sample-mode judge that only renders prompts here."""
    engine = ScriptedEngine(tokenizer, alternating_verdicts)
    return GenerativeJudge(str(tiny_model_dir), template, both_orders=False, engine=engine, tokenizer=tokenizer)
