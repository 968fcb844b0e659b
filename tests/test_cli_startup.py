"""`rewardkit --help` must not import torch or transformers (seconds before anything prints): commands import
their heavy parts inside the command, and configs read names from rewardkit.vocabulary, never from model code."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "matplotlib", "trl", "peft")


def test_building_the_cli_imports_no_heavy_package():
    probe = (
        "import json, sys; import rewardkit.cli; "
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert json.loads(output.splitlines()[-1]) == []
