"""Checkpoints that are whole or absent: each is written under a temporary name and renamed when complete, and a
resume takes the newest checkpoint that holds everything a resume reads, naming the ones it skipped and why.

A save killed midway (or stopped by a full disk) leaves only a `.partial-checkpoint-N` directory, which no resume
reads and the next run removes; checkpoints copied in part or written by an older version are checked file by file.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from transformers.trainer import OPTIMIZER_NAME, SCHEDULER_NAME, TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from rewardkit.machine_errors import writing

logger = logging.getLogger(__name__)

STAGING_PREFIX = ".partial-"
CHECKPOINT_NAME = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
REQUIRED_FILES = (TRAINER_STATE_NAME, OPTIMIZER_NAME, SCHEDULER_NAME)
TORCH_ARCHIVE_SUFFIXES = (".pt", ".pth", ".bin")


@dataclass
class CheckpointChoice:
    """The newest complete checkpoint (None when there is none) and the newer ones skipped, with the reason."""

    checkpoint: Path | None
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def log(self) -> None:
        """One warning per skipped checkpoint, then which one the run resumes from."""
        for path, reason in self.skipped:
            logger.warning("--resume: skipping %s: %s", path, reason)
        if self.checkpoint is not None:
            logger.info("--resume: resuming from %s", self.checkpoint)


def checkpoint_dirs(checkpoints: Path) -> list[Path]:
    """The `checkpoint-N` directories under `checkpoints`, newest (highest N) first."""
    if not checkpoints.is_dir():
        return []
    numbered = [(CHECKPOINT_NAME.match(path.name), path) for path in checkpoints.iterdir()]
    found = sorted(((int(match.group(1)), path) for match, path in numbered if match), reverse=True)
    return [path for _, path in found if path.is_dir()]


def newest_complete_checkpoint(checkpoints: Path) -> CheckpointChoice:
    """The newest checkpoint a resume can read, and every newer one with why it cannot be read."""
    choice = CheckpointChoice(checkpoint=None)
    for path in checkpoint_dirs(checkpoints):
        problem = checkpoint_problem(path)
        if problem is None:
            choice.checkpoint = path
            return choice
        choice.skipped.append((path, problem))
    return choice


def checkpoint_problem(path: Path) -> str | None:
    """Why `path` cannot be resumed from (a missing file, an unreadable trainer state, a truncated tensor), or None."""
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        return f"it lacks {', '.join(missing)} (a save that did not finish)"
    if not list(path.glob("*.safetensors")):
        return "it holds no *.safetensors weights (a save that did not finish)"
    for file in sorted(path.iterdir()):
        problem = _file_problem(file)
        if problem is not None:
            return f"{file.name} {problem}"
    return None


def _file_problem(file: Path) -> str | None:
    """Why one checkpoint file cannot be read, or None (files of kinds it does not know are not checked)."""
    if file.suffix == ".safetensors":
        return _safetensors_problem(file)
    if file.suffix in TORCH_ARCHIVE_SUFFIXES and not zipfile.is_zipfile(file):
        return "is truncated or corrupt (not a complete torch archive)"
    if file.name == TRAINER_STATE_NAME:
        try:
            json.loads(file.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return f"is truncated or corrupt ({error})"
    return None


def _safetensors_problem(file: Path) -> str | None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(file), framework="pt"):
            return None
    except (SafetensorError, OSError) as error:
        return f"is truncated or corrupt ({error})"


def remove_partial_checkpoints(checkpoints: Path) -> None:
    """Delete the `.partial-*` directories an interrupted save left behind (nothing reads them)."""
    if not checkpoints.is_dir():
        return
    for path in checkpoints.glob(f"{STAGING_PREFIX}*"):
        logger.warning("removing %s, left by a checkpoint save that did not finish", path)
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def staged_checkpoint(run_dir: Path, step: int, publish: bool) -> Iterator[Path]:
    """Yield a staging directory to save `checkpoint-<step>` into; on success (and when `publish`, i.e. on the main
    process once every process has written) rename it into `run_dir`, replacing an older copy of that step."""
    name = f"{PREFIX_CHECKPOINT_DIR}-{step}"
    staging = run_dir / f"{STAGING_PREFIX}{name}"
    target = run_dir / name
    try:
        with writing(target, "checkpoint", hint="then rerun with --resume"):
            yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if publish:
        _replace_directory(staging / name, target)
        shutil.rmtree(staging)


def _replace_directory(source: Path, target: Path) -> None:
    if target.exists():
        stale = target.with_name(f"{STAGING_PREFIX}stale-{target.name}")
        target.rename(stale)
        source.rename(target)
        shutil.rmtree(stale)
        return
    source.rename(target)
