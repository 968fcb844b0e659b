"""Tree packing of a shared prefix and its members: rows, positions, segments and the attention mask, by hand."""

from __future__ import annotations

import torch

from rewardkit.models.shared_prefix import (
    PrefixGroup,
    attention_to_linear_cost,
    joins_row,
    pack_group,
    packed_attention_mask,
)

SEQUENCES = [[1, 2, 3, 7, 8], [1, 2, 3, 9], [1, 2, 3, 5, 5, 5]]
GROUP = PrefixGroup(prefix_length=3, members=[0, 1, 2])


def test_one_row_holds_the_prefix_once_and_every_member_after_it():
    (row,) = pack_group(SEQUENCES, GROUP, attention_cost=0.0)
    assert row.tokens == [1, 2, 3, 7, 8, 9, 5, 5, 5]
    assert row.positions == [0, 1, 2, 3, 4, 3, 3, 4, 5]
    assert row.segments == [0, 0, 0, 1, 1, 2, 3, 3, 3]
    assert row.ends == {0: 4, 1: 5, 2: 8}


def test_a_member_whose_attention_costs_more_than_the_prefix_starts_a_row_with_the_prefix_again():
    # third member (3 tokens) after a 6-token row with a 3-token prefix: 0.2 * (2*3*3 - 9) = 1.8 < 3 joins;
    # at 0.4 it is 3.6 >= 3: a new row. The second member always joins (2*2*2 - 9 < 0).
    assert len(pack_group(SEQUENCES, GROUP, attention_cost=0.2)) == 1
    rows = pack_group(SEQUENCES, GROUP, attention_cost=0.4)
    assert [row.tokens for row in rows] == [[1, 2, 3, 7, 8, 9], [1, 2, 3, 5, 5, 5]]
    assert [row.ends for row in rows] == [{0: 4, 1: 5}, {2: 5}]
    assert rows[1].segments == [0, 0, 0, 1, 1, 1]


def test_mask_lets_a_member_see_the_prefix_and_itself_only_and_padding_only_itself():
    segments = torch.tensor([[0, 0, 1, 1, 2, -1]])
    mask = packed_attention_mask(segments)[0, 0].int().tolist()
    assert mask == [
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 0, 0],
        [1, 1, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1],
    ]


def test_join_rule_by_hand_and_the_cost_ratio_of_a_llama_layer():
    # prefix 60, members of 150, attention / linear = 1/3073 (SmolLM2-135M): join while 300 (L - 60) - 3600 < 60 * 3073
    assert joins_row(660, 60, 150, 1 / 3073) and not joins_row(690, 60, 150, 1 / 3073)
    assert joins_row(60, 60, 10_000, 1.0), "the first member always joins"

    class Config:
        hidden_size, num_hidden_layers = 8, 2

    model = torch.nn.Sequential(torch.nn.Linear(8, 16, bias=False), torch.nn.Linear(16, 8, bias=False))
    model.config = Config()
    assert attention_to_linear_cost(model) == 4 * 8 / (2 * (2 * 128 / 2))
