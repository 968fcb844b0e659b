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
from typing import Any

import numpy as np

from rewardkit.evaluation.probes import PROBE_KEY_GROUPS, row_bootstrap_interval
from rewardkit.evaluation.report import load_report
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


@dataclass
class PairedKeyRate:
    """Master-key false-positive rate of B minus that of A over the keys of one group, on shared probe rows."""

    keys: list[str]
    n_paired_rows: int
    delta: float
    ci_low: float
    ci_high: float


def _fooled_by_row(report: Mapping[str, Any], name: str) -> dict[str, dict[str, int]]:
    """key -> {row id -> 1 when fooled} from a report's master-key probe; an error when the report lacks them."""
    probe = report.get("master_key") or {}
    if not probe.get("row_ids") or not probe.get("fooled"):
        raise ValueError(f"report {name!r} has no per-row master-key outcomes: rerun `rewardkit eval` with the probe")
    rows = probe["row_ids"]
    return {key: dict(zip(rows, map(int, outcomes), strict=True)) for key, outcomes in probe["fooled"].items()}


def paired_master_key(
    base: Mapping[str, Any], other: Mapping[str, Any], samples: int = 1000, seed: int = 0
) -> dict[str, PairedKeyRate]:
    """B − A master-key false-positive rate per key group (training keys, held-out keys) and per key, on the probe
    rows and keys both reports hold, with a 95% bootstrap interval resampling rows (a row's keys together)."""
    base_fooled, other_fooled = _fooled_by_row(base, "A"), _fooled_by_row(other, "B")
    keys = [key for key in base_fooled if key in other_fooled]
    rows = sorted(set.intersection(*(set(base_fooled[key]) & set(other_fooled[key]) for key in keys))) if keys else []
    if not rows:
        raise ValueError("the two reports share no master-key probe rows: evaluate both on one file with one seed")
    difference = {key: np.array([other_fooled[key][row] - base_fooled[key][row] for row in rows]) for key in keys}
    groups = {name: [key for key in group if key in difference] for name, group in PROBE_KEY_GROUPS.items()}
    groups |= {key: [key] for key in keys}
    result = {}
    for name, members in groups.items():
        if members:
            matrix = np.stack([difference[key] for key in members]).astype(float)
            interval = row_bootstrap_interval(matrix, samples, seed)
            result[name] = PairedKeyRate(members, len(rows), float(matrix.mean()), *interval)
    return result


def compare_paired_master_keys(named_reports: Mapping[str, str | Path], samples: int = 1000, seed: int = 0) -> str:
    """Markdown table: each report's master-key false-positive rate minus the first's, per key group and per key,
    paired on the probe rows they share (points)."""
    names = list(named_reports)
    base = load_report(named_reports[names[0]])
    header = ["Model", f"Key group / key (vs {names[0]})", "Δ false-positive rate [95% CI]", "Keys", "Shared rows"]
    lines = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    for name in names[1:]:
        for group, rate in paired_master_key(base, load_report(named_reports[name]), samples, seed).items():
            interval = f"{100 * rate.delta:+.1f} [{100 * rate.ci_low:+.1f}, {100 * rate.ci_high:+.1f}]"
            label = f"**{group} keys**" if group in PROBE_KEY_GROUPS else f"`{group}`"
            lines.append(f"| {name} | {label} | {interval} | {len(rate.keys)} | {rate.n_paired_rows} |")
    return "\n".join(lines) + "\n"
