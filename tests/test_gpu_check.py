"""bench/gpu_check.py plumbing on a CPU: skips cleanly without CUDA, every part's command is one its script accepts,
parts that cannot run are skipped with a reason, failures and time-outs are recorded, results are read back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    return load_script(str(path.relative_to(REPO)), name)


@pytest.fixture(scope="module")
def gpu_check():
    return _load(REPO / "bench" / "gpu_check.py", "gpu_check")


def test_without_cuda_the_check_records_skipped_and_prints_it_last(gpu_check, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    gpu_check.main(["--out", str(tmp_path)])
    last_line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "no CUDA device" in last_line["skipped"]
    assert json.loads((tmp_path / "gpu_check.json").read_text()) == last_line


def test_every_part_command_is_accepted_by_its_script(gpu_check, tiny_model_dir, tmp_path, monkeypatch):
    bon = tmp_path / "bon.jsonl"
    planned = gpu_check.parts(str(tiny_model_dir), tmp_path / "pairs.jsonl", bon, tmp_path)
    assert {part.name for part in planned} >= {
        "scoring_256",
        "scoring_256_packed",
        "scoring_2048",
        "serving_32_clients",
        "judge_voting_hf",
        "judge_voting_vllm",
        "accelerate_train_step",
        "bon_scoring",
    }
    for part in planned:
        if part.command[1].endswith(".py"):
            script = _load(Path(part.command[1]), f"bench_{part.name}")
            monkeypatch.setattr(sys, "argv", part.command[1:])
            script.parse_args()  # exits (SystemExit) on an argument the script does not know
        else:
            assert part.command[1:3] == ["-m", "accelerate.commands.launch"]
            assert Path(part.command[part.command.index("--config") + 1]).is_file()


def test_smoke_sizes_replace_every_size_flag(gpu_check, tmp_path):
    planned = gpu_check.parts("model", tmp_path / "pairs.jsonl", tmp_path / "bon.jsonl", tmp_path, smoke=True)
    for part in planned:
        for flag, value in gpu_check.SMOKE_SIZES.items():
            if flag in part.command:
                assert part.command[part.command.index(flag) + 1] == value


def test_run_part_records_skips_failures_timeouts_and_results(gpu_check, tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "MIN_PART_SECONDS", 2)
    python = sys.executable
    Part = gpu_check.Part
    missing = gpu_check.run_part(Part("needs", [python, "-c", "0"], 60, needs=("no_such_module_x",)), 600, tmp_path)
    assert missing.status == "skipped" and "no_such_module_x" in missing.reason
    late = gpu_check.run_part(Part("late", [python, "-c", "0"], 60), 1, tmp_path)
    assert late.status == "skipped" and "out of time" in late.reason
    failed = gpu_check.run_part(Part("fails", [python, "-c", "raise SystemExit('broken')"], 60), 600, tmp_path)
    assert failed.status == "failed" and "broken" in failed.reason
    slow = gpu_check.run_part(Part("slow", [python, "-c", "import time; time.sleep(60)"], 2), 600, tmp_path)
    assert slow.status == "failed" and "timed out after 2 s" in slow.reason
    ok = gpu_check.run_part(Part("ok", [python, "-c", "print('x'); print('{\"speedup\": 2.5}')"], 60), 600, tmp_path)
    assert ok.status == "ok" and ok.result == {"speedup": 2.5}
    assert (tmp_path / "ok.log").is_file()
    command = [python, "-c", "import json, os; print(json.dumps({'packing': os.environ['REWARDKIT_PACKING']}))"]
    packed = gpu_check.run_part(Part("env", command, 60, env={"REWARDKIT_PACKING": "on"}), 600, tmp_path)
    assert packed.result == {"packing": "on"}, "a part's environment reaches its process"
