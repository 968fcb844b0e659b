"""bench/bench_bon_scoring.py: the chunks it alternates over, and that alternating keeps every reward in item order."""

from __future__ import annotations

import numpy as np
import pytest

from rewardkit.data.bon_data import BonItem
from rewardkit.families.scalar import ScalarRewardModel
from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/bench_bon_scoring.py")


def test_alternating_paths_time_each_chunk_and_agree_in_item_order(bench, tiny_model_dir, monkeypatch):
    # fp32: on a CPU with native bf16, `auto` computes in bf16, where packed and whole rewards differ by ~1e-3
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp32")
    items = [
        BonItem(
            f"q{index}",
            f"What is {index} + {index}?",
            [f"It is {2 * index}.", "No idea.", f"{index}"],
            [True, False, False],
        )
        for index in range(5)
    ]
    order = []
    for name in ("time_shared", "time_unshared"):
        timed = getattr(bench, name)
        monkeypatch.setattr(
            bench, name, lambda m, chunk, timed=timed, name=name: order.append(name) or timed(m, chunk)
        )

    result = bench.time_alternating(model, items, chunks=3)

    assert order == ["time_shared", "time_unshared", "time_unshared", "time_shared", "time_shared", "time_unshared"]
    expected = [model.rewards([item.prompt] * 3, item.candidates) for item in items]
    for seconds, rewards in result.values():
        assert seconds > 0 and np.allclose(rewards, np.concatenate(expected), atol=1e-4)
