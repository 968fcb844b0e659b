#!/usr/bin/env bash
# Best-of-N study of issue 5 (docs/RESULTS.md): the 3-member BT ensemble on both shared Best-of-N files, fresh
# candidates from the default model for 200 GSM8K test questions (N=16), and the over-optimization view on them.
# Two lanes of one thread each run side by side (2 CPU cores), about 2 hours in all (ensemble training included); each step's
# wall time is in its log under reports/bon/.
# Run from the repo root with the venv active, after `rewardkit train bt --config configs/bt_default.yaml --output
# runs/bt_default` (the single-BT curves) — the ensemble recipe below trains (or reuses) its own members.
set -euo pipefail
export OMP_NUM_THREADS=1
SHARED=${SHARED:-../shared/data}
mkdir -p reports/bon runs/gen

bon() {  # bon DATA REPORT MODEL...: one Best-of-N report, its wall time in REPORT.log
  local data=$1 report=$2; shift 2
  local specs=(); for spec in "$@"; do specs+=(--model "$spec"); done
  { time rewardkit bon "${specs[@]}" --data "$data" --report "$report" ; } > "$report.log" 2>&1
}

lane_a() {
  rewardkit train ensemble --config configs/ensemble_bt.yaml --output runs/ensemble-bt > reports/bon/ensemble_train.log 2>&1
  bon "$SHARED/bon/gsm8k_test_candidates_dev.jsonl" reports/bon/gsm8k_ensemble runs/ensemble-bt
  bon "$SHARED/bon/qwen25math_math100_bon8.jsonl" reports/bon/qwen_ensemble runs/ensemble-bt
}

lane_b() {
  { time rewardkit generate --data "$SHARED/bon/gsm8k_test_candidates_dev.jsonl" --limit 200 --num-samples 16 \
      --out runs/gen/gsm8k_test200_smollm2_n16.jsonl ; } > reports/bon/generate.log 2>&1
}

# phase 1: the ensemble on both shared files | candidate generation
lane_a & lane_b & wait
# phase 2: the over-optimization view on the fresh candidates: ensemble (members, mean, WCO, UWO) | single BT
bon runs/gen/gsm8k_test200_smollm2_n16.jsonl reports/bon/generated_ensemble runs/ensemble-bt &
bon runs/gen/gsm8k_test200_smollm2_n16.jsonl reports/bon/generated_bt runs/bt_default &
wait
