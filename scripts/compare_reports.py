"""Check that two `rewardkit eval` reports say the same thing: every field of report.json and every row of
predictions.jsonl equal, except what differs between any two runs (timings, date, version, data path).

    python scripts/compare_reports.py BEFORE_DIR AFTER_DIR

Prints each differing field (JSON path, both values) and exits 1 when there is any; prints "identical" otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RUN_FIELDS = {"seconds", "pairs_per_second", "probe_seconds", "date", "rewardkit_version", "data_path"}


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """JSON paths where `before` and `after` differ, run fields (RUN_FIELDS under `meta`) left out."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            if path.endswith("meta") and key in RUN_FIELDS:
                continue
            found += differences(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        pairs = enumerate(zip(before, after, strict=True))
        return [line for index, pair in pairs for line in differences(*pair, f"{path}[{index}]")]
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def read_report(directory: Path) -> dict[str, Any]:
    """report.json and the rows of predictions.jsonl of one report directory."""
    report = json.loads((directory / "report.json").read_text())
    predictions = directory / "predictions.jsonl"
    rows = [json.loads(line) for line in predictions.read_text().splitlines()] if predictions.exists() else None
    return {"report": report, "predictions": rows}


def main(arguments: list[str]) -> int:
    if len(arguments) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    found = differences(*(read_report(Path(argument)) for argument in arguments))
    print("\n".join(found) if found else "identical")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
