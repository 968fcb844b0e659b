"""Errors that say which file, line (or row) and field is wrong, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

SKIP_HINT = "Fix the row, or pass on_error='skip' (CLI: --skip-bad-rows) to skip bad rows and count them."


def format_location(path: str, line: int | None, unit: str = "line") -> str:
    """`file:7 (line 7)` for line-numbered sources, `file (row index 7)` for row-indexed ones, `file` for no row."""
    if line is None:
        return path
    if unit == "line":
        return f"{path}:{line} (line {line})"
    return f"{path} (row index {line})"


def describe_problem(location: str, field: str | None, reason: str) -> str:
    """`where: field 'name': reason` (the field part only when the problem is in one field)."""
    return f"{location}: field '{field}': {reason}" if field else f"{location}: {reason}"


class RowError(ValueError):
    """A problem with one record, before the reader knows where it came from."""

    def __init__(self, field: str | None, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.hint = hint


@dataclass
class SkippedRow:
    """A row left out under on_error='skip' and why; `unit` says if `line` is a 1-based line or a row index."""

    path: str
    line: int | None
    field: str | None
    reason: str
    unit: str = "line"

    def describe(self) -> str:
        """`file:line (line N): field 'name': reason`."""
        return describe_problem(format_location(self.path, self.line, self.unit), self.field, self.reason)


class DataError(ValueError):
    """A data file (or one of its rows) that cannot be read as preference pairs."""

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        line: int | None = None,
        field: str | None = None,
        hint: str = "",
        unit: str = "line",
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = reason
        self.hint = hint
        self.unit = unit
        super().__init__(self._message())

    @classmethod
    def from_row_error(cls, path: str, line: int, unit: str, error: RowError) -> DataError:
        """Locate a RowError: add file and line/row, and the advice to fix or skip the row."""
        hint = f"{error.hint} {SKIP_HINT}".strip()
        return cls(path, error.reason, line=line, field=error.field, hint=hint, unit=unit)

    @property
    def location(self) -> str:
        return format_location(self.path, self.line, self.unit)

    def _message(self) -> str:
        hint = f" {self.hint}" if self.hint else ""
        return f"{describe_problem(self.location, self.field, self.reason)}.{hint}"

    def as_skipped(self) -> SkippedRow:
        """The record kept for this row under on_error='skip'."""
        return SkippedRow(path=self.path, line=self.line, field=self.field, reason=self.reason, unit=self.unit)
