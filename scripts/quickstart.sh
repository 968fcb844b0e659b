#!/usr/bin/env bash
# The main job on a fresh machine: install (scripts/install.sh), then train a Bradley-Terry reward model on the default
# model (SmolLM2-135M-Instruct) and the embedded synthetic data, evaluate it next to the baselines, print the report path.
# Install plus job stay within 10 minutes: the job gets what the install left of them (30 s spare for start-up), at
# most 8 minutes and at least 3; QUICKSTART_BUDGET_MINUTES=N fixes its budget instead.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/install.sh
budget="${QUICKSTART_BUDGET_MINUTES:-$(.venv/bin/python -c "
left = (600 - 30 - ($(date +%s) - $started)) / 60
print(f'{max(3.0, min(8.0, left)):.2f}')")}"
echo "install took $(($(date +%s) - started)) s; the main job gets ${budget} min"
.venv/bin/rewardkit quickstart --output "${1:-runs/quickstart}" --budget-minutes "$budget"
