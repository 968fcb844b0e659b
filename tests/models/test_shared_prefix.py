"""Tree packing of a shared prefix and its members: rows, positions, segments and the attention mask, by hand."""

from __future__ import annotations

import torch

from rewardkit.models.shared_prefix import PrefixGroup, pack_group, packed_attention_mask

SEQUENCES = [[1, 2, 3, 7, 8], [1, 2, 3, 9], [1, 2, 3, 5, 5, 5]]
GROUP = PrefixGroup(prefix_length=3, members=[0, 1, 2])


def test_one_row_holds_the_prefix_once_and_every_member_after_it():
    (row,) = pack_group(SEQUENCES, GROUP, max_row_tokens=100)
    assert row.tokens == [1, 2, 3, 7, 8, 9, 5, 5, 5]
    assert row.positions == [0, 1, 2, 3, 4, 3, 3, 4, 5]
    assert row.segments == [0, 0, 0, 1, 1, 2, 3, 3, 3]
    assert row.ends == {0: 4, 1: 5, 2: 8}


def test_a_member_past_the_row_limit_starts_a_row_with_the_prefix_again():
    rows = pack_group(SEQUENCES, GROUP, max_row_tokens=6)
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
