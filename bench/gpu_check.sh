#!/usr/bin/env bash
# One GPU check, under 10 minutes on one GPU: scoring vs the reward-bench pipeline (256 and 2,048 tokens), Best-of-N
# scoring, micro-batched vs unbatched serving at 32 clients, K=8 judge voting (HF engine; vLLM when importable) and
# one `accelerate launch` training step. Writes <out>/gpu_check.json and prints it as the last line; without CUDA it
# records "skipped" and exits 0. rewardkit runs from src/ (no install needed). See bench/gpu_check.py for inputs.
#
#   bash bench/gpu_check.sh [--out runs/gpu_check]    # on the GPU machine
#   bash bench/gpu_check.sh --prepare                 # here: copy tokenizer + data (a few MB) into runs/gpu_inputs
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false
exec "${PYTHON:-python3}" bench/gpu_check.py "$@"
