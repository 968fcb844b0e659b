"""Read preference pairs from JSONL, JSON, CSV, Parquet and Hugging Face datasets, reporting every bad row.

Each reader yields raw records tagged with where they came from (a 1-based line for JSONL/CSV, a row index for
JSON/Parquet/HF); `read_pairs` converts them with rewardkit.data.formats and either raises a DataError naming file,
line and field, or (on_error="skip") skips the row, records why, and logs a summary. Nothing is dropped silently.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rewardkit.data.errors import DataError, RowError, SkippedRow
from rewardkit.data.formats import (
    DEFAULT_MAX_CHARS,
    MAX_NESTING_DEPTH,
    check_nesting,
    pair_to_record,
    record_to_pair,
    validate_column_map,
)
from rewardkit.data.schema import PreferencePair

if TYPE_CHECKING:
    import datasets

logger = logging.getLogger(__name__)

JSON_LIST_KEYS = ("data", "rows", "examples")
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
ENCODING_HINT = "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
NESTING_HINT = f"Flatten the row; chat records need only a few levels (the reader allows {MAX_NESTING_DEPTH})."
QUOTE_HINT = 'Close the quote; a quote inside a quoted cell is written twice ("").'


@dataclass
class RawRow:
    """One record as read from a source, or the error that kept it from being read."""

    number: int
    record: Any = None
    error: RowError | None = None


@dataclass
class ReadResult:
    """The pairs read from one source and the rows skipped (with reasons) under on_error='skip'."""

    source: str
    pairs: list[PreferencePair] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    repeated_ids: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: pairs read, rows skipped by field with the first reason, and ids that several pairs share."""
        head = f"{self.source}: read {len(self.pairs):,} pair(s)"
        return f"{head}, {self._skipped_summary()}{self._repeats_summary()}"

    def _skipped_summary(self) -> str:
        if not self.skipped:
            return "skipped none"
        by_field = Counter(row.field or "(whole row)" for row in self.skipped)
        counts = ", ".join(f"{name} {count}" for name, count in by_field.most_common())
        return f"skipped {len(self.skipped):,} row(s) (by field: {counts}); first: {self.skipped[0].describe()}"

    def _repeats_summary(self) -> str:
        if not self.repeated_ids:
            return ""
        rows = sum(self.repeated_ids.values())
        first, count = next(iter(self.repeated_ids.items()))
        return f"; {len(self.repeated_ids):,} id(s) shared by {rows:,} pairs (e.g. {first!r} x{count})"


