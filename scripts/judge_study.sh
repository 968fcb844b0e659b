#!/usr/bin/env bash
# Generative-judge study of issue 3 (docs/RESULTS.md): GenRM, STaR-SFT, -Rationalizer, -DPO and Self-Rationalization
# trained on SmolLM2-135M, the zero-shot judge, and evaluations on one stratified slice of the dev file, in two
# 1-thread lanes:
#   lane A  train genrm (direct verdict SFT), star-sft (2 rounds), genrm with 10% master-key negatives (Master-RM);
#           eval zero-shot logprob, genrm K=1 / K=8 (sampled verdict tokens), genrm+MK K=1, zero-shot sample K=1,
#           star-sft K=1 / K=8, star-dpo K=8; then train star-sft+MK, star-rationalizer (2 rounds, hinted
#           rationales for unsolved prompts); eval star-rationalizer K=1
#   lane B  train self-rationalize (SFT + 2 DPO iterations, agreement with gold in its rounds.jsonl), star-dpo
#           (2 rounds); eval star-dpo K=1, zero-shot sample K=8, zero-shot direct K=8 (sampled verdict tokens);
#           then train star-dpo+MK; eval star-sft+MK K=1, star-dpo+MK K=1; train self-rationalize again with
#           3 SFT epochs and DPO at lr 1e-4 (agreement in runs/self_rationalize_long/rounds.jsonl)
#   last    bench/bench_judge_voting.py on the genrm judge (K=8 votes, both orders, 100 dev pairs), then
#           `rewardkit compare` of every report and its first-order half (one order of the same run), of the
#           chain-of-thought judges against the zero-shot one, of each judge's K=8 against its K=1, and of each
#           judge against its twin trained with master-key negatives
# Every evaluation judges both orders of one nested stratified slice of the dev file (at most PER_CATEGORY rows of
# each category, seed 0; the chain-of-thought K=8 rows on its VOTE_PER_CATEGORY subset); its first_order/ sub-report
# is the same run read from the (A, B) order alone. K=1 rows probe master keys on MASTER_KEY_ROWS rows (x5 keys);
# K=8 rows skip the probe (it would cost 5x their votes again). Sample-mode judges
# read a verdict token after a rationale that ends without one (verdict_after_rationale; counted as "forced").
# Each step's wall time is in its log under reports/judges/. A finished step leaves reports/judges/NAME.done and is
# skipped on a rerun; a failed step is reported and the lane goes on. Run from the repo root with the venv active:
#   bash scripts/judge_study.sh [all|a|b|last]   (all: both lanes side by side, then last)
set -uo pipefail
DEV=${DEV:-../shared/data/eval/rewardbench_like_dev.jsonl}
PER_CATEGORY=${PER_CATEGORY:-20}
VOTE_PER_CATEGORY=${VOTE_PER_CATEGORY:-10}  # K=8 chain-of-thought rows: 16 rationales a pair, on a nested half slice
MASTER_KEY_ROWS=${MASTER_KEY_ROWS:-20}
OUT=reports/judges
mkdir -p "$OUT"

step() {  # step NAME COMMAND...: run COMMAND unless NAME is done; its output and wall time go to NAME.log
  local name=$1; shift
  if [ -e "$OUT/$name.done" ]; then echo "skip $name (done)"; return 0; fi
  echo "$(date +%T) start $name"
  rm -f "$OUT/$name.failed"
  if { time "$@" ; } > "$OUT/$name.log" 2>&1; then
    touch "$OUT/$name.done"; echo "$(date +%T) done  $name"
  else
    touch "$OUT/$name.failed"; echo "$(date +%T) FAILED $name (see $OUT/$name.log)"
  fi
}

after() {  # after NAME: wait until the other lane has finished step NAME (done or failed)
  while [ ! -e "$OUT/$1.done" ] && [ ! -e "$OUT/$1.failed" ]; do sleep 30; done
}

train() {  # train NAME RECIPE CONFIG [--set ...]: one recipe into runs/NAME
  local name=$1 recipe=$2 config=$3; shift 3
  step "train_$name" rewardkit train "$recipe" --config "configs/$config.yaml" --output "runs/$name" "$@"
}

evaluate() {  # evaluate NAME SPEC [MASTER-KEY-ROWS] [PER-CATEGORY]: one report on the slice into reports/judges/NAME
  step "eval_$1" rewardkit eval --model "$2" --data "$DEV" --per-category "${4:-$PER_CATEGORY}" --nested \
    --master-key-rows "${3:-$MASTER_KEY_ROWS}" --report "$OUT/$1" --no-progress
}

ZERO_SHOT="judge:default?template=pairwise&max_new_tokens=64&max_field_tokens=128&verdict_after_rationale=1"
VOTES="num_samples=8&temperature=0.7"

