"""What the user or the machine causes (a full disk, no permission, a file where a directory goes, a missing file,
memory running out) ends a command with one line naming the path and what to do, a non-zero exit and no traceback;
`--debug` shows the traceback."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from rewardkit.cli import app
from rewardkit.machine_errors import MachineError, explain_os_error, writing
from rewardkit.models import loading
from rewardkit.training.pairwise_trainer import BradleyTerryTrainer, checkpoints_dir

ERROR_START = re.compile(r"(?<![\w/ ])error: ")  # the CLI's `error: ` prefix, not an "I/O error: " inside it
PAIRS = [{"prompt": f"Say {word}.", "chosen": word, "rejected": "no"} for word in ("apple", "pear", "plum", "fig")]


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def recipe(tiny_model_dir, tmp_path) -> Path:
    """A two-step BT recipe on the tiny model that writes a checkpoint at every step."""
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(pair) + "\n" for pair in PAIRS))
    settings = {"model": str(tiny_model_dir), "train": [str(pairs)], "precision": "fp32", "eval_fraction": 0.0}
    settings |= {"max_steps": 2, "save_steps": 1, "per_device_train_batch_size": 2, "logging_steps": 1}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def _fails_with_one_line(*arguments: str) -> str:
    """Run the CLI; assert a non-zero exit and one `error:` line ending stderr (after any progress bar an interrupted
    run left unfinished), without a traceback."""
    result = CliRunner().invoke(app, list(arguments))
    assert result.exit_code != 0, result.output
    starts = [match.start() for match in ERROR_START.finditer(result.stderr)]
    assert "Traceback" not in result.output and len(starts) == 1, result.stderr
    message = result.stderr[starts[0] :]
    assert message.endswith("\n") and "\n" not in message.rstrip("\n"), result.stderr
    return message.rstrip("\n")


def test_training_output_under_a_regular_file(recipe, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a directory")
    line = _fails_with_one_line("train", "bt", "--config", str(recipe), "--output", str(blocker / "run"))
    assert f"{blocker} is a regular file" in line and "Remove or rename that file" in line


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs (needs mount rights: root in a container; skipped elsewhere), unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)]
    mounted = subprocess.run(mount, capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_training_on_a_full_disk_says_so_and_names_the_path(recipe, full_disk):
    line = _fails_with_one_line("train", "bt", "--config", str(recipe), "--output", str(full_disk / "run"))
    assert str(full_disk / "run") in line and "the disk is full" in line and "Free some space" in line


def test_a_checkpoint_the_disk_refuses_is_named_and_leaves_nothing_behind(recipe, tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise RuntimeError("basic_ios::clear: iostream error")  # what torch.save raised on a full disk (issue 18)

    monkeypatch.setattr(torch, "save", refused)
    line = _fails_with_one_line("train", "bt", "--config", str(recipe), "--output", str(tmp_path / "run"))
    assert f"could not write the checkpoint {checkpoints_dir(tmp_path / 'run') / 'checkpoint-1'}" in line
    assert "iostream error" in line and "free on that disk" in line and "Then rerun with --resume" in line
    assert list(checkpoints_dir(tmp_path / "run").iterdir()) == [], "a failed save must leave no partial checkpoint"


def test_training_without_write_permission(recipe, tmp_path, monkeypatch):
    output = tmp_path / "run"
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self == output:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    line = _fails_with_one_line("train", "bt", "--config", str(recipe), "--output", str(output))
    assert line == f"error: {output}: permission denied. Make {tmp_path} writable, or write elsewhere."


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_training_into_a_read_only_directory(recipe, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = _fails_with_one_line("train", "bt", "--config", str(recipe), "--output", str(locked / "run"))
    assert "permission denied" in line and str(locked) in line


def test_training_data_file_missing(recipe, tmp_path):
    line = _fails_with_one_line(
        "train", "bt", "--config", str(recipe), "--output", str(tmp_path / "run"), "--set", "train=[gone.jsonl]"
    )
    assert "gone.jsonl" in line and "no such file" in line


def test_running_out_of_memory_says_what_to_lower(recipe, tmp_path, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(BradleyTerryTrainer, "compute_loss", out_of_memory)
    line = _fails_with_one_line("train", "bt", "--config", str(recipe), "--output", str(tmp_path / "run"))
    assert "out of memory (CUDA out of memory. Tried to allocate 20.00 GiB)" in line
    assert "Lower per_device_train_batch_size" in line


def test_debug_shows_the_traceback(recipe, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    arguments = ["--debug", "train", "bt", "--config", str(recipe), "--output", str(blocker / "run")]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 1 and "Traceback" in result.stderr and "NotADirectoryError" in result.stderr


def test_eval_report_under_a_regular_file(tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(pair) + "\n" for pair in PAIRS))
    blocker = tmp_path / "report"
    blocker.write_text("")
    arguments = ["eval", "--model", "longer", "--data", str(data), "--report", str(blocker / "out")]
    line = _fails_with_one_line(*arguments, "--master-key-rows", "0", "--bootstrap", "10", "--no-progress")
    assert f"could not write the report: {blocker / 'out'}: {blocker} is a regular file" in line


def test_eval_running_out_of_memory_says_so(tmp_path, monkeypatch):
    from rewardkit.evaluation import rewardbench

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(rewardbench, "evaluate_pairs", out_of_memory)
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(pair) + "\n" for pair in PAIRS))
    line = _fails_with_one_line("eval", "--model", "longer", "--data", str(data), "--report", str(tmp_path / "r"))
    assert "out of memory ([enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator" in line and "smaller model" in line


def test_eval_missing_data_file(tmp_path):
    line = _fails_with_one_line(
        "eval", "--model", "longer", "--data", str(tmp_path / "gone.jsonl"), "--report", str(tmp_path / "r")
    )
    assert f"{tmp_path / 'gone.jsonl'}: no such file or directory" in line


def test_conversion_into_a_cache_under_a_regular_file(tmp_path, monkeypatch):
    blocker = tmp_path / "cache-file"
    blocker.write_text("")
    monkeypatch.setenv(loading.CACHE_ENV, str(blocker / "rewardkit"))
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(MachineError, match=f"{blocker} is a regular file.*set REWARDKIT_CACHE to a writable disk"):
        loading.convert_gguf(gguf)


def test_conversion_on_a_full_disk(tmp_path, monkeypatch):
    def disk_full(gguf_path, directory):
        directory.mkdir()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv(loading.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(loading, "_write_converted", disk_full)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(MachineError, match=r"converted model: .*model-\w+: the disk is full \(.* free\)"):
        loading.convert_gguf(gguf)
    assert not any(path.name.endswith(".partial") for path in (tmp_path / "cache" / "models").iterdir())


@pytest.mark.parametrize(
    "code, expected",
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the file system is read-only. Write elsewhere."),
        (errno.EISDIR, "is a directory where a file is expected"),
        (errno.ENOENT, "no such file or directory. Check the path."),
    ],
)
def test_each_errno_is_explained_with_the_path(tmp_path, code, expected):
    message = explain_os_error(OSError(code, os.strerror(code), str(tmp_path / "x")))
    assert message.startswith(f"{tmp_path / 'x'}: ") and expected in message


def test_a_write_error_that_is_no_io_failure_keeps_its_traceback(tmp_path):
    with pytest.raises(KeyError), writing(tmp_path, "report"):
        raise KeyError("a bug, not the disk")
