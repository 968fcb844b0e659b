"""Exact resume across an epoch boundary (length grouping on and off), checkpoints renamed into place only when
complete, and a resume that skips an incomplete newest checkpoint for the one before."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap

import pytest

from rewardkit.training.bt import train_bt
from rewardkit.training.length_grouping import EpochSeededLengthGroupedSampler
from rewardkit.training.pairwise_trainer import checkpoints_dir
from tests.training.test_bt_training import DATA, _config, _CrashAtStep, _rewards

BATCH_SIZE = 4  # per_device_train_batch_size in _config
STEPS_PER_EPOCH = len(DATA.train) // BATCH_SIZE
TWO_EPOCHS = 2 * STEPS_PER_EPOCH
MID_EPOCH_TWO = STEPS_PER_EPOCH + 4  # after checkpoint-9 (save_steps 3), three steps into epoch 2


def _two_epoch_config(tiny_model_dir, output, group_by_length=True):
    return _config(tiny_model_dir, output, max_steps=TWO_EPOCHS, group_by_length=group_by_length)


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir, tmp_path_factory):
    """Rewards of uninterrupted two-epoch runs, with and without length grouping."""
    rewards = {}
    for grouped in (True, False):
        output = tmp_path_factory.mktemp(f"bt-two-epochs-grouped-{grouped}")
        train_bt(_two_epoch_config(tiny_model_dir, output, grouped), data=DATA)
        rewards[grouped] = _rewards(output)
    return rewards


@pytest.mark.parametrize("grouped", [True, False], ids=["group_by_length", "random"])
def test_killed_mid_epoch_two_resumes_to_the_uninterrupted_weights(tiny_model_dir, tmp_path, uninterrupted, grouped):
    config = _two_epoch_config(tiny_model_dir, tmp_path / "resumed", grouped)
    with pytest.raises(KeyboardInterrupt):
        train_bt(config, data=DATA, callbacks=[_CrashAtStep(MID_EPOCH_TWO)])
    result = train_bt(config, data=DATA, resume=True)
    assert result.global_step == TWO_EPOCHS
    assert _rewards(tmp_path / "resumed") == pytest.approx(uninterrupted[grouped], abs=1e-6)


# A training process that SIGKILLs itself (no exception, no cleanup): after optimizer step N, or while torch.save
# writes one file of checkpoint-N.
KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    from transformers import TrainerCallback
    from rewardkit.training.bt import train_bt
    from tests.training.test_bt_training import DATA, _config

    model, output, moment, step, max_steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

    class KillAfterStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == step:
                os.kill(os.getpid(), signal.SIGKILL)

    real_save = torch.save

    def save_then_die(obj, path, *args, **kwargs):
        real_save(obj, path, *args, **kwargs)
        if f"checkpoint-{step}" in str(path) and str(path).endswith("optimizer.pt"):
            os.kill(os.getpid(), signal.SIGKILL)

    if moment == "during-save":
        torch.save = save_then_die
    config = _config(model, output, max_steps=max_steps, group_by_length=True)
    train_bt(config, data=DATA, callbacks=[KillAfterStep()] if moment == "after-step" else [])
    """
)


def _killed_run(tiny_model_dir, output, moment: str, step: int) -> None:
    run = [str(tiny_model_dir), str(output), moment, str(step), str(TWO_EPOCHS)]
    arguments = [sys.executable, "-c", KILLED_RUN, *run]
    finished = subprocess.run(arguments, capture_output=True, text=True, timeout=600)
    assert finished.returncode == -signal.SIGKILL, finished.stderr[-2000:]


def test_process_killed_mid_epoch_two_resumes_to_the_uninterrupted_weights(tiny_model_dir, tmp_path, uninterrupted):
    _killed_run(tiny_model_dir, tmp_path / "run", "after-step", MID_EPOCH_TWO)
    assert (checkpoints_dir(tmp_path / "run") / "checkpoint-9").is_dir()
    result = train_bt(_two_epoch_config(tiny_model_dir, tmp_path / "run"), data=DATA, resume=True)
    assert result.global_step == TWO_EPOCHS
    assert _rewards(tmp_path / "run") == pytest.approx(uninterrupted[True], abs=1e-6)