def read_pairs(
    source: str | Path,
    *,
    column_map: dict[str, str] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    split: str = "train",
    limit: int | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> ReadResult:
    """Read preference pairs from a file, a local HF dataset dir or a Hub dataset name (reader chosen by path kind)."""
    _check_read_options(on_error, limit, max_chars)
    mapping = validate_column_map(column_map)
    rows, unit = open_rows(source, split)
    result = ReadResult(source=str(source))
    stem = _id_stem(source)
    for raw in rows:
        if limit is not None and len(result.pairs) >= limit:
            break
        try:
            result.pairs.append(_convert_row(raw, result.source, unit, f"{stem}-{raw.number}", mapping, max_chars))
        except DataError as error:
            if on_error == "raise":
                raise
            result.skipped.append(error.as_skipped())
    result.repeated_ids = repeated_ids(result.pairs)
    _check_anything_read(result)
    return result


def repeated_ids(pairs: Iterable[PreferencePair]) -> dict[str, int]:
    """Ids that more than one pair carries, with how many carry each (in first-seen order)."""
    counts = Counter(pair.id for pair in pairs)
    return {pair_id: count for pair_id, count in counts.items() if count > 1}


def read_pointwise_rows(data: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows with `prompt` and `response` (plus optional id, score, reference), with file:line on errors."""
    rows_iter, unit = open_rows(data)
    rows = []
    for raw in rows_iter:
        if limit is not None and len(rows) >= limit:
            break
        if raw.error is not None:
            raise ValueError(f"{data}:{raw.number}: {raw.error}")
        record = raw.record
        if not isinstance(record, dict) or not isinstance(record.get("response"), str) or "prompt" not in record:
            raise ValueError(f"{data} {unit} {raw.number}: a pointwise template needs 'prompt' and 'response' fields")
        rows.append({"id": str(record.get("id", f"row-{raw.number}")), **record})
    return rows


def open_rows(source: str | Path, split: str = "train") -> tuple[Iterator[RawRow], str]:
    """Raw rows of a source and the unit of their numbers ("line" or "row"), choosing the reader by path kind."""
    rows, unit = _raw_rows(source, split)
    return _nesting_checked(rows), unit


def _raw_rows(source: str | Path, split: str) -> tuple[Iterator[RawRow], str]:
    path = Path(source)
    if path.is_dir():
        return iter_hf_rows(str(source), split), "row"
    if path.is_file():
        reader, unit = _file_reader(path)
        return reader(path), unit
    if path.suffix.lower() in FILE_READERS or not HUB_ID_PATTERN.match(str(source)):
        raise DataError(str(source), "no such file or directory", hint="Check the path.")
    return iter_hf_rows(str(source), split), "row"


def _nesting_checked(rows: Iterable[RawRow]) -> Iterator[RawRow]:
    """The rows, each nested deeper than MAX_NESTING_DEPTH turned into a row error before anything recurses into it."""
    for raw in rows:
        if isinstance(raw.record, Mapping):
            try:
                check_nesting(raw.record)
            except RowError as error:
                raw = RawRow(raw.number, error=error)
        yield raw


def iter_jsonl_rows(path: Path) -> Iterator[RawRow]:
    """One record per non-blank line, decoded line by line so an encoding error names its line."""
    with path.open("rb") as handle:
        for number, raw_line in enumerate(handle, start=1):
            text, error = _decode_line(raw_line, number)
            if error is not None:
                yield RawRow(number, error=error)
            elif text.strip():
                yield _parse_json_line(text, number)


def iter_json_rows(path: Path) -> Iterator[RawRow]:
    """Rows of a JSON list, or of the list held under "data"/"rows"/"examples"; numbered by 0-based index."""
    records = _rows_in_json_document(path, _load_json_document(path))
    for index, record in enumerate(records):
        yield RawRow(index, record)


def iter_csv_rows(path: Path) -> Iterator[RawRow]:
    """Header + one record per CSV row, numbered by the 1-based line it starts on (quoted cells may span lines)."""
    _allow_long_csv_fields()
    undecodable: dict[int, RowError] = {}
    quotes = QuoteCount()
    with path.open("rb") as handle:
        reader = csv.reader(quotes.counted(_decode_lines_leniently(handle, undecodable)))
        header = _read_csv_header(path, reader, undecodable)
        previous_end = reader.line_num
        last = None
        try:
            for cells in reader:
                start_line, previous_end = previous_end + 1, reader.line_num
                if cells:
                    if last is not None:
                        yield last
                    last = _csv_row(header, cells, start_line, reader.line_num, undecodable)
        except csv.Error as error:
            hint = "Check the quoting around this line."
            raise DataError(str(path), f"is not valid CSV ({error})", line=previous_end + 1, hint=hint) from error
    if last is not None:
        yield _unclosed_quote_row(last, reader.line_num) if quotes.is_odd and last.number < reader.line_num else last


def iter_parquet_rows(path: Path) -> Iterator[RawRow]:
    """Rows of a Parquet file (read in record batches), numbered by 0-based index."""
    import pyarrow
    import pyarrow.parquet as parquet

    try:
        parquet_file = parquet.ParquetFile(path)
    except (pyarrow.ArrowException, OSError) as error:
        raise DataError(str(path), f"is not a readable Parquet file ({error})") from error
    index = 0
    for batch in parquet_file.iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            yield RawRow(index, record)
            index += 1


def iter_hf_rows(source: str, split: str = "train") -> Iterator[RawRow]:
    """Rows of a Hugging Face dataset (saved dir, data-file dir or Hub name), numbered by 0-based index."""
    for index, record in enumerate(load_hf_dataset(source, split)):
        yield RawRow(index, record)


def load_hf_dataset(source: str, split: str = "train") -> datasets.Dataset:
    """`load_from_disk` for a `save_to_disk` dir, else `datasets.load_dataset(source, split=split)` (dir or Hub)."""
    import datasets

    try:
        if not _is_saved_dataset(Path(source)):
            return datasets.load_dataset(source, split=split)
        loaded = datasets.load_from_disk(source)
    except (OSError, ValueError, datasets.exceptions.DatasetsError) as error:
        raise DataError(
            source,
            f"could not be loaded as a Hugging Face dataset (split '{split}'): {_error_with_cause(error)}",
            hint=f"Check the dataset name and split, or pass a local file ({', '.join(sorted(FILE_READERS))}).",
        ) from error
    return _pick_split(source, loaded, split)


def write_skip_log(result: ReadResult, path: str | Path) -> Path:
    """Write the skipped rows (path, line, field, reason, unit) as JSON Lines; returns the path."""
    path = Path(path)
    _write_jsonl((asdict(row) for row in result.skipped), path)
    return path


def write_pairs_jsonl(pairs: Iterable[PreferencePair], path: str | Path) -> Path:
    """Write pairs as JSON Lines in the shared-data schema (extra fields flattened), readable by read_pairs."""
    path = Path(path)
    _write_jsonl((pair_to_record(pair) for pair in pairs), path)
    return path


FILE_READERS: dict[str, tuple[Callable[[Path], Iterator[RawRow]], str]] = {
    ".jsonl": (iter_jsonl_rows, "line"),
    ".json": (iter_json_rows, "row"),
    ".csv": (iter_csv_rows, "line"),
    ".parquet": (iter_parquet_rows, "row"),
}


def _file_reader(path: Path) -> tuple[Callable[[Path], Iterator[RawRow]], str]:
    suffix = path.suffix.lower()
    if suffix not in FILE_READERS:
        raise DataError(
            str(path),
            f"has an unsupported extension '{suffix}'" if suffix else "has no file extension to choose a reader by",
            hint=f"Use one of {', '.join(sorted(FILE_READERS))}, or a Hugging Face dataset directory or name.",
        )
    return FILE_READERS[suffix]


def _convert_row(
    raw: RawRow, path: str, unit: str, default_id: str, column_map: Mapping[str, str], max_chars: int
) -> PreferencePair:
    try:
        if raw.error is not None:
            raise raw.error
        return record_to_pair(raw.record, default_id=default_id, column_map=column_map, max_chars=max_chars)
    except RowError as error:
        raise DataError.from_row_error(path, raw.number, unit, error) from None


def _check_read_options(on_error: str, limit: int | None, max_chars: int) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, got {limit}")
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")


def _check_anything_read(result: ReadResult) -> None:
    """Warn about skipped rows and shared ids; an empty result is an error (a wrong format or column names)."""
    if result.skipped or result.repeated_ids:
        logger.warning("%s", result.summary())
    if result.pairs:
        return
    if result.skipped:
        raise DataError(
            result.source,
            f"every row was skipped ({result.summary()})",
            hint="Check the format and the column names (column_map).",
        )
    raise DataError(result.source, "has no rows", hint="Check that it is the file you meant.")


def _id_stem(source: str | Path) -> str:
    """A stable id prefix from the source's name: data/train.jsonl -> train, dir -> its name, org/name -> org-name."""
    path = Path(source)
    return path.stem if path.exists() else str(source).replace("/", "-")


def _decode_line(raw_line: bytes, number: int) -> tuple[str, RowError | None]:
    try:
        text = raw_line.decode("utf-8")
    except UnicodeDecodeError as error:
        bad_byte = raw_line[error.start]
        reason = f"is not valid UTF-8 (byte 0x{bad_byte:02x} at byte {error.start} of the line)"
        return raw_line.decode("utf-8", errors="replace"), RowError(None, reason, ENCODING_HINT)
    return (text.removeprefix("\ufeff") if number == 1 else text), None


def _parse_json_line(text: str, number: int) -> RawRow:
    try:
        return RawRow(number, json.loads(text.rstrip("\r\n")))
    except json.JSONDecodeError as error:
        reason = f"is not valid JSON ({error.msg} at column {error.colno})"
        return RawRow(number, error=RowError(None, reason, "JSON Lines needs one complete JSON object per line."))
    except RecursionError:
        return RawRow(number, error=RowError(None, "nests deeper than the JSON parser can follow", NESTING_HINT))


def _load_json_document(path: Path) -> Any:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(str(path), "is not valid UTF-8", line=line, hint=ENCODING_HINT) from error
    try:
        return json.loads(text)
    except RecursionError:
        raise DataError(str(path), "nests deeper than the JSON parser can follow", hint=NESTING_HINT) from None
    except json.JSONDecodeError as error:
        reason = f"is not valid JSON ({error.msg} at column {error.colno})"
        hint = "For one object per line, name the file .jsonl."
        raise DataError(str(path), reason, line=error.lineno, hint=hint) from error


def _rows_in_json_document(path: Path, document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in JSON_LIST_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
    found = f"an object with keys {sorted(document)[:10]}" if isinstance(document, dict) else type(document).__name__
    raise DataError(
        str(path),
        f"holds {found}, expected a list of rows or an object with a list under {list(JSON_LIST_KEYS)}",
        hint="Put the rows in a top-level list.",
    )


def _allow_long_csv_fields() -> None:
    """The csv module caps cells at 128 KiB; lift the cap so max_chars (with its clear error) is the only limit."""
    limit = sys.maxsize
    while limit > csv.field_size_limit():
        try:
            csv.field_size_limit(limit)
        except OverflowError:
            limit //= 2
        else:
            return


def _decode_lines_leniently(lines: Iterable[bytes], undecodable: dict[int, RowError]) -> Iterator[str]:
    """Decode each line on its own; undecodable lines are replaced and recorded so their row can be flagged."""
    for number, raw_line in enumerate(lines, start=1):
        text, error = _decode_line(raw_line, number)
        if error is not None:
            undecodable[number] = error
        yield text


class QuoteCount:
    """Counts the double quotes of the CSV text read so far: an odd count at the end of the file means a quote was
    opened and never closed (the csv module then silently runs that cell to the end of the file)."""

    def __init__(self) -> None:
        self.count = 0

    def counted(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            self.count += line.count('"')
            yield line

    @property
    def is_odd(self) -> bool:
        return self.count % 2 == 1


def _unclosed_quote_row(row: RawRow, end_line: int) -> RawRow:
    """The last row, reported as the unclosed quote that swallowed every line after its start."""
    reason = (
        f"opens a quote that is never closed: the row ran from line {row.number} to the end of the file "
        f"(line {end_line}), taking in every line after it"
    )
    return RawRow(row.number, error=RowError(None, reason, QUOTE_HINT))


def _read_csv_header(path: Path, reader: Iterator[list[str]], undecodable: dict[int, RowError]) -> list[str]:
    header = next(reader, None)
    if header is None:
        raise DataError(str(path), "is empty (no header row)", hint="The first line must name the columns.")
    if 1 in undecodable:
        raise DataError(str(path), f"header {undecodable[1].reason}", line=1, hint=ENCODING_HINT)
    return [name.strip() for name in header]


def _csv_row(
    header: list[str], cells: list[str], start_line: int, end_line: int, undecodable: dict[int, RowError]
) -> RawRow:
    for number in range(start_line, end_line + 1):
        if number in undecodable:
            return RawRow(start_line, error=undecodable[number])
    if len(cells) != len(header):
        reason = f"has {len(cells)} cells but the header names {len(header)} columns"
        return RawRow(start_line, error=RowError(None, reason, "Quote cells that contain commas or newlines."))
    return RawRow(start_line, dict(zip(header, cells, strict=True)))


def _is_saved_dataset(path: Path) -> bool:
    """True for a directory written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def _error_with_cause(error: BaseException) -> str:
    """The error's message plus its cause's (datasets wraps the useful message in a generic one)."""
    cause = error.__cause__
    return f"{error} ({type(cause).__name__}: {cause})" if cause is not None else str(error)


def _pick_split(source: str, loaded: datasets.Dataset | datasets.DatasetDict, split: str) -> datasets.Dataset:
    import datasets

    if not isinstance(loaded, datasets.DatasetDict):
        return loaded
    if split not in loaded:
        raise DataError(source, f"has no split '{split}' (splits: {sorted(loaded)})", hint="Pass split=... (--split).")
    return loaded[split]


def _write_jsonl(records: Iterable[Mapping[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
