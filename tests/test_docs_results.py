"""docs/results: every recorded benchmark file is a JSON object, and every results path the docs name exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RESULT_PATH = re.compile(r"docs/results/[\w./-]+\.(?:jsonl|json|md|png|csv|txt)\b")  # named files, not patterns


@pytest.mark.parametrize("path", sorted(RESULTS.rglob("*.json")), ids=lambda path: str(path.relative_to(RESULTS)))
def test_each_recorded_json_is_one_object(path):
    assert isinstance(json.loads(path.read_text()), dict), f"{path} must hold the JSON object a bench printed"


def test_every_results_path_the_docs_name_exists():
    named = {(doc.name, match) for doc in DOCS for match in RESULT_PATH.findall(doc.read_text())}
    assert named, "the docs name their results files"
    missing = sorted((doc, path) for doc, path in named if not (ROOT / path).exists())
    assert not missing, f"named in the docs but not in the repository: {missing}"
