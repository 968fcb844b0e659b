"""Torch threads from the cores actually free; a user's OMP_NUM_THREADS or REWARDKIT_THREADS wins."""

from __future__ import annotations

import os

import pytest
import torch

from rewardkit.cpu_threads import configure_cpu_threads, free_cores, usable_cores


@pytest.fixture(autouse=True)
def restore_torch_threads():
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def test_free_cores_subtract_the_load_and_keep_one():
    assert free_cores(load_average=0.0) == usable_cores()
    assert free_cores(load_average=1000.0) == 1
    if usable_cores() > 1:
        assert free_cores(load_average=1.4) == usable_cores() - 1


def test_a_users_omp_num_threads_is_left_alone(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("REWARDKIT_THREADS", raising=False)
    assert configure_cpu_threads() == (1, "OMP_NUM_THREADS is set")


def test_rewardkit_threads_sets_omp_and_torch(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("REWARDKIT_THREADS", "2")
    threads, _ = configure_cpu_threads()
    assert threads == 2 and torch.get_num_threads() == 2
    assert os.environ["OMP_NUM_THREADS"] == "2"


def test_without_a_choice_torch_gets_the_free_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("REWARDKIT_THREADS", raising=False)
    monkeypatch.setattr("os.getloadavg", lambda: (1000.0, 0.0, 0.0))
    assert configure_cpu_threads()[0] == 1 == torch.get_num_threads()


def test_a_bad_thread_count_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("REWARDKIT_THREADS", "two")
    with pytest.raises(ValueError, match="REWARDKIT_THREADS must be a whole number >= 1, got 'two'"):
        configure_cpu_threads()
