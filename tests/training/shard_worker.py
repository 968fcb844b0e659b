"""One rank of a two-process run of rewardkit.training.distributed (started by torchrun in test_scale_out.py).

Usage: shard_worker.py RECORDS. Each rank records which items its shard saw; rank 0 writes the gathered results.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from rewardkit.training import distributed


def main(records: str) -> None:
    distributed.initialize()
    records_dir = Path(records)

    def square_and_note(shard: list[int]) -> list[int]:
        (records_dir / f"shard-rank{distributed.rank()}.json").write_text(json.dumps(shard))
        return [item * item for item in shard]

    gathered = distributed.sharded_map(square_and_note, list(range(7)))
    distributed.on_main_process(lambda: (records_dir / "gathered.json").write_text(json.dumps(gathered)))
    torch.distributed.destroy_process_group()  # gloo's threads must stop before the interpreter exits


if __name__ == "__main__":
    main(*sys.argv[1:])
