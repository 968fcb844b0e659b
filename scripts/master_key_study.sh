#!/usr/bin/env bash
# Issue 17 study: does the new default recipe stop paying for a lone ":" without losing accuracy, and which part does it?
# Trains the first default (configs/bt_default_v1.yaml), the first round of issue 17 (configs/bt_default_v2.yaml),
# the current default (configs/bt_default.yaml: round 4 of issue 17 since 2026-12-06) and three ablations on the first round's data (neither change,
# keep-end truncation alone, master-key negatives alone) and evaluates each on the dev file with the master-key probe (training keys and held-out keys); then the direct GenRM judge of configs/genrm_master_rm.yaml
# (4x the data of configs/genrm.yaml) without and with its master-key negatives, evaluated on a stratified slice
# (GENRM_PER_CATEGORY pairs per section, default 150). Comparisons are paired per row against the first model of
# each group (rewardkit compare): comparison_bt.md against the first default, comparison_ablation.md against
# "neither", comparison_genrm.md GenRM with against without negatives.
#   bash scripts/master_key_study.sh [OUT [MODEL...]]   # OUT: runs/master_key_study; MODEL: a subset of the names
#                                                       # below (e.g. to run models side by side on one GPU)
# Finished steps are skipped; the comparisons are written once all reports of a group exist. Where it ran and how
# long each step took (OUT/timings.txt): docs/RESULTS.md ("Master keys and truncation").
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/master_key_study}"
shift || true
dev="${DEV_FILE:-../shared/data/eval/rewardbench_like_dev.jsonl}"
python="${PYTHON:-.venv/bin/python}"
genrm_per_category="${GENRM_PER_CATEGORY:-150}"
read -r -a train_overrides <<<"${TRAIN_OVERRIDES:-}"  # e.g. "--set max_steps=2" for a smoke run
bt_models=(bt_default_v1 bt_ablation_neither bt_ablation_truncation bt_ablation_negatives bt_default_v2 bt_default)
genrm_models=(genrm genrm_mk)
mkdir -p "$out"

rewardkit() { "$python" -m rewardkit "$@"; }
timed() {
  local start=$SECONDS
  "$@"
  echo "$((SECONDS - start)) s: $*" >>"$out/timings.txt"
}
train_and_eval() {
  local name=$1
  case "$name" in
    bt_*)
      [ -f "$out/$name/model/rewardkit.json" ] ||
        timed rewardkit train bt --config "configs/$name.yaml" --output "$out/$name/model" \
          "${train_overrides[@]}"
      [ -f "$out/$name/report/report.json" ] ||
        timed rewardkit eval --model "$out/$name/model" --data "$dev" --report "$out/$name/report" --no-progress
      ;;
    genrm | genrm_mk)
      local overrides=()
      [ "$name" = genrm ] && overrides=(--set master_key_negatives.fraction=0.0)
      [ -f "$out/$name/model/rewardkit.json" ] ||
        timed rewardkit train genrm --config configs/genrm_master_rm.yaml --output "$out/$name/model" "${overrides[@]}" \
          "${train_overrides[@]}"
      [ -f "$out/$name/report/report.json" ] ||
        timed rewardkit eval --model "$out/$name/model" --data "$dev" --per-category "$genrm_per_category" \
          --report "$out/$name/report" --no-progress
      ;;
    *) echo "unknown model $name (expected one of ${bt_models[*]} ${genrm_models[*]})" >&2 && exit 2 ;;
  esac
}
compare_group() {  # compare_group FILE NAME... : once every report exists, each against the first, paired per row
  local file=$1 args=()
  shift
  for name in "$@"; do
    [ -f "$out/$name/report/report.json" ] || return 0
    args+=("$name=$out/$name/report")
  done
  rewardkit compare "${args[@]}" >"$out/$file"
}

models=("$@")
[ ${#models[@]} -gt 0 ] || models=("${bt_models[@]}" "${genrm_models[@]}")
for name in "${models[@]}"; do train_and_eval "$name"; done
compare_group comparison_bt.md bt_default_v1 bt_default_v2 bt_default
compare_group comparison_ablation.md bt_ablation_neither bt_ablation_truncation bt_ablation_negatives bt_default_v2
compare_group comparison_genrm.md "${genrm_models[@]}"
echo "Study in $out (timings: $out/timings.txt)"
