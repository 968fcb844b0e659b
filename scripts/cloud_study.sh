#!/usr/bin/env bash
# CLoud study of issue 4 (docs/RESULTS.md): the three CLoud stages on SmolLM2-135M, classic BT on the same pairs,
# the off-policy (oracle-critique) ablation, and evaluations on one stratified slice of the dev file.
#   stage 1 (2 threads)  critique SFT on autoj critiques             configs/cloud_sft.yaml       -> runs/cloud_sft
#   stage 2 (2 threads)  on-policy self-critiques of 800 pairs       configs/cloud_critiques.yaml -> runs/cloud_critiques
#   lane A  (1 thread)   stage 3 (BT + 1.25 LM) on self-critiques    configs/cloud.yaml           -> runs/cloud
#                        eval CLoud K=1 (greedy critique)
#   lane B  (1 thread)   classic BT on the same pairs                configs/bt_cloud_pairs.yaml  -> runs/bt_cloud_pairs
#                        eval BT; stage 3 on oracle critiques        configs/cloud_oracle.yaml    -> runs/cloud_oracle
#                        eval CLoud-oracle K=1
#   last    (2 threads)  eval CLoud K=4 (sampled critiques, T=0.7, mean reward), without the master-key probe (it
#                        would cost a third more critiques), then `rewardkit compare` of all four reports
# Every evaluation reads the same slice (at most PER_CATEGORY rows of each category, seed 0); all but K=4 probe master
# keys on the same MASTER_KEY_ROWS rows. About 2 h 40 min in all on 2 CPU cores. Each step's wall time is in its log
# under reports/cloud/. Run from the repo root with
# the venv active. A finished step leaves reports/cloud/NAME.done and is skipped on a rerun; stage 2 resumes where
# it stopped; an interrupted training step is continued by hand with its command plus --resume (see its log).
set -euo pipefail
DEV=${DEV:-../shared/data/eval/rewardbench_like_dev.jsonl}
PER_CATEGORY=${PER_CATEGORY:-120}
MASTER_KEY_ROWS=${MASTER_KEY_ROWS:-40}
mkdir -p reports/cloud

step() {  # step NAME COMMAND...: run COMMAND unless NAME is done; its output and wall time go to NAME.log
  local name=$1; shift
  if [ -e "reports/cloud/$name.done" ]; then echo "skip $name (done)"; return; fi
  echo "$(date +%T) start $name"
  { time "$@" ; } > "reports/cloud/$name.log" 2>&1
  touch "reports/cloud/$name.done"
  echo "$(date +%T) done  $name"
}

train() {  # train NAME COMMAND CONFIG: one recipe into runs/NAME
  step "train_$1" rewardkit train "$2" --config "configs/$3.yaml" --output "runs/$1"
}

evaluate() {  # evaluate NAME SPEC [MASTER-KEY-ROWS]: one report on the slice into reports/cloud/NAME
  step "eval_$1" rewardkit eval --model "$2" --data "$DEV" \
    --per-category "$PER_CATEGORY" --master-key-rows "${3:-$MASTER_KEY_ROWS}" --report "reports/cloud/$1" --no-progress
}

lane_a() {
  train cloud cloud cloud
  evaluate cloud_k1 "cloud:runs/cloud?num_samples=1"
}

lane_b() {
  train bt_cloud_pairs bt bt_cloud_pairs
  evaluate bt_cloud_pairs runs/bt_cloud_pairs
  train cloud_oracle cloud cloud_oracle
  evaluate cloud_oracle_k1 "cloud:runs/cloud_oracle?num_samples=1"
}

train cloud_sft cloud-sft cloud_sft
resume=(); [ -e runs/cloud_critiques/critiques.jsonl ] && resume=(--resume)
step train_cloud_critiques \
  rewardkit train cloud-critiques --config configs/cloud_critiques.yaml --output runs/cloud_critiques "${resume[@]}"
OMP_NUM_THREADS=1 lane_a & a=$!
OMP_NUM_THREADS=1 lane_b & b=$!
failed=0; wait $a || failed=1; wait $b || failed=1
[ "$failed" -eq 0 ] || { echo "a lane failed: see reports/cloud/*.log" >&2; exit 1; }
evaluate cloud_k4 "cloud:runs/cloud?num_samples=4&temperature=0.7" 0
rewardkit compare "classic BT=reports/cloud/bt_cloud_pairs" "CLoud K=1=reports/cloud/cloud_k1" \
  "CLoud K=4=reports/cloud/cloud_k4" "CLoud oracle critiques K=1=reports/cloud/cloud_oracle_k1" \
  --output reports/cloud/comparison.md
