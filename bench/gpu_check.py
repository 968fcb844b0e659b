"""The GPU check behind bench/gpu_check.sh: every CUDA path of rewardkit timed in one run, one JSON record.

Parts (each a benchmark script of bench/ in its own process, with its own time limit, inside a 10-minute total):
scoring vs the reward-bench pipeline at 256 and 2,048 tokens (at 256 also with REWARDKIT_PACKING=on: on CUDA the
scorer reads each sequence whole unless told to pack), Best-of-N scoring with and without prefix sharing,
micro-batched vs unbatched serving at 32 clients, K=8 judge voting with the HF engine (and vLLM when importable),
and one `accelerate launch` training step. A part that cannot run (no fastapi/uvicorn, no vLLM, out of time) is
recorded as skipped with the reason; without CUDA the whole check is skipped.

Inputs, found in this order:
- model: $MODEL_DIR (a transformers causal-LM directory); else the default model when it resolves here; else a
  random-init model with SmolLM2-135M's architecture (same shapes, so the same speed), saved under the output dir,
  with the tokenizer of $TOKENIZER_DIR or runs/gpu_inputs/tokenizer, else the in-code test tokenizer.
- data: $DATA_DIR or runs/gpu_inputs (rewardbench_like_dev.jsonl, gsm8k_test_candidates_dev.jsonl), else
  ../shared/data, else seeded synthetic pairs (short) written under the output dir.
`--prepare` copies the tokenizer and the two data files into runs/gpu_inputs (a few MB) so that they can travel to
a machine that has neither. The record says which model, tokenizer and data were used.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "runs" / "gpu_inputs"
SHARED = REPO.parent / "shared" / "data"
DEV_FILE = "rewardbench_like_dev.jsonl"
BON_FILE = "gsm8k_test_candidates_dev.jsonl"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json")
TOTAL_SECONDS = 570  # the whole check stays under 10 minutes, start-up included
MIN_PART_SECONDS = 30  # a part is not started with less time than this left
SMOLLM2_135M = {  # SmolLM2-135M-Instruct's config.json (architecture only)
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "rope_theta": 100000.0,
    "tie_word_embeddings": True,
    "vocab_size": 49152,
}


@dataclass
class Part:
    """One benchmark command with its time limit; `needs` are modules it cannot run without."""

    name: str
    command: list[str]
    limit_s: int
    needs: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class PartResult:
    name: str
    status: str  # ok, failed, skipped
    seconds: float = 0.0
    reason: str = ""
    result: dict = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "gpu_check", help="Output directory.")
    parser.add_argument("--prepare", action="store_true", help="Copy tokenizer and data into runs/gpu_inputs, exit.")
    parser.add_argument("--dry-run", action="store_true", help="Print the parts' commands as JSON, run nothing.")
    parser.add_argument("--total-seconds", type=int, default=TOTAL_SECONDS, help="Time limit of all parts together.")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="Plumbing check on any device: every part with tiny sizes (use with MODEL_DIR=a tiny model).",
    )
    return parser.parse_args(argv)


def data_dir() -> Path | None:
    for candidate in (os.environ.get("DATA_DIR"), INPUTS, SHARED / "eval"):
        if candidate and (Path(candidate) / DEV_FILE).is_file():
            return Path(candidate)
    return None


def bon_file() -> Path | None:
    for candidate in (os.environ.get("DATA_DIR"), INPUTS, SHARED / "bon"):
        if candidate and (Path(candidate) / BON_FILE).is_file():
            return Path(candidate) / BON_FILE
    return None


def tokenizer_dir() -> Path | None:
    for candidate in (os.environ.get("TOKENIZER_DIR"), INPUTS / "tokenizer"):
        if candidate and (Path(candidate) / "tokenizer.json").is_file():
            return Path(candidate)
    return None


def prepare() -> dict:
    """Copy the default model's tokenizer and the dev/Best-of-N files into runs/gpu_inputs."""
    from rewardkit.models.loading import resolve_model_path

    (INPUTS / "tokenizer").mkdir(parents=True, exist_ok=True)
    model_dir = Path(resolve_model_path("default"))
    copied = []
    for name in TOKENIZER_FILES:
        if (model_dir / name).is_file():
            shutil.copy(model_dir / name, INPUTS / "tokenizer" / name)
            copied.append(f"tokenizer/{name}")
    for source in (SHARED / "eval" / DEV_FILE, SHARED / "bon" / BON_FILE):
        if source.is_file():
            shutil.copy(source, INPUTS / source.name)
            copied.append(source.name)
    return {"prepared": str(INPUTS), "files": copied}


