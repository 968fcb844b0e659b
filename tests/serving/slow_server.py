"""A server over a model that takes a fixed time per call, run as `python -m tests.serving.slow_server PORT
SECONDS_PER_CALL SHUTDOWN_TIMEOUT_S`, through `run_server` (the SIGTERM handling `rewardkit serve` has)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from rewardkit.protocol import Capabilities, Preference, Score, UnsupportedOperation
from rewardkit.serving.app import create_app
from rewardkit.serving.limits import ServingLimitsConfig
from rewardkit.serving.micro_batcher import BatchingConfig
from rewardkit.serving.server import run_server


class SlowModel:
    """Reward = response length, after `seconds_per_call` of pretend compute per model call."""

    name = "slow"
    tie_credit = 0.0
    capabilities = Capabilities(compare=False)

    def __init__(self, seconds_per_call: float) -> None:
        self.seconds_per_call = seconds_per_call

    def score(self, prompts: Sequence, responses: Sequence[str]) -> list[Score]:
        time.sleep(self.seconds_per_call)
        return [Score(float(len(response))) for response in responses]

    def compare(self, prompts: Sequence, responses_a: Sequence[str], responses_b: Sequence[str]) -> list[Preference]:
        raise UnsupportedOperation("scores only")


if __name__ == "__main__":
    port, seconds_per_call, shutdown_timeout_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    app = create_app(
        SlowModel(seconds_per_call),
        BatchingConfig(max_batch_size=4, max_wait_ms=1),
        ServingLimitsConfig(shutdown_timeout_s=shutdown_timeout_s),
    )
    run_server(app, "127.0.0.1", port, max_connections=256)
