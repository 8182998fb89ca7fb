#!/usr/bin/env bash
# The final numbers of the pileup study at scale (issue 27): every method on the test jets of each type (top, W, QCD;
# 3 000 each, runs/pileup_samples/test_*.root) with the held-out test pool, at μ = 60 and 200 (POINTS), every
# choice (SoftKiller, SoftDrop and PUPPI parameters, the classifier's threshold) made on the validation top jets
# with the validation pool (--tune-pred); then `hepgen validate pileup` per jet type into
# analyses/pileup/validation_study/<type>/. The sampler settings come from the validation jets too
# (nfe_curve.py --split all --choose on val_top.root; STEPS and SAMPLER here).
#
#   analyses/pileup/evaluate_at_scale.sh
#
# A quick check of the pipeline must not read the test files: point SAMPLES_DIR to a folder whose test_*.root and
# pools are links to the validation files, e.g.
#   mkdir -p /tmp/q && for t in top w qcd; do ln -sf $PWD/runs/pileup_samples/val_top.root /tmp/q/test_$t.root; done
#   ln -sf $PWD/runs/pileup_samples/{val_top,pool_val}.root /tmp/q/ && ln -sf $PWD/runs/pileup_samples/pool_val.root \
#       /tmp/q/pool_test.root
#   SAMPLES_DIR=/tmp/q VIPR=analyses/pileup/model_cms CLASSIFIER=analyses/pileup/classifier_cms MAX_EVENTS=40 \
#       POINTS=60 OUT=/tmp/q/pred REPORT=/tmp/q/validation analyses/pileup/evaluate_at_scale.sh
#
# CPU: VIPR ≈ 1.5 min per 200 jets × 8 samples × 50 Heun steps at μ = 60 on 2 cores, so ≈ 25 min per 3 000 test
# jets and point; the classifier ≈ 1 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/pileup/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
samples_dir=${SAMPLES_DIR:-runs/pileup_samples}
vipr=${VIPR:-runs/pileup_study/vipr_edm_s1}
classifier=${CLASSIFIER:-runs/pileup_study/puppiml_s1}
out=${OUT:-runs/pileup_eval_study}
report=${REPORT:-analyses/pileup/validation_study}
limit=()
[[ -n "${MAX_EVENTS:-}" ]] && limit=(--max-events "$MAX_EVENTS")
mkdir -p "$out"
predict() {  # name jets pool mu
  local name=$1 jets=$2 pool=$3 mu=$4
  local common=(--jets "$jets" --pileup "$pool" --mu "$mu" --seed "$mu" --detector cms --recluster --no-progress
                "${limit[@]}")
  once "$out/${name}_puppiml_mu$mu.root" $hepgen predict puppiml --run "$classifier" "${common[@]}"
  once "$out/${name}_vipr_mu$mu.root" $hepgen predict pileup --run "$vipr" "${common[@]}" \
      --samples "${SAMPLES:-8}" --steps "${STEPS:-50}" --sampler "${SAMPLER:-heun}"
}
for mu in ${POINTS:-60 200}; do
  predict val_top "$samples_dir/val_top.root" "$samples_dir/pool_val.root" "$mu"
  for type in top w qcd; do
    predict "test_$type" "$samples_dir/test_$type.root" "$samples_dir/pool_test.root" "$mu"
  done
done
for type in top w qcd; do
  $hepgen validate pileup --pred "$out"/test_"$type"_*.root --tune-pred "$out"/val_top_*.root \
      --out "$report/$type" --no-progress --overwrite
done
