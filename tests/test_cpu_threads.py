"""Torch threads from the cores actually free; a user's OMP_NUM_THREADS or REWARDKIT_THREADS wins."""

from __future__ import annotations

import os

import pytest
import torch

from rewardkit.cpu_threads import busy_cores, configure_cpu_threads, free_cores, idle_and_total_jiffies, usable_cores


@pytest.fixture(autouse=True)
def restore_torch_threads():
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def test_free_cores_subtract_the_busy_ones_and_keep_one():
    assert free_cores(busy=0.0) == usable_cores()
    assert free_cores(busy=1000.0) == 1
    if usable_cores() > 1:
        assert free_cores(busy=1.4) == usable_cores() - 1


STAT_LINES = "cpu  {sum}\ncpu0 {cpu0} 0 0 0 0\ncpu1 {cpu1} 0 0 0 0\nintr 1 2 3\n"


def _stat(cpu0: tuple[int, int], cpu1: tuple[int, int]) -> str:
    """A /proc/stat text whose cpu0 and cpu1 lines have (user, idle) ticks (other fields 0)."""
    line = "{} 0 0 {} 0 0 0 0 0 0"
    return STAT_LINES.format(sum="0 0 0 0", cpu0=line.format(*cpu0), cpu1=line.format(*cpu1))


def test_jiffies_are_summed_over_the_given_cpus_only():
    text = _stat((10, 90), (50, 50))
    assert idle_and_total_jiffies(text, {0}) == (90, 100)
    assert idle_and_total_jiffies(text, {0, 1}) == (140, 200)


def test_busy_cores_are_the_non_idle_share_of_the_sample_not_the_past_load(monkeypatch):
    """One core fully busy during the sample, the other idle: one busy core, whatever the load average says."""
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr("os.getloadavg", lambda: (2.0, 2.0, 2.0))
    samples = iter([_stat((0, 0), (0, 0)), _stat((100, 0), (0, 100))])
    assert busy_cores(0.0, read_stat=lambda: next(samples)) == pytest.approx(1.0)
    idle = iter([_stat((0, 0), (0, 0)), _stat((0, 100), (0, 100))])
    assert busy_cores(0.0, read_stat=lambda: next(idle)) == pytest.approx(0.0)


def test_busy_cores_fall_back_to_the_load_average_without_proc_stat(monkeypatch):
    monkeypatch.setattr("os.getloadavg", lambda: (1.5, 0.0, 0.0))

    def unreadable() -> str:
        raise OSError("no /proc/stat")

    assert busy_cores(0.0, read_stat=unreadable) == 1.5


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
    monkeypatch.setattr("rewardkit.cpu_threads.busy_cores", lambda: 1000.0)
    assert configure_cpu_threads()[0] == 1 == torch.get_num_threads()


def test_a_bad_thread_count_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("REWARDKIT_THREADS", "two")
    with pytest.raises(ValueError, match="REWARDKIT_THREADS must be a whole number >= 1, got 'two'"):
        configure_cpu_threads()