lane_a() {
  train genrm genrm genrm
  train star_sft star-sft star_sft
  train genrm_mk genrm genrm --set master_key_negatives.fraction=0.1
  evaluate zero_shot_logprob "judge:default?template=pairwise-direct&mode=logprob&max_field_tokens=128"
  evaluate genrm_k1 "judge:runs/genrm"
  evaluate genrm_k8 "judge:runs/genrm?mode=sample&$VOTES&max_new_tokens=8" 0
  evaluate genrm_mk_k1 "judge:runs/genrm_mk"
  evaluate zero_shot_sample_k1 "$ZERO_SHOT"
  evaluate star_sft_k1 "judge:runs/star_sft"
  evaluate star_sft_k8 "judge:runs/star_sft?$VOTES" 0 "$VOTE_PER_CATEGORY"
  after train_star_dpo
  evaluate star_dpo_k8 "judge:runs/star_dpo?$VOTES" 0 "$VOTE_PER_CATEGORY"
  train star_sft_mk star-sft star_sft --set master_key_negatives.fraction=0.1
  train star_rationalizer star-rationalizer star_rationalizer
  evaluate star_rationalizer_k1 "judge:runs/star_rationalizer"
}

lane_b() {
  train self_rationalize self-rationalize self_rationalize
  train star_dpo star-dpo star_dpo
  evaluate star_dpo_k1 "judge:runs/star_dpo"
  evaluate zero_shot_sample_k8 "$ZERO_SHOT&$VOTES" 0 "$VOTE_PER_CATEGORY"
  evaluate zero_shot_direct_k8 "judge:default?template=pairwise-direct&mode=sample&$VOTES&max_new_tokens=8&max_field_tokens=128&verdict_after_rationale=1" 0
  train star_dpo_mk star-dpo star_dpo --set master_key_negatives.fraction=0.1
  after train_star_sft_mk
  evaluate star_sft_mk_k1 "judge:runs/star_sft_mk"
  evaluate star_dpo_mk_k1 "judge:runs/star_dpo_mk"
  train self_rationalize_long self-rationalize self_rationalize --set sft.num_train_epochs=3 \
    --set dpo.learning_rate=1e-4
}

last() {
  step bench_judge_voting python bench/bench_judge_voting.py --model runs/genrm --template pairwise-direct \
    --pairs 100 --num-samples 8 --max-new-tokens 8 --max-field-tokens 128
  rows=()
  for name in zero_shot_logprob zero_shot_direct_k8 zero_shot_sample_k1 zero_shot_sample_k8 genrm_k1 genrm_k8 genrm_mk_k1 \
      star_sft_k1 star_sft_k8 star_sft_mk_k1 star_dpo_k1 star_dpo_k8 star_dpo_mk_k1 star_rationalizer_k1; do
    [ -e "$OUT/$name/report.json" ] || continue
    rows+=("$name=$OUT/$name")
    [ -e "$OUT/$name/first_order/report.json" ] && rows+=("$name one order=$OUT/$name/first_order")
  done
  rewardkit compare "${rows[@]}" --output "$OUT/comparison.md"
  # chain-of-thought judges against the zero-shot sample judge, and each judge's K=8 against its K=1 (shared rows)
  rewardkit compare "zero_shot_sample_k1=$OUT/zero_shot_sample_k1" "star_sft_k1=$OUT/star_sft_k1" \
    "star_dpo_k1=$OUT/star_dpo_k1" "star_rationalizer_k1=$OUT/star_rationalizer_k1" --output "$OUT/comparison_cot.md"
  # master-key negatives (Master-RM): every judge and its twin retrained with negatives, then each twin paired
  rewardkit compare "genrm_k1=$OUT/genrm_k1" "genrm_mk_k1=$OUT/genrm_mk_k1" "star_sft_k1=$OUT/star_sft_k1" \
    "star_sft_mk_k1=$OUT/star_sft_mk_k1" "star_dpo_k1=$OUT/star_dpo_k1" "star_dpo_mk_k1=$OUT/star_dpo_mk_k1" \
    --output "$OUT/comparison_master_keys.md"
  for judge in genrm star_sft star_dpo; do
    rewardkit compare "${judge}_k1=$OUT/${judge}_k1" "${judge}_mk_k1=$OUT/${judge}_mk_k1" --output "$OUT/mk_$judge.md"
    { echo; sed -n '/Δ Mean/,$p' "$OUT/mk_$judge.md"; } >> "$OUT/comparison_master_keys.md"
  done
  : > "$OUT/comparison_votes.md"
  for judge in zero_shot_sample genrm star_sft star_dpo; do
    rewardkit compare "${judge}_k1=$OUT/${judge}_k1" "${judge}_k8=$OUT/${judge}_k8" --output "$OUT/votes_$judge.md"
    { echo; sed -n '/Δ Mean/,$p' "$OUT/votes_$judge.md"; } >> "$OUT/comparison_votes.md"
  done
}

export MALLOC_ARENA_MAX=2  # fewer glibc arenas: two training jobs side by side stay within 24 GiB
case "${1:-all}" in
  a) OMP_NUM_THREADS=1 lane_a ;;
  b) OMP_NUM_THREADS=1 lane_b ;;
  last) last ;;
  all) OMP_NUM_THREADS=1 lane_a & a=$!; OMP_NUM_THREADS=1 lane_b & b=$!; wait $a; wait $b; last ;;
  *) echo "usage: $0 [a|b|last|all]" >&2; exit 2 ;;
esac
