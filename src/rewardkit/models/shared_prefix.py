"""Shared-prefix batching: sequences that begin with the same tokens (a prompt and its responses) read those tokens
once (prefix caching as in vLLM's automatic prefix caching and SGLang's RadixAttention, Zheng et al. 2023,
arXiv 2312.07104).

Generation (inference/hf_engine.py) prefills a prefix shared by prompts once and continues from its cached
keys/values. Scoring (families/scalar.py) packs the responses of one prompt (a pair's chosen and rejected, Best-of-N's
N candidates, each ensemble member's pool) into one row after the prompt, with a tree attention mask: every response
sees the prompt and itself, never another response, and its positions start where the prompt ends, so its reward is
the one it gets read alone. One forward per batch of rows, no cache to assemble. On CPU the rows' attention is
`tree_attention`, which computes only the (query, key) pairs the mask allows instead of the masked square.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch._dynamo.decorators import mark_unbacked
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

MIN_SHARED_PREFIX = 8
TREE_ATTENTION = "rewardkit_tree_sdpa"


@dataclass
class PrefixGroup:
    """Sequences (indices) that share their first `prefix_length` tokens; 0 means nothing is shared."""

    prefix_length: int
    members: list[int]


def common_prefix_length(first: Sequence[int], second: Sequence[int]) -> int:
    """Number of leading tokens two sequences share."""
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length


def group_by_shared_prefix(prompts: Sequence[Sequence[int]], min_shared: int = MIN_SHARED_PREFIX) -> list[PrefixGroup]:
    """Group consecutive prompts (sorted so shared prefixes are adjacent) that should prefill a prefix once.

    A prompt joins the current group when the tokens it saves (the shared prefix) outweigh the tokens the other
    members must then recompute (the part of the old prefix they no longer share). Every member keeps at least
    one token of its own, so each row has a last position to read logits from.
    """
    groups: list[PrefixGroup] = []
    for index, prompt in enumerate(prompts):
        if groups:
            group = groups[-1]
            shared = min(common_prefix_length(prompts[group.members[0]], prompt), group.prefix_length, len(prompt) - 1)
            recomputed = (group.prefix_length - shared) * (len(group.members) - 1)
            if shared >= min_shared and shared >= recomputed:
                group.prefix_length = shared
                group.members.append(index)
                continue
        groups.append(PrefixGroup(prefix_length=len(prompt) - 1, members=[index]))
    return groups


def groups_by_key(sequences: Sequence[Sequence[int]], keys: Sequence[Hashable]) -> list[PrefixGroup]:
    """Sequences with the same key (the prompt they answer), grouped by the token prefix they really share.

    Within one key the sequences are sorted by their tokens and grouped by `group_by_shared_prefix`, so a response
    whose prompt was truncated differently (left truncation depends on the response's length) only shares what its
    tokens share. A group of one shares nothing (prefix 0) and is scored by a plain forward pass.
    """
    if len(keys) != len(sequences):
        raise ValueError(f"got {len(keys)} prompt keys for {len(sequences)} sequences")
    by_key: dict[Hashable, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        by_key[key].append(index)
    groups = []
    for indices in by_key.values():
        ordered = sorted(indices, key=lambda index: sequences[index])
        for group in group_by_shared_prefix([sequences[index] for index in ordered]):
            members = [ordered[position] for position in group.members]
            groups.append(PrefixGroup(group.prefix_length if len(members) > 1 else 0, members))
    return groups


def left_pad(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention mask, padded on the left to the longest sequence."""
    width = max(len(sequence) for sequence in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        if sequence:
            ids[row, width - len(sequence) :] = torch.tensor(sequence, dtype=torch.long)
            mask[row, width - len(sequence) :] = 1
    return ids, mask


def positions_skipping_padding(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that skip padding: count of real tokens before each position."""
    return (attention_mask.cumsum(dim=1) - 1).clamp(min=0)


@dataclass
class PackedRow:
    """A shared prefix followed by its members' own tokens in one sequence ("tree" packing): `segments` is 0 on the
    prefix and i + 1 on the i-th member's tokens, `positions` restart after the prefix for every member (each reads
    as if it followed the prefix alone), `ends` maps a member (sequence index) to the row index of its last token."""

    tokens: list[int]
    positions: list[int]
    segments: list[int]
    ends: dict[int, int]


def pack_group(sequences: Sequence[Sequence[int]], group: PrefixGroup, attention_cost: float) -> list[PackedRow]:
    """The group's prefix once, then each member's tokens after it, while that is cheaper than a new row that reads
    the prefix again (`joins_row`); otherwise the member starts a new row."""
    prefix = list(sequences[group.members[0]][: group.prefix_length])
    rows: list[PackedRow] = []
    for member in group.members:
        own = list(sequences[member][group.prefix_length :])
        if not rows or not joins_row(len(rows[-1].tokens), group.prefix_length, len(own), attention_cost):
            rows.append(_prefix_row(prefix))
        _append_member(rows[-1], member, own, group.prefix_length)
    return rows


def pack_pair(chosen: Sequence[int], rejected: Sequence[int]) -> PackedRow:
    """A preference pair in one row: the tokens both sides begin with (the prompt, as far as truncation left it the
    same) once, then chosen's own tokens (member 0), then rejected's (member 1). Each side keeps at least its last
    token, so identical sides still get a score each."""
    shared = _pair_prefix_length(chosen, rejected)
    row = _prefix_row(chosen[:shared])
    _append_member(row, 0, list(chosen[shared:]), shared)
    _append_member(row, 1, list(rejected[shared:]), shared)
    return row


def whole_row(member: int, sequence: Sequence[int]) -> PackedRow:
    """One sequence alone as a packed row (all of it segment 0, so the mask is causal), read at its last token."""
    row = _prefix_row(sequence)
    row.ends[member] = len(sequence) - 1
    return row


def _prefix_row(prefix: Sequence[int]) -> PackedRow:
    return PackedRow(list(prefix), list(range(len(prefix))), [0] * len(prefix), {})


def _append_member(row: PackedRow, member: int, own: list[int], prefix_length: int) -> None:
    """`own` tokens after the row's last member, in a new segment, at the positions that follow the prefix."""
    row.tokens += own
    row.positions += range(prefix_length, prefix_length + len(own))
    row.segments += [len(row.ends) + 1] * len(own)
    row.ends[member] = len(row.tokens) - 1


def packed_pair_length(chosen: Sequence[int], rejected: Sequence[int]) -> int:
    """Tokens in `pack_pair(chosen, rejected)`'s row."""
    return len(chosen) + len(rejected) - _pair_prefix_length(chosen, rejected)


def _pair_prefix_length(chosen: Sequence[int], rejected: Sequence[int]) -> int:
    return max(0, min(common_prefix_length(chosen, rejected), len(chosen) - 1, len(rejected) - 1))


def joins_row(row_length: int, prefix_length: int, member_length: int, attention_cost: float) -> bool:
    """Whether a member of `member_length` own tokens is cheaper appended to a row of `row_length` tokens than put
    in a new row after its own copy of the prefix. A forward costs, per layer, `linear` per token plus `attention`
    per (query, key) pair of a row (the masked attention computes the whole square); `attention_cost` is
    attention / linear. Appending: linear·m + attention·(2Lm + m²); new row: linear·(p + m) + attention·(p + m)²;
    so append while attention_cost·(2m(L − p) − p²) < p."""
    extra_attention = 2 * member_length * (row_length - prefix_length) - prefix_length**2
    return attention_cost * extra_attention < prefix_length


def attention_to_linear_cost(model: torch.nn.Module) -> float:
    """`attention_cost` of `joins_row` for a decoder: per layer, a (query, key) pair costs 4·hidden FLOPs (scores and
    weighted values over all heads), a token 2·(that layer's linear weights)."""
    config = model.config
    linear_weights = sum(module.weight.numel() for module in model.modules() if isinstance(module, torch.nn.Linear))
    per_layer = max(linear_weights / config.num_hidden_layers, 1)
    return 4 * config.hidden_size / (2 * per_layer)


def packed_attention_mask(segments: torch.Tensor) -> torch.Tensor:
    """(batch, 1, width, width) boolean mask for right-padded packed rows (`segments` -1 on padding): a token sees the
    tokens before it on the prefix (segment 0) and in its own segment; a padding position sees only itself, so no row
    of the attention is empty."""
    width = segments.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    queries, keys = segments[:, :, None], segments[:, None, :]
    allowed = causal & (keys >= 0) & (queries >= 0) & ((keys == 0) | (keys == queries))
    padding = (segments < 0)[:, :, None] & torch.eye(width, dtype=torch.bool)
    return (allowed | padding)[:, None]


@dataclass
class MemberSpan:
    """A member's own tokens `[start, end)` in a packed row, and the boolean mask its queries use over the keys
    (prefix, then its own tokens): the whole prefix, its own tokens causally."""

    start: int
    end: int
    mask: torch.Tensor


@dataclass
class TreeLayout:
    """Where the prefix ends and each member lies in every row of a batch of packed rows, for `tree_attention`."""

    prefix_ends: list[int]
    members: list[list[MemberSpan]]


def tree_layout(rows: Sequence[PackedRow], device: torch.device | str = "cpu") -> TreeLayout:
    """The layout of `rows` (as `packed_attention_mask` reads their segments), with each member's mask built once
    for all layers."""
    prefix_ends, members = [], []
    for row in rows:
        prefix_end = row.segments.index(1) if 1 in row.segments else len(row.segments)
        spans, start = [], prefix_end
        while start < len(row.segments):
            end = start
            while end < len(row.segments) and row.segments[end] == row.segments[start]:
                end += 1
            spans.append(MemberSpan(start, end, _member_mask(prefix_end, end - start, device)))
            start = end
        prefix_ends.append(prefix_end)
        members.append(spans)
    return TreeLayout(prefix_ends, members)


def _member_mask(prefix_length: int, own_length: int, device: torch.device | str) -> torch.Tensor:
    mask = torch.ones(own_length, prefix_length + own_length, dtype=torch.bool, device=device)
    mask[:, prefix_length:] = torch.ones(own_length, own_length, dtype=torch.bool, device=device).tril()
    return mask


def tree_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    tree_layout: TreeLayout | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """SDPA attention (transformers' `sdpa_attention_forward`, which it is whenever no `tree_layout` is passed)
    that computes, for packed rows, only the (query, key) pairs the tree mask allows: per row, the prefix and its
    first member as one causal block, then each further member's queries over the prefix's keys and its own. The
    dense masked square computes every pair of the row and discards the masked ones, a waste that grows with the
    members and the length of a row: on a 2-core CPU, Best-of-N rows of 4 candidates and pairs at 2,048 tokens
    score 1.12x faster; pairs at 256 tokens gain nothing measurable (docs/BENCHMARKS.md). Same result up to
    rounding.
    `query` is (rows, heads, width, head_dim), `key`/`value` (rows, kv_heads, width, head_dim); positions after a
    row's last member (padding) come out zero."""
    if tree_layout is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    grouped = query.shape[1] != key.shape[1]
    output = query.new_zeros(query.shape)
    for row, (prefix_end, spans) in enumerate(zip(tree_layout.prefix_ends, tree_layout.members, strict=True)):
        first_end = spans[0].end if spans else prefix_end
        rows = slice(row, row + 1)
        output[rows, :, :first_end] = F.scaled_dot_product_attention(
            query[rows, :, :first_end], key[rows, :, :first_end], value[rows, :, :first_end],
            dropout_p=dropout, is_causal=True, scale=scaling, enable_gqa=grouped,
        )  # fmt: skip
        for span in spans[1:]:
            own = slice(span.start, span.end)
            output[rows, :, own] = F.scaled_dot_product_attention(
                query[rows, :, own],
                torch.cat((key[rows, :, :prefix_end], key[rows, :, own]), dim=2),
                torch.cat((value[rows, :, :prefix_end], value[rows, :, own]), dim=2),
                attn_mask=span.mask, dropout_p=dropout, scale=scaling, enable_gqa=grouped,
            )  # fmt: skip
    return output.transpose(1, 2).contiguous(), None


AttentionInterface.register(TREE_ATTENTION, tree_attention)
AttentionMaskInterface.register(TREE_ATTENTION, sdpa_mask)


def use_tree_attention(model: torch.nn.Module) -> None:
    """Switch an SDPA model whose layers call transformers' attention functions (`_supports_attention_backend`,
    e.g. Llama, Qwen2) to `tree_attention` (registered as TREE_ATTENTION): it behaves as SDPA unless a forward
    passes `tree_layout`. Other models are left as they are. Saved configs do not record it."""
    if model.config._attn_implementation == "sdpa" and getattr(model, "_supports_attention_backend", False):
        model.set_attn_implementation(TREE_ATTENTION)


def score_head(model: torch.nn.Module) -> torch.nn.Module:
    """A classifier's one-output head `score` (wrapped by peft on a LoRA model, by DDP in a multi-process run: the
    outermost module of that name)."""
    names = [name for name, _ in model.named_modules() if name.split(".")[-1] == "score"]
    if not names:
        raise ValueError(f"{type(model).__name__} has no `score` head to read packed rows from")
    return model.get_submodule(min(names, key=len))


def packed_scores(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    position_ids: torch.Tensor,
    layout: TreeLayout | None = None,
) -> torch.Tensor:
    """(rows, width) outputs of the score head at every token of packed rows, from one forward with their tree mask
    and positions (the model's own pooling, at each row's last token, is not used). With `layout`, a model under
    `tree_attention` computes only the pairs the mask allows (others read the mask and ignore it)."""
    captured: list[torch.Tensor] = []
    hook = score_head(model).register_forward_hook(lambda _module, _inputs, output: captured.append(output))
    extra = {} if layout is None else {"tree_layout": layout}
    try:
        model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False, **extra)
    finally:
        hook.remove()
    return captured[-1][..., 0]


TokenScores = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def compiled_token_scores(model: torch.nn.Module) -> TokenScores:
    """`packed_scores` as one function compiled by `torch.compile` with dynamic shapes (one graph for every batch's
    rows and width): the backbone (`model.base_model`) and then the score head at every token, so no hook is added
    per call. The weights stay inputs of the graph (not frozen in as constants), so a later change to them is read.
    The rows dimension is marked unbacked, one symbol shared by the three inputs, so that a batch of one row runs the
    same graph instead of compiling one of its own (dynamic shapes otherwise specialize a dimension of size 1).
    The first call compiles (one to two minutes on 2 CPU cores)."""
    backbone, head = model.base_model, score_head(model)

    def token_scores(ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        hidden = backbone(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False)
        return head(hidden.last_hidden_state)[..., 0]

    compiled = torch.compile(token_scores, dynamic=True)

    def any_rows(ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        for tensor in (ids, mask, positions):
            mark_unbacked(tensor, 0, shape_id="rows")
        return compiled(ids, mask, positions)

    return any_rows
