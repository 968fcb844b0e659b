#!/usr/bin/env bash
# The main job on a fresh machine: install (scripts/install.sh), then train a Bradley-Terry reward model on the default
# model (SmolLM2-135M-Instruct) and the embedded synthetic data, evaluate it next to the baselines, print the report path.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/rewardkit quickstart --output "${1:-runs/quickstart}"
