#!/usr/bin/env bash
# The pileup study of analyses/pileup/README.md: every method on the 200 independent test jets with the held-out
# pool (data/minbias_pool_test.root), at μ = 20, 60, 100, 140, 200, and at μ = 60 with 10 % of the observed
# particles lost; then `hepgen validate pileup` into analyses/pileup/validation/.
#
#   analyses/pileup/evaluate.sh      # ≈ 1 h on a 2-core CPU (VIPR sampling ≈ 2/3 of it); resumes if interrupted
#   ONLY=vipr analyses/pileup/evaluate.sh   # only these predictions (vipr, puppiml, observed), no validation
#
# Models (analyses/pileup/train.sh): VIPR on CHS input (model/, the default), VIPR on every observed particle
# (model_observed/; at μ = OBSERVED_MU, default 60: ≈ 12 min per point) and the per-particle classifier
# (classifier/). Each prediction of a point uses
# the same jets, pool, μ and seed, so every method sees the same observed jets.
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
out=${OUT:-runs/pileup_eval}
samples=${SAMPLES:-8}
observed_model=${OBSERVED_MODEL:-analyses/pileup/model_observed}
steps=${STEPS:-50}
mkdir -p "$out"
points=("20 0" "60 0" "100 0" "140 0" "200 0" "60 0.1")
for point in "${points[@]}"; do
  read -r mu lost <<<"$point"
  common=(--jets data/top_jets_test.root --pileup data/minbias_pool_test.root --mu "$mu" --inefficiency "$lost"
          --seed "$mu" --no-progress)
  tag="mu${mu}_lost${lost}"
  [[ "${ONLY:-vipr}" == *vipr* ]] && once "$out/vipr_$tag.root" \
      $hepgen predict pileup --run analyses/pileup/model "${common[@]}" --samples "$samples" --steps "$steps"
  [[ "${ONLY:-puppiml}" == *puppiml* ]] && once "$out/puppiml_$tag.root" \
      $hepgen predict puppiml --run analyses/pileup/classifier "${common[@]}"
  if [[ "${ONLY:-observed}" == *observed* && -f "$observed_model/model.pt" && "$lost" == 0 && " ${OBSERVED_MU:-60} " == *" $mu "* ]]; then
    once "$out/vipr_observed_$tag.root" \
        $hepgen predict pileup --run "$observed_model" "${common[@]}" --samples "$samples" --steps "$steps"
  fi
done
[[ -n "${ONLY:-}" ]] && exit 0  # a partial run: validate once everything is predicted
$hepgen validate pileup --pred "$out"/*.root --out analyses/pileup/validation --no-progress --overwrite
