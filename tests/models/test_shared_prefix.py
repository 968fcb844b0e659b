"""Tree packing of a shared prefix and its members: rows, positions, segments and the attention mask, by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification

from rewardkit.models.shared_prefix import (
    TREE_ATTENTION,
    PrefixGroup,
    attention_to_linear_cost,
    joins_row,
    pack_group,
    pack_pair,
    packed_attention_mask,
    tree_attention,
    tree_layout,
    use_tree_attention,
    whole_row,
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


def _padded_segments(rows) -> torch.Tensor:
    segments = torch.full((len(rows), max(len(row.segments) for row in rows)), -1)
    for index, row in enumerate(rows):
        segments[index, : len(row.segments)] = torch.tensor(row.segments)
    return segments


def test_the_layout_gives_each_member_its_span_and_a_mask_over_the_prefix_and_itself():
    (row,) = pack_group(SEQUENCES, GROUP, attention_cost=0.0)
    layout = tree_layout([row, whole_row(0, [4, 5, 6])])
    assert layout.prefix_ends == [3, 3]
    assert [(span.start, span.end) for span in layout.members[0]] == [(3, 5), (5, 6), (6, 9)]
    assert layout.members[1] == [], "a sequence read whole is all prefix"
    assert layout.members[0][2].mask.int().tolist() == [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]


@pytest.mark.parametrize("kv_heads", [4, 2], ids=["multi-head", "grouped-query"])
def test_tree_attention_equals_the_dense_masked_attention_on_every_real_token(kv_heads):
    """Rows of different widths (padding), a pair, a Best-of-N group and a sequence alone."""
    rows = [
        pack_pair([1, 2, 3, 4, 5, 6], [1, 2, 3, 7]),
        *pack_group(SEQUENCES, GROUP, attention_cost=0.0),
        whole_row(0, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11]),
    ]
    segments = _padded_segments(rows)
    width, generator = segments.shape[1], torch.Generator().manual_seed(0)
    query = torch.randn(len(rows), 4, width, 8, generator=generator)
    key, value = (torch.randn(len(rows), kv_heads, width, 8, generator=generator) for _ in range(2))
    module = torch.nn.Module()
    module.num_key_value_groups = 4 // kv_heads
    tree, _ = tree_attention(module, query, key, value, None, scaling=0.3, tree_layout=tree_layout(rows))
    repeat = 4 // kv_heads
    dense = F.scaled_dot_product_attention(
        query, key.repeat_interleave(repeat, 1), value.repeat_interleave(repeat, 1),
        attn_mask=packed_attention_mask(segments), scale=0.3,
    ).transpose(1, 2)  # fmt: skip
    for index, row in enumerate(rows):
        real = len(row.tokens)
        torch.testing.assert_close(tree[index, :real], dense[index, :real], rtol=0, atol=1e-6)
        assert not tree[index, real:].any(), "padding comes out zero"


def test_without_a_layout_tree_attention_is_transformers_sdpa():
    generator = torch.Generator().manual_seed(1)
    query, key, value = (torch.randn(2, 2, 5, 4, generator=generator) for _ in range(3))
    module = torch.nn.Module()
    mask = torch.ones(2, 1, 5, 5, dtype=torch.bool).tril()
    output, _ = tree_attention(module, query, key, value, mask, scaling=0.5)
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=0.5).transpose(1, 2)
    torch.testing.assert_close(output, expected)


def test_only_models_whose_layers_call_transformers_attention_functions_switch_to_tree_attention(tiny_model_dir):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1)
    model._supports_attention_backend = False  # e.g. a model with its own attention code
    use_tree_attention(model)
    assert model.config._attn_implementation == "sdpa"
    del model._supports_attention_backend  # back to the Llama class's True
    use_tree_attention(model)
    assert model.config._attn_implementation == TREE_ATTENTION
