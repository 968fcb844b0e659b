"""scripts/quickstart.sh gives the main job what the install left of 10 minutes (at most 8), or a fixed budget."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "quickstart.sh"


def _checkout_with_stubs(root: Path, install_seconds: int) -> Path:
    """A copy of the script beside a stub install (it moves the fake clock on by `install_seconds`) and a stub
    rewardkit that records its arguments."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "scripts" / "quickstart.sh")
    (root / "scripts" / "install.sh").write_text(f"echo {install_seconds} > clock_offset\n")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "rewardkit").write_text('#!/usr/bin/env bash\necho "$@" > rewardkit_args\n')
    (bin_dir / "rewardkit").chmod(0o755)
    return root


def _fake_date(root: Path) -> dict[str, str]:
    """A `date +%s` that stands still but for the seconds the stub install wrote (0 before it ran)."""
    fake_bin = root / "fake_bin"
    fake_bin.mkdir()
    (fake_bin / "date").write_text(
        f'#!/usr/bin/env bash\noffset=$(cat "{root}/clock_offset" 2>/dev/null || echo 0)\n'
        "echo $(( 1000000 + offset ))\n"
    )
    (fake_bin / "date").chmod(0o755)
    return {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"}


@pytest.mark.parametrize(("install_seconds", "budget"), [(0, "8.00"), (150, "7.00"), (330, "4.00"), (500, "3.00")])
def test_the_job_gets_what_the_install_left_of_ten_minutes(tmp_path, install_seconds, budget):
    root = _checkout_with_stubs(tmp_path / "clone", install_seconds)
    env = _fake_date(root)
    env.pop("QUICKSTART_BUDGET_MINUTES", None)

    run = subprocess.run(["bash", "scripts/quickstart.sh"], cwd=root, env=env, capture_output=True, text=True)

    assert run.returncode == 0, run.stderr
    assert (root / "rewardkit_args").read_text().split() == [
        "quickstart",
        "--output",
        "runs/quickstart",
        "--budget-minutes",
        budget,
    ]
    assert f"the main job gets {budget} min" in run.stdout


def test_a_fixed_budget_wins(tmp_path):
    root = _checkout_with_stubs(tmp_path / "clone", 0)
    env = {**_fake_date(root), "QUICKSTART_BUDGET_MINUTES": "2.5"}

    subprocess.run(["bash", "scripts/quickstart.sh", "out"], cwd=root, env=env, check=True, capture_output=True)

    assert (root / "rewardkit_args").read_text().split()[-3:] == ["out", "--budget-minutes", "2.5"]
