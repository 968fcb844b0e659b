"""Pair packing in BT training: a pair's prompt read once, chosen and rejected after it in one row, must give the loss
and the gradients of reading each side whole, and a run trains the same model."""

from __future__ import annotations

import logging

import pytest
import torch

from rewardkit.data.schema import PreferencePair
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.models.shared_prefix import packed_pair_length
from rewardkit.training.bt import build_reward_model, train_bt
from rewardkit.training.bt_data import BTData
from rewardkit.training.collate import PackedPairCollator, PairwiseCollator, tokenize_pairs
from rewardkit.training.config import build_config
from rewardkit.training.pairwise_trainer import bradley_terry_loss, pair_rewards

PAIRS = [
    PreferencePair(id="short", prompt="Say the word apple.", chosen="apple", rejected="pear"),
    PreferencePair(
        id="long-prompt",
        prompt="Count the letters of banana and answer with a number only, then stop. " * 3,
        chosen="6",
        rejected="There are many letters in that word, at least seven or eight of them.",
    ),
    PreferencePair(id="same-answer", prompt="Repeat: yes.", chosen="yes", rejected="yes"),
    PreferencePair(id="no-words", prompt="Name a fruit.", chosen="mango, ripe", rejected="x"),
]


def _config(tiny_model_dir, output_dir, **overrides):
    settings = {
        "model": str(tiny_model_dir),
        "output_dir": str(output_dir),
        "precision": "fp32",
        "max_length": 40,
        "max_response_length": 16,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
        "seed": 3,
    }
    return build_config({**settings, **overrides})


def _loss_and_grads(model: torch.nn.Module, batch: dict[str, torch.Tensor]):
    model.zero_grad()
    chosen, rejected = pair_rewards(model, batch)
    loss = bradley_terry_loss(chosen, rejected, batch["margin"], center_rewards_coefficient=0.01)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad and p.grad is not None}
    return loss.detach(), torch.stack([chosen, rejected]).detach(), grads


@pytest.mark.parametrize("adapter", ["lora", "full"])
def test_packed_pairs_give_the_loss_and_gradients_of_each_side_read_whole(tiny_model_dir, tmp_path, adapter):
    reward_model = build_reward_model(_config(tiny_model_dir, tmp_path, adapter=adapter))
    tokenizer, truncation = reward_model.tokenizer, reward_model.truncation
    dataset, counts = tokenize_pairs(PAIRS, tokenizer, truncation, margin=0.5)
    assert counts.prompts_truncated >= 1, "one pair's prompt must be cut (sides then share less than the prompt)"
    features = [dataset[index] for index in range(len(dataset))]
    reward_model.model.train()
    whole_batch = PairwiseCollator(tokenizer.pad_token_id)(features)
    whole = _loss_and_grads(reward_model.model, whole_batch)
    packed_batch = PackedPairCollator(tokenizer.pad_token_id)(features)
    packed = _loss_and_grads(reward_model.model, packed_batch)
    torch.testing.assert_close(packed[0], whole[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(packed[1], whole[1], rtol=0, atol=1e-5)
    assert packed[2].keys() == whole[2].keys() and len(whole[2]) > 0
    for name, gradient in whole[2].items():
        torch.testing.assert_close(packed[2][name], gradient, rtol=1e-4, atol=1e-6, msg=name)
    for pair, feature, rejected_end in zip(PAIRS, features, packed_batch["rejected_end"].tolist(), strict=True):
        whole_tokens = len(feature["chosen_input_ids"]) + len(feature["rejected_input_ids"])
        if pair.id != "long-prompt":  # its prompt is cut at two places: the sides share no first token
            assert rejected_end + 1 < whole_tokens, "an uncut prompt must be read once"


def test_packed_lengths_are_the_rows_the_collator_builds(tiny_model_dir, tmp_path):
    reward_model = build_reward_model(_config(tiny_model_dir, tmp_path))
    dataset, _ = tokenize_pairs(PAIRS, reward_model.tokenizer, reward_model.truncation, packed=True)
    for feature in dataset:
        batch = PackedPairCollator(reward_model.tokenizer.pad_token_id)([feature])
        assert batch["input_ids"].shape[1] == feature["length"]
        assert feature["length"] == packed_pair_length(feature["chosen_input_ids"], feature["rejected_input_ids"])
        assert batch["chosen_end"].item() < batch["rejected_end"].item() == feature["length"] - 1


def _trained_rewards(tiny_model_dir, output_dir, packing: str) -> tuple[list[float], bool]:
    config = _config(
        tiny_model_dir,
        output_dir,
        pair_packing=packing,
        max_steps=4,
        per_device_train_batch_size=2,
        learning_rate=5e-3,
        group_by_length=False,  # the same seeded random order either way (packed lengths would regroup)
        eval_steps=0,
        save_steps=100,
    )
    result = train_bt(config, data=BTData(train=PAIRS * 2, eval=PAIRS[:2]))
    model = ScalarRewardModel.load(str(output_dir), precision="fp32")
    return model.rewards([pair.prompt for pair in PAIRS], [pair.chosen for pair in PAIRS]), result.pair_packing


def test_a_packed_run_trains_the_model_an_unpacked_run_trains(tiny_model_dir, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="rewardkit.training.bt"):
        packed, was_packed = _trained_rewards(tiny_model_dir, tmp_path / "packed", "auto")
    whole, was_whole = _trained_rewards(tiny_model_dir, tmp_path / "whole", "off")
    assert (was_packed, was_whole) == (True, False), "auto packs on CPU with SDPA"
    assert "pair packing: on" in caplog.text and "fewer" in caplog.text
    torch.testing.assert_close(torch.tensor(packed), torch.tensor(whole), rtol=0, atol=1e-4)
    untrained = ScalarRewardModel.from_backbone(str(tiny_model_dir), seed=3, precision="fp32")
    before = untrained.rewards([pair.prompt for pair in PAIRS], [pair.chosen for pair in PAIRS])
    assert max(abs(a - b) for a, b in zip(packed, before, strict=True)) > 1e-3, "training must move the rewards"


def test_packing_on_a_model_that_cannot_pack_is_an_error_and_auto_falls_back(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(ScalarRewardModel, "packs_rows", property(lambda self: False))
    data = BTData(train=PAIRS, eval=[])
    with pytest.raises(ValueError, match="pair_packing: on needs .*score.* head under SDPA"):
        train_bt(_config(tiny_model_dir, tmp_path / "on", pair_packing="on", max_steps=1), data=data)
    result = train_bt(_config(tiny_model_dir, tmp_path / "auto", max_steps=1, save_steps=100), data=data)
    assert result.pair_packing is False
