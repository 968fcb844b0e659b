"""One rank of a multi-process BT run, started by `torchrun` or `accelerate launch` in test_scale_out.py.

Usage: ddp_worker.py RECIPE OUTPUT RECORDS. Trains with rewardkit's recipe code; records which ranks saved the model
(RECORDS/saves.txt) and each rank's final weights (RECORDS/weights-rank<N>.pt) so the test can compare them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from transformers import TrainerCallback

from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.training import distributed
from rewardkit.training.bt import train_bt
from rewardkit.training.config import load_config


class FinalWeights(TrainerCallback):
    def __init__(self, records: Path) -> None:
        self.records = records

    def on_train_end(self, args, state, control, model=None, **kwargs):
        weights = {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}
        torch.save(weights, self.records / f"weights-rank{distributed.rank()}.pt")


def main(recipe: str, output: str, records: str) -> None:
    records_dir = Path(records)
    save = ScalarRewardModel.save

    def recorded_save(self, directory):
        with (records_dir / "saves.txt").open("a") as handle:
            handle.write(f"{distributed.rank()}\n")
        return save(self, directory)

    ScalarRewardModel.save = recorded_save
    config = load_config(Path(recipe), [f"output_dir={output}"])
    train_bt(config, callbacks=[FinalWeights(records_dir)])


if __name__ == "__main__":
    main(*sys.argv[1:])
