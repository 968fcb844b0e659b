"""Failures the machine causes, not the code: a full disk, a path without write permission, a regular file where a
directory should be, a missing file, memory running out. Each becomes one line that names the path and says what to
do (a MachineError, or an OSError explained by `explain_os_error`), so the CLI prints it without a traceback.

A leaf module (standard library only): the CLI names these errors without loading torch.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# How torch.save and safetensors report a write the disk refused: they raise RuntimeError / SafetensorError, not
# OSError, and name neither the errno nor the path.
WRITE_FAILURE_MARKERS = (
    "iostream error",
    "unexpected pos",
    "PytorchStreamWriter failed",
    "file write failed",
    "No space left",
    "IoError",
)
DISK_FULL_MARKER = "No space left"
# How torch reports memory running out (torch.OutOfMemoryError on accelerators, a RuntimeError from the CPU allocator).
OUT_OF_MEMORY_MARKERS = ("out of memory", "can't allocate memory", "DefaultCPUAllocator")
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
PERMISSION_ERRNOS = {errno.EACCES, errno.EPERM}


class MachineError(RuntimeError):
    """What the machine could not do for a path (write it, hold it in memory), as one line with what to do."""


def explain_os_error(error: OSError, path: str | Path | None = None) -> str:
    """`path: what went wrong. What to do.` for an OSError, by its errno (the path given, else the error's own)."""
    where = Path(path if path is not None else error.filename or "")
    code = error.errno
    if code in DISK_FULL_ERRNOS:
        return f"{where}: the disk is full ({free_space(where)} free). Free some space or write elsewhere."
    if code in PERMISSION_ERRNOS:
        return f"{where}: permission denied. Make {nearest_existing(where)} writable, or write elsewhere."
    if code == errno.EROFS:
        return f"{where}: the file system is read-only. Write elsewhere."
    if code == errno.ENOTDIR:
        return (
            f"{where}: {blocking_file(where)} is a regular file, so nothing can be created under it. "
            "Remove or rename that file, or choose another path."
        )
    if code == errno.EISDIR:
        return f"{where}: is a directory where a file is expected. Give a file path."
    if code in {errno.EEXIST, errno.ENOTEMPTY}:
        return f"{where}: already exists. Remove it or choose another path."
    if code == errno.ENOENT:
        return f"{where}: no such file or directory. Check the path."
    return f"{where}: {error.strerror or error}."


@contextmanager
def writing(path: str | Path, what: str, hint: str = "") -> Iterator[None]:
    """Turn a failed write of `what` at `path` (OSError, or torch's and safetensors' RuntimeError-style reports) into
    a MachineError naming the path, the reason (disk full, permission, a file in the way) and what to do."""
    try:
        yield
    except Exception as error:
        if not is_write_failure(error):
            raise
        raise MachineError(_write_failure_message(Path(path), what, error, hint)) from error


@contextmanager
def memory_guard(advice: str) -> Iterator[None]:
    """Turn an out-of-memory error from torch into a MachineError saying so and what to lower (`advice`)."""
    try:
        yield
    except RuntimeError as error:
        if not any(marker in str(error) for marker in OUT_OF_MEMORY_MARKERS):
            raise
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MachineError(f"out of memory ({first_line}). {advice}") from error


def is_write_failure(error: BaseException) -> bool:
    """An OSError, or a torch/safetensors error whose message says a write failed."""
    if isinstance(error, OSError):
        return True
    return any(marker in str(error) for marker in WRITE_FAILURE_MARKERS)


def free_space(path: Path) -> str:
    """Free bytes on the disk holding `path` (or its nearest existing parent), human-readable."""
    try:
        free = shutil.disk_usage(nearest_existing(path)).free
    except OSError:
        return "unknown space"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if free < 1024:
            return f"{free:.0f} {unit}"
        free /= 1024
    return f"{free:.1f} TiB"


def nearest_existing(path: Path) -> Path:
    """`path` itself if it exists, else its closest existing parent."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def blocking_file(path: Path) -> Path:
    """The regular file among `path` and its parents that stands where a directory is needed."""
    for candidate in reversed((path, *path.parents)):
        if candidate.is_file():
            return candidate
    return path


def _write_failure_message(path: Path, what: str, error: BaseException, hint: str) -> str:
    hint = f" {hint[0].upper()}{hint[1:]}." if hint else ""
    if isinstance(error, OSError) and error.errno is not None:
        return f"could not write the {what}: {explain_os_error(error, error.filename or path)}{hint}"
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    problem = "the disk is full" if DISK_FULL_MARKER in detail else "the write failed"
    return (
        f"could not write the {what} {path}: {problem} ({detail}; {free_space(path)} free on that disk). "
        f"Free some space or write elsewhere.{hint}"
    )
