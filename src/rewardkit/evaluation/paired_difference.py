"""Paired differences between two evaluation reports on the same rows: is model B better than model A?

Two models evaluated on one slice are compared row by row (RewardBench credit of B minus that of A), and the
difference in mean of sections gets a percentile-bootstrap interval that resamples rows within each subset, exactly
as each report's own intervals do. Pairing removes the row-difficulty variance the two unpaired intervals share,
so a difference can be clear even when the two intervals overlap (and vice versa).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rewardkit.evaluation.rewardbench import SECTIONS
from rewardkit.evaluation.stats import percentile_interval, stratified_bootstrap

PREDICTIONS_FILE = "predictions.jsonl"


@dataclass
class RowCredit:
    """One evaluated row as the paired comparison needs it."""

    subset: str
    category: str
    correct: float


@dataclass
class PairedDifference:
    """Mean of sections of B minus that of A on their shared rows, with a 95% bootstrap interval (fractions)."""

    n_paired: int
    delta: float
    ci_low: float
    ci_high: float
    sections: dict[str, float] = field(default_factory=dict)


def read_row_credit(directory: str | Path) -> dict[str, RowCredit]:
    """Row id -> credit from a report directory's predictions.jsonl; a bad line is an error naming file and line, and
    so are rows sharing an id (pairing them with another report's rows would be a guess)."""
    path = Path(directory) / PREDICTIONS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {PREDICTIONS_FILE} in {directory}: paired differences need a report directory")
    rows: dict[str, RowCredit] = {}
    ids = []
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
                ids.append(str(record["id"]))
                rows[ids[-1]] = RowCredit(str(record["subset"]), str(record["category"]), float(record["correct"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{path}:{number}: unreadable prediction ({error!r})") from None
    refuse_repeated_ids(path, ids)
    return rows


def refuse_repeated_ids(path: Path, ids: Sequence[str]) -> None:
    """An error naming the first line of `path` (one id per line, in order) whose id an earlier line holds: rows
    sharing an id cannot be paired with another report's rows, and dropping all but one would bias the difference."""
    first_line: dict[str, int] = {}
    repeats = [
        (number, row_id)
        for number, row_id in enumerate(ids, start=1)
        if first_line.setdefault(row_id, number) != number
    ]
    if not repeats:
        return
    number, row_id = repeats[0]
    raise ValueError(
        f"{path}:{number}: id {row_id!r} repeats line {first_line[row_id]} ({len(repeats)} row(s) repeat an earlier "
        "id), so rows cannot be paired with another report's by id. Give every row a unique id "
        "(`rewardkit data check` counts repeats) and evaluate again"
    )


def paired_difference(
    base: Mapping[str, RowCredit], other: Mapping[str, RowCredit], samples: int = 1000, seed: int = 0
) -> PairedDifference:
    """B − A on the rows both reports hold, per section and for the mean of the sections present."""
    shared = sorted(set(base) & set(other))
    differences: dict[str, list[float]] = {}
    category_of: dict[str, str] = {}
    for row_id in shared:
        row = base[row_id]
        differences.setdefault(row.subset, []).append(other[row_id].correct - row.correct)
        category_of[row.subset] = row.category
    by_subset = {name: np.array(values) for name, values in differences.items()}
    groups: dict[str, list[str]] = {}
    for name in sorted(by_subset):
        groups.setdefault(category_of[name], []).append(name)
    present = [section for section in SECTIONS if section in groups]
    if not present:
        raise ValueError("the two reports share no rows of the RewardBench sections: nothing to pair")
    section_delta = {
        section: float(np.concatenate([by_subset[name] for name in groups[section]]).mean()) for section in present
    }
    replicates = stratified_bootstrap(by_subset, {section: groups[section] for section in present}, samples, seed)
    mean_replicates = np.mean([replicates[section] for section in present], axis=0)
    delta = float(np.mean(list(section_delta.values())))
    return PairedDifference(len(shared), delta, *percentile_interval(mean_replicates), sections=section_delta)


def compare_paired(named_reports: Mapping[str, str | Path], samples: int = 1000, seed: int = 0) -> str:
    """Markdown table: every report after the first minus the first, paired on shared rows (points of accuracy)."""
    names = list(named_reports)
    base_name = names[0]
    base = read_row_credit(named_reports[base_name])
    header = ["Model", f"Δ Mean vs {base_name} [95% CI]", *(f"Δ {section}" for section in SECTIONS), "Shared rows"]
    lines = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    for name in names[1:]:
        result = paired_difference(base, read_row_credit(named_reports[name]), samples, seed)
        interval = f"{100 * result.delta:+.1f} [{100 * result.ci_low:+.1f}, {100 * result.ci_high:+.1f}]"
        per_section = [
            f"{100 * result.sections[section]:+.1f}" if section in result.sections else "–" for section in SECTIONS
        ]
        lines.append(f"| {' | '.join([name, interval, *per_section, str(result.n_paired)])} |")
    return "\n".join(lines) + "\n"