def random_smollm2(out: Path) -> tuple[str, dict]:
    """A random-init model of SmolLM2-135M's shapes with the best tokenizer available, saved under `out`."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from rewardkit.models.tiny import build_tiny_tokenizer

    source = tokenizer_dir()
    tokenizer = AutoTokenizer.from_pretrained(source) if source else build_tiny_tokenizer()
    torch.manual_seed(0)
    settings = {key: value for key, value in SMOLLM2_135M.items() if key != "rope_theta"}
    config = LlamaConfig(
        **settings, rope_parameters={"rope_type": "default", "rope_theta": SMOLLM2_135M["rope_theta"]}
    )
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    directory = out / "random_smollm2_135m"
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    described = str(source) if source else "in-code test tokenizer (byte-level BPE, 320 tokens: more tokens per text)"
    return str(directory), {"weights": "random init, SmolLM2-135M architecture", "tokenizer": described}


def choose_model(out: Path) -> tuple[str, dict]:
    if os.environ.get("MODEL_DIR"):
        return os.environ["MODEL_DIR"], {"weights": f"MODEL_DIR={os.environ['MODEL_DIR']}", "tokenizer": "its own"}
    try:
        from rewardkit.models.loading import resolve_model_path

        return resolve_model_path("default"), {"weights": "SmolLM2-135M-Instruct (default)", "tokenizer": "its own"}
    except Exception as error:  # noqa: BLE001 - any failure to find the default model means: build a random one
        print(f"default model unavailable ({type(error).__name__}: {error}); building a random-init one", flush=True)
        return random_smollm2(out)


def choose_data(out: Path) -> tuple[Path, str]:
    found = data_dir()
    if found:
        return found / DEV_FILE, str(found / DEV_FILE)
    from rewardkit.data.readers import write_pairs_jsonl
    from rewardkit.data.synthetic import synthetic_splits

    path = out / "synthetic_pairs.jsonl"
    write_pairs_jsonl(synthetic_splits(600, 0, seed=0)[0], path)
    return path, "synthetic verifiable pairs (one-line answers: short sequences)"


SMOKE_SIZES = {"--pairs": "4", "--requests": "8", "--clients": "4", "--num-samples": "2", "--max-new-tokens": "4",
               "--max-field-tokens": "32", "--items": "4"}  # fmt: skip


def smoke_sized(command: list[str]) -> list[str]:
    """The same command with every size flag at its smoke value (items added for the Best-of-N part)."""
    sized = list(command)
    for position, token in enumerate(sized[:-1]):
        if token in SMOKE_SIZES:
            sized[position + 1] = SMOKE_SIZES[token]
    if sized[1].endswith("bench_bon_scoring.py"):
        sized += ["--items", SMOKE_SIZES["--items"]]
    return sized


def parts(model: str, data: Path, bon: Path | None, out: Path, smoke: bool = False) -> list[Part]:
    """Every part, most important first (a part that would not fit the remaining time is skipped)."""
    listed = _parts(model, data, bon, out)
    if smoke:
        for part in listed:
            part.command = smoke_sized(part.command)
    return listed


def _parts(model: str, data: Path, bon: Path | None, out: Path) -> list[Part]:
    python = sys.executable
    train = [
        python, "-m", "accelerate.commands.launch", "--num_processes", "1", "--mixed_precision", "bf16",
        "-m", "rewardkit.cli", "train", "bt", "--config", str(REPO / "configs" / "bt_smoke.yaml"),
        "--output", str(out / "accelerate_step"), "--set", f"model={model}", "--set", "max_steps=1",
        "--set", "eval_steps=0", "--set", "save_steps=1",
    ]  # fmt: skip
    judge = [
        python, str(REPO / "bench" / "bench_judge_voting.py"), "--model", model, "--data", str(data),
        "--pairs", "50", "--num-samples", "8", "--max-new-tokens", "32", "--max-field-tokens", "256",
        "--template", "pairwise-direct",
    ]  # fmt: skip
    scoring = [python, str(REPO / "bench" / "bench_scoring.py"), "--model", model, "--data", str(data)]
    listed = [
        Part("scoring_256", [*scoring, "--pairs", "500", "--max-length", "256"], 120),
        Part(  # the packed path on CUDA (read whole there by default): does packing pay on a GPU?
            "scoring_256_packed",
            [*scoring, "--pairs", "500", "--max-length", "256", "--baseline-dtypes", "bf16"],
            90,
            env={"REWARDKIT_PACKING": "on"},
        ),
        Part("scoring_2048", [*scoring, "--pairs", "500", "--max-length", "2048", "--baseline-dtypes", "bf16"], 120),
        Part(
            "serving_32_clients",
            [
                python,
                str(REPO / "bench" / "bench_serving.py"),
                "--backbone",
                model,
                "--data",
                str(data),
                "--requests",
                "256",
                "--clients",
                "32",
            ],
            90,
            needs=("fastapi", "uvicorn"),
        ),  # fmt: skip
        Part("judge_voting_hf", judge, 150),
        Part("accelerate_train_step", train, 120, needs=("accelerate",)),
        Part("judge_voting_vllm", [*judge, "--engine", "vllm", "--skip-naive"], 150, needs=("vllm",)),
    ]
    if bon is not None:
        bon_command = [python, str(REPO / "bench" / "bench_bon_scoring.py"), "--model", model, "--data", str(bon)]
        # packing on, or CUDA reads both paths whole and the shared path shares nothing
        listed.append(Part("bon_scoring", bon_command, 90, env={"REWARDKIT_PACKING": "on"}))
    return listed


def last_json_line(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


def run_part(part: Part, remaining_s: float, log_dir: Path) -> PartResult:
    missing = [module for module in part.needs if importlib.util.find_spec(module) is None]
    if missing:
        return PartResult(part.name, "skipped", reason=f"not importable here: {', '.join(missing)}")
    limit = min(part.limit_s, int(remaining_s))
    if limit < MIN_PART_SECONDS:
        return PartResult(part.name, "skipped", reason=f"out of time ({remaining_s:.0f} s left of the total)")
    started = time.monotonic()
    try:
        environment = {**os.environ, **part.env}
        completed = subprocess.run(
            part.command, capture_output=True, text=True, timeout=limit, cwd=REPO, env=environment
        )
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        (log_dir / f"{part.name}.log").write_text(output)
        return PartResult(part.name, "failed", time.monotonic() - started, f"timed out after {limit} s")
    seconds = time.monotonic() - started
    (log_dir / f"{part.name}.log").write_text(completed.stdout + "\n--- stderr ---\n" + completed.stderr)
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-1:] or ["no stderr"]
        return PartResult(part.name, "failed", seconds, f"exit {completed.returncode}: {tail[0][:300]}")
    return PartResult(part.name, "ok", seconds, result=last_json_line(completed.stdout))


def environment() -> dict:
    import torch

    record = {"python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        record["gpu"] = torch.cuda.get_device_name(0)
    for module in ("transformers", "accelerate", "peft", "fastapi", "uvicorn", "vllm", "trl"):
        spec = importlib.util.find_spec(module)
        record[module] = "missing" if spec is None else "present"
    return record


def finish(record: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()
    if args.prepare:
        print(json.dumps(prepare()))
        return
    import torch

    record = {"benchmark": "gpu_check", "date": datetime.date.today().isoformat(), "environment": environment()}
    if not torch.cuda.is_available() and not (args.dry_run or args.smoke):
        record["skipped"] = "no CUDA device (torch.cuda.is_available() is False): nothing to check"
        finish(record, args.out)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    model, model_info = choose_model(args.out)
    data, data_info = choose_data(args.out)
    record.update(model=model, model_info=model_info, data=data_info)
    planned = parts(model, data, bon_file(), args.out, smoke=args.smoke)
    if args.dry_run:
        record["parts"] = [asdict(part) for part in planned]
        finish(record, args.out)
        return
    results = []
    for part in planned:
        remaining = args.total_seconds - (time.monotonic() - started)
        print(f"[gpu_check] {part.name} (limit {min(part.limit_s, int(remaining))} s)", flush=True)
        results.append(run_part(part, remaining, args.out))
        print(f"[gpu_check] {part.name}: {results[-1].status} {results[-1].reason}", flush=True)
    record["parts"] = {result.name: asdict(result) for result in results}
    record["total_seconds"] = round(time.monotonic() - started, 1)
    finish(record, args.out)


if __name__ == "__main__":
    main()
