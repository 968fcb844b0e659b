"""Best-of-N scoring: this checkout's rewardkit against an earlier commit's, side by side on one machine.

Issue 16 asks for Best-of-N scoring of the GSM8K candidate file ≥ 2× faster than rewardkit scored it when the issue
was filed. `bench_bon_scoring.py` compares today's scorer with itself reading each candidate whole; this bench times
the earlier code itself. It checks `--commit` (default 08154e3, the last commit before issue 16's first change) out
into a temporary git worktree. For each of `--chunks` consecutive chunks of the items, it runs both trees'
`score_all_candidates` (batches of 32 candidates, what `rewardkit bon` uses), each in a fresh worker process: the
worker loads the model, scores one candidate to warm up, then times the chunk. The two alternate which goes first
from chunk to chunk (the CPU's speed drifts); each tree's time is the sum over chunks.

Both trees read the same token sequences. The model is handed to both as a directory of links to its files with a
manifest that leaves out the truncation fields the earlier code does not know (`response_truncation`,
`text_format`); the current code reads such a manifest as the encoding the earlier code had (`legacy_truncation`).
Each tree loads the model as it did: the earlier one keeps fp32 weights under bf16 autocast on a bf16 CPU, today's
casts a loaded model's weights to bf16 once.

Run from the repository root of a git checkout (REWARDKIT_PRECISION=fp32 forces the fp32 path in both trees):

    python bench/bench_bon_against_commit.py --model runs/bt_default --items 200

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared" / "data" / "bon" / "gsm8k_test_candidates_dev.jsonl"
ISSUE_16_BASE = "08154e3"  # the parent of 58ac300, issue 16's first change
BATCH_SIZE = 32  # score_all_candidates' default, what `rewardkit bon` uses
FIELDS_UNKNOWN_BEFORE = ("response_truncation", "text_format")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/bt_default", help="A rewardkit BT model directory.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Best-of-N file (id, prompt, candidates).")
    parser.add_argument("--items", type=int, default=None, help="Score only the first N items (default: all).")
    parser.add_argument("--chunks", type=int, default=4, help="Chunks of items; which tree goes first alternates.")
    parser.add_argument("--commit", default=ISSUE_16_BASE, help="The earlier commit to time against.")
    parser.add_argument(
        "--worker", nargs=2, type=int, metavar=("START", "END"), help=argparse.SUPPRESS
    )  # internal: score items [START, END) with the rewardkit on PYTHONPATH and print one JSON line
    return parser.parse_args()


def run_worker(model: str, data: Path, start: int, end: int) -> dict:
    """Load `model` with whichever rewardkit is importable, warm up, and time `score_all_candidates` on the items
    [start, end) (imports only what the earlier commit has too)."""
    import rewardkit
    from rewardkit.data.bon_data import read_bon_jsonl
    from rewardkit.evaluation.bon import score_all_candidates
    from rewardkit.families.scalar import ScalarRewardModel

    items = read_bon_jsonl(data, limit=end)[start:end]
    scorer = ScalarRewardModel.load(model)
    scorer.rewards([items[0].prompt], [items[0].candidates[0]])  # warm-up
    began = time.perf_counter()
    grouped = score_all_candidates(scorer, items, batch_size=BATCH_SIZE, progress=False)
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "rewards": [score.value for scores in grouped for score in scores],
        "rewardkit": str(Path(rewardkit.__file__).parent),
        "precision": scorer.precision,
        "weight_dtype": str(next(scorer.model.parameters()).dtype),
    }


def model_for_both(model: Path, into: Path) -> Path:
    """A directory of links to `model`'s files whose manifest leaves out the truncation fields the earlier code
    does not know (so both trees encode with the earlier format)."""
    into.mkdir(parents=True, exist_ok=True)
    for entry in model.iterdir():
        if entry.name != "rewardkit.json":
            (into / entry.name).symlink_to(entry.resolve())
    manifest = json.loads((model / "rewardkit.json").read_text())
    truncation = manifest.get("truncation", {})
    manifest["truncation"] = {key: value for key, value in truncation.items() if key not in FIELDS_UNKNOWN_BEFORE}
    (into / "rewardkit.json").write_text(json.dumps(manifest, indent=2))
    return into


def earlier_tree(commit: str, into: Path) -> Path:
    """A detached git worktree of `commit` (removed by `remove_tree`)."""
    command = ["git", "-C", str(REPOSITORY), "worktree", "add", "--detach", str(into), commit]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(
            f"error: cannot check out {commit} from {REPOSITORY} (this bench needs a git checkout holding it; "
            f"a shallow clone may lack it: git fetch --unshallow): {completed.stderr.strip()}"
        )
    return into


def remove_tree(tree: Path) -> None:
    subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "remove", "--force", str(tree)], check=False)


def time_in(source: Path, model: Path, data: Path, bounds: tuple[int, int]) -> dict:
    """One worker process with `source` first on PYTHONPATH; its JSON line, checked to come from that tree."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, __file__, "--model", str(model), "--data", str(data), "--worker", *map(str, bounds)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"worker on {source} failed:\n{completed.stderr[-4000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    if Path(result["rewardkit"]).resolve() != (source / "rewardkit").resolve():
        raise RuntimeError(f"worker imported {result['rewardkit']}, not the tree {source}")
    return result


def time_alternating(trees: dict[str, Path], model: Path, data: Path, bounds: list[tuple[int, int]]) -> dict:
    """Every tree on every chunk, the order reversed from chunk to chunk: seconds summed, rewards in item order."""
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for index, chunk in enumerate(bounds):
        for name in list(trees) if index % 2 == 0 else list(trees)[::-1]:
            runs[name].append(time_in(trees[name], model, data, chunk))
    return {
        name: {
            "seconds": sum(run["seconds"] for run in chunks),
            "rewards": np.concatenate([run["rewards"] for run in chunks]),
            "precision": chunks[0]["precision"],
            "weight_dtype": chunks[0]["weight_dtype"],
        }
        for name, chunks in runs.items()
    }


def summary(timed: dict, args: argparse.Namespace, commit: str) -> dict:
    from rewardkit.bench_record import machine_and_date

    today, earlier = timed["today"], timed["earlier"]
    candidates = len(today["rewards"])

    def row(run: dict) -> dict:
        return {
            "seconds": round(run["seconds"], 2),
            "candidates_per_s": round(candidates / run["seconds"], 2),
            "precision": run["precision"],
            "weight_dtype": run["weight_dtype"],
        }

    return {
        "benchmark": "bon_scoring_against_commit",
        "model": args.model,
        "data": str(args.data),
        "items": args.items,
        "candidates": candidates,
        "earlier_commit": commit,
        "today_commit": git_head(),
        "today": row(today),
        "earlier": row(earlier),
        "speedup": round(earlier["seconds"] / today["seconds"], 2),
        "order": f"alternating over {args.chunks} chunks, today first in the first; one worker process per tree "
        "and chunk, model load and warm-up untimed",
        "max_abs_reward_diff": float(np.max(np.abs(today["rewards"] - earlier["rewards"]))),
        "reward_std": float(np.std(earlier["rewards"])),
        **machine_and_date(),
    }


def git_head(revision: str = "HEAD") -> str:
    command = ["git", "-C", str(REPOSITORY), "rev-parse", "--short", revision]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    args = parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.model, args.data, *args.worker)))
        return
    from rewardkit.bench_record import chunk_bounds
    from rewardkit.data.bon_data import read_bon_jsonl

    total = len(read_bon_jsonl(args.data, limit=args.items))
    with tempfile.TemporaryDirectory(prefix="rk-bench-commit-") as scratch:
        model = model_for_both(Path(args.model).resolve(), Path(scratch) / "model")
        tree = earlier_tree(args.commit, Path(scratch) / "tree")
        try:
            trees = {"today": REPOSITORY / "src", "earlier": tree / "src"}
            timed = time_alternating(trees, model, args.data.resolve(), chunk_bounds(total, args.chunks))
        finally:
            remove_tree(tree)
    print(json.dumps(summary(timed, args, git_head(args.commit))))


if __name__ == "__main__":
    main()
