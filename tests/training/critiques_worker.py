"""One rank of a two-process `rewardkit train cloud-critiques` run, started by torchrun in test_scale_out.py.

Usage: critiques_worker.py RECIPE OUTPUT.
"""

from __future__ import annotations

import sys

from rewardkit.cli import app


def main(recipe: str, output: str) -> None:
    app(["train", "cloud-critiques", "--config", recipe, "--output", output], standalone_mode=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
