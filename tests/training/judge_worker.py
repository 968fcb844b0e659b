"""One rank of a two-process STaR-SFT run, started by torchrun in test_scale_out.py.

Usage: judge_worker.py RECIPE OUTPUT RECORDS. Samples come from the tests' scripted engine (a random tiny model
writes no verdicts); each rank records how many judge prompts it sampled, then the recipe runs through the CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rewardkit.cli import app
from rewardkit.training import distributed, judge_trainer
from tests.families.test_generative import ScriptedEngine
from tests.training.judge_helpers import alternating_verdicts


def main(recipe: str, output: str, records: str) -> None:
    sample_all = judge_trainer.sample_all

    def recorded_sample_all(judge, texts, settings, seed, description="sampling"):
        with (Path(records) / f"sampled-rank{distributed.rank()}.txt").open("a") as handle:
            handle.write(f"{len(texts)}\n")
        return sample_all(judge, texts, settings, seed, description)

    judge_trainer.sample_all = recorded_sample_all
    judge_trainer.JudgeRun.engine = lambda run: ScriptedEngine(run.tokenizer, alternating_verdicts)
    app(["train", "star-sft", "--config", recipe, "--output", output], standalone_mode=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
