"""Preference data: the PreferencePair schema, readers for files and HF datasets, TRL formats, synthetic tasks."""

from rewardkit.data.errors import DataError, SkippedRow
from rewardkit.data.readers import ReadResult, read_pairs, write_pairs_jsonl, write_skip_log
from rewardkit.data.schema import PreferencePair
from rewardkit.data.synthetic import generate_synthetic_pairs, synthetic_splits

__all__ = [
    "DataError",
    "PreferencePair",
    "ReadResult",
    "SkippedRow",
    "generate_synthetic_pairs",
    "read_pairs",
    "synthetic_splits",
    "write_pairs_jsonl",
    "write_skip_log",
]
