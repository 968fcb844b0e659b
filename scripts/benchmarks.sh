#!/usr/bin/env bash
# RewardBench 2, RM-Bench and JudgeBench for one model, each scored by its official rule with 95% bootstrap
# intervals and the random / longer baselines beside every number (issue 13; docs/RESULTS.md):
#   rewardbench2  rows built from the Best-of-N files in ../shared/data/bon (one correct vs three incorrect
#                 candidates: Math; all correct vs all incorrect, and the reference vs the same: Ties)
#   rm-bench      ../shared/data/eval/rmbench_dev.jsonl (174 rows, native format)
#   judgebench    ../shared/data/eval/judgebench_dev.jsonl (218 pairs, native format)
# Reports go to reports/benchmarks/NAME/<benchmark>/ (report.json, report.md, scores.png, predictions.jsonl, and
# <benchmark>.log with the wall time); report.json and report.md are copied to docs/results/benchmarks/NAME/<benchmark>/.
# Run from the repo root with the venv active, e.g.
#   bash scripts/benchmarks.sh runs/bt_default bt_default
#   PER_CATEGORY=20 bash scripts/benchmarks.sh "judge:default?template=pairwise-direct&mode=logprob&max_field_tokens=128" zero_shot_logprob
# PER_CATEGORY=N evaluates a seeded stratified slice (at most N prompts per subset/domain, seed SEED, nested, Ties
# rows of a prompt kept together); JUDGING=auto|scores|pairs says how the model is asked (default auto).
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: bash scripts/benchmarks.sh MODEL_SPEC NAME" >&2; exit 2; fi
SPEC=$1
NAME=$2
DATA=${DATA:-../shared/data}
OUT=reports/benchmarks/$NAME
DOCS=${DOCS:-docs/results/benchmarks}/$NAME
RB2_ROWS=reports/benchmarks/rewardbench2_bon.jsonl
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
mkdir -p "$OUT"
if [ ! -s "$RB2_ROWS" ]; then
  rewardkit data build-rewardbench2 "$DATA/bon/gsm8k_test_candidates_dev.jsonl" \
    "$DATA/bon/qwen25math_math100_bon8.jsonl" --out "$RB2_ROWS"
fi
options=(--seed "${SEED:-0}" --judging "${JUDGING:-auto}" --no-progress)
if [ -n "${PER_CATEGORY:-}" ]; then options+=(--per-category "$PER_CATEGORY"); fi

evaluate() {  # evaluate BENCHMARK DATA: one report, its output and wall time in the log
  echo "$(date +%T) $NAME: $1"
  { time nice rewardkit eval --benchmark "$1" --model "$SPEC" --data "$2" --report "$OUT/$1" "${options[@]}" ; } \
    > "$OUT/$1.log" 2>&1 || { echo "FAILED $1 (see $OUT/$1.log)"; return 1; }
  grep -E "│|Judged by|^real" "$OUT/$1.log"
  mkdir -p "$DOCS/$1" && cp "$OUT/$1/report.json" "$OUT/$1/report.md" "$DOCS/$1/"
}

evaluate rewardbench2 "$RB2_ROWS"
evaluate rm-bench "$DATA/eval/rmbench_dev.jsonl"
evaluate judgebench "$DATA/eval/judgebench_dev.jsonl"
