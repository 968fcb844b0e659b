"""First load of the default model: converting its GGUF file to safetensors, with the file parsed once
(`rewardkit.models.loading.gguf_parsed_once`) vs as transformers alone does it, and whether both write the same model.

Each repeat converts twice into fresh directories, the order of the two ways reversing from repeat to repeat; then
every tensor and the config and tokenizer files of the two outputs are compared.

Run from the repository root:

    python bench/bench_gguf_conversion.py --repeats 2

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from rewardkit.bench_record import machine_and_date
from rewardkit.models import loading

WAYS = ("parsed_once", "transformers_alone")
COMPARED_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path, default=None, help="GGUF file (default: the default model's).")
    parser.add_argument("--repeats", type=int, default=2, help="Conversions each way; the order alternates.")
    return parser.parse_args()


def convert(gguf_path: Path, directory: Path, way: str) -> float:
    """Seconds to convert `gguf_path` into `directory` one way."""
    original = loading.gguf_parsed_once
    if way == "transformers_alone":
        loading.gguf_parsed_once = contextlib.nullcontext
    try:
        started = time.perf_counter()
        loading._write_converted(gguf_path, directory)
        return time.perf_counter() - started
    finally:
        loading.gguf_parsed_once = original


def tensors(directory: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for path in sorted(directory.glob("*.safetensors")):
        state.update(load_file(path))
    return state


def same_outputs(first: Path, second: Path) -> dict:
    """Whether two converted directories hold equal tensors and byte-identical config and tokenizer files."""
    left, right = tensors(first), tensors(second)
    files = {name: filecmp.cmp(first / name, second / name, shallow=False) for name in COMPARED_FILES}
    equal = left.keys() == right.keys() and all(torch.equal(left[name], right[name]) for name in left)
    return {"tensors": len(left), "tensors_equal": equal, "files_equal": files}


def main() -> None:
    args = parse_args()
    gguf_path = args.gguf or loading.default_gguf_path()
    seconds: dict[str, list[float]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as scratch:
        outputs = {way: Path(scratch) / way for way in WAYS}
        for repeat in range(args.repeats):
            for way in WAYS if repeat % 2 == 0 else WAYS[::-1]:
                shutil.rmtree(outputs[way], ignore_errors=True)
                seconds[way].append(round(convert(gguf_path, outputs[way], way), 2))
        comparison = same_outputs(outputs["parsed_once"], outputs["transformers_alone"])
    best = {way: min(values) for way, values in seconds.items()}
    result = {
        "benchmark": "gguf_conversion",
        "gguf": str(gguf_path),
        "seconds": seconds,
        "speedup_of_best": round(best["transformers_alone"] / best["parsed_once"], 2),
        **comparison,
        "order": "alternating, parsed_once first in the first repeat",
        **machine_and_date(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