def test_process_killed_while_saving_leaves_no_checkpoint_to_mistake(tiny_model_dir, tmp_path, uninterrupted):
    _killed_run(tiny_model_dir, tmp_path / "run", "during-save", 9)
    checkpoints = checkpoints_dir(tmp_path / "run")
    # checkpoint-3 outlives its rotation: older checkpoints are removed only once the new one is complete
    assert sorted(path.name for path in checkpoints.iterdir()) == [
        ".partial-checkpoint-9",
        "checkpoint-3",
        "checkpoint-6",
    ]
    result = train_bt(_two_epoch_config(tiny_model_dir, tmp_path / "run"), data=DATA, resume=True)
    assert result.global_step == TWO_EPOCHS and not (checkpoints / ".partial-checkpoint-9").exists()
    assert _rewards(tmp_path / "run") == pytest.approx(uninterrupted[True], abs=1e-6)


def test_truncated_newest_checkpoint_is_skipped_for_the_one_before(tiny_model_dir, tmp_path, uninterrupted, caplog):
    config = _two_epoch_config(tiny_model_dir, tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        train_bt(config, data=DATA, callbacks=[_CrashAtStep(MID_EPOCH_TWO)])
    checkpoints = checkpoints_dir(tmp_path / "run")
    assert sorted(path.name for path in checkpoints.iterdir()) == ["checkpoint-6", "checkpoint-9"]
    weights = checkpoints / "checkpoint-9" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    (checkpoints / ".partial-checkpoint-12").mkdir()  # what a save killed midway leaves
    with caplog.at_level(logging.INFO, logger="rewardkit.training.checkpoints"):
        result = train_bt(config, data=DATA, resume=True)
    assert "skipping" in caplog.text and "checkpoint-9: adapter_model.safetensors is truncated" in caplog.text
    assert "resuming from" in caplog.text and "checkpoint-6" in caplog.text
    assert not (checkpoints / ".partial-checkpoint-12").exists()
    assert result.global_step == TWO_EPOCHS
    assert _rewards(tmp_path / "run") == pytest.approx(uninterrupted[True], abs=1e-6)


def test_resume_with_only_incomplete_checkpoints_names_them(tiny_model_dir, tmp_path):
    (checkpoints_dir(tmp_path / "run") / "checkpoint-3").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no complete checkpoint.*checkpoint-3: it lacks trainer_state.json"):
        train_bt(_config(tiny_model_dir, tmp_path / "run"), data=DATA, resume=True)


def test_length_grouped_order_is_a_function_of_seed_and_epoch():
    lengths = [3, 9, 4, 7, 1, 8, 2, 6, 5, 10, 12, 11]
    sampler = EpochSeededLengthGroupedSampler(BATCH_SIZE, lengths, seed=7)
    first_epoch = list(sampler)
    assert sorted(first_epoch) == list(range(len(lengths))) and list(sampler) == first_epoch
    sampler.set_epoch(1)
    second_epoch = list(sampler)
    assert second_epoch != first_epoch
    assert list(EpochSeededLengthGroupedSampler(BATCH_SIZE, lengths, seed=7)) == first_epoch


def test_trainer_moves_the_length_grouped_sampler_to_each_epoch(tiny_model_dir, tmp_path, monkeypatch):
    epochs = []
    original = EpochSeededLengthGroupedSampler.set_epoch
    monkeypatch.setattr(
        EpochSeededLengthGroupedSampler, "set_epoch", lambda self, epoch: (epochs.append(epoch), original(self, epoch))
    )
    train_bt(_two_epoch_config(tiny_model_dir, tmp_path / "run"), data=DATA)
    assert sorted(set(epochs)) == [0, 1]
