"""Directories built once in a cache that several processes share (~/.cache/rewardkit, REWARDKIT_CACHE).

A file lock next to the directory makes a second process wait for the first instead of building alongside it; the
build goes to `<name>.partial` and is renamed into place when complete, so no process reads a half-built directory
and a build killed midway leaves nothing that is mistaken for a finished one.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
PARTIAL_SUFFIX = ".partial"


def build_once(target: Path, build: Callable[[Path], None], is_complete: Callable[[Path], bool]) -> Path:
    """`target`, built by `build(partial_dir)` unless complete already; concurrent callers wait for one build."""
    if is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target) + LOCK_SUFFIX)
    _acquire(lock, target)
    try:
        if not is_complete(target):
            _build_into_place(target, build)
    finally:
        lock.release()
    return target


def _acquire(lock: FileLock, target: Path) -> None:
    """Take the lock, saying so when another process holds it (a first conversion takes a while)."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("waiting for another process that is writing %s", target)
        lock.acquire()


def _build_into_place(target: Path, build: Callable[[Path], None]) -> None:
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    for leftover in (partial, target):
        _remove(leftover)
    try:
        build(partial)
    except BaseException:
        _remove(partial)
        raise
    partial.rename(target)


def _remove(path: Path) -> None:
    """Delete what an interrupted build left at `path` (a directory or a stray file)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
