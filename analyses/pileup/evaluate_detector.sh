#!/usr/bin/env bash
# The first numbers behind the CMS-like constituent detector (tracks with efficiency, resolution and dz association,
# vertices, calorimeter towers; jets reclustered in the event with the hard event around them): VIPR (model_cms/)
# and the classifier (classifier_cms/), trained by analyses/pileup/train.sh (vipr_chs_cms, puppiml_chs_cms), and
# every baseline on the 200 independent test jets with the held-out pool at μ = 60 and 200; then
# `hepgen validate pileup` into analyses/pileup/validation_cms/, where the truth is the hard scatter through the
# same detector (target a). Then the same jets against the particle-level jet (target b: pileup removal and
# unfolding together): VIPR trained for it (model_cms_particle/, vipr_chs_cms_particle), the classifier and every
# baseline → analyses/pileup/validation_cms_particle/.
#
#   analyses/pileup/evaluate_detector.sh    # ≈ 6 min on a 2-core CPU (VIPR sampling most of it); resumes
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
out=${OUT:-runs/pileup_eval_cms}
samples=${SAMPLES:-8}
steps=${STEPS:-50}
mkdir -p "$out/particle"
for mu in 60 200; do
  common=(--jets data/top_jets_test.root --pileup data/minbias_pool_test.root --mu "$mu" --seed "$mu"
          --detector cms --recluster --no-progress)
  once "$out/puppiml_mu$mu.root" $hepgen predict puppiml --run analyses/pileup/classifier_cms "${common[@]}"
  once "$out/vipr_mu$mu.root" \
      $hepgen predict pileup --run analyses/pileup/model_cms "${common[@]}" --samples "$samples" --steps "$steps"
  once "$out/particle/puppiml_mu$mu.root" \
      $hepgen predict puppiml --run analyses/pileup/classifier_cms "${common[@]}" --target particle
  once "$out/particle/vipr_mu$mu.root" $hepgen predict pileup --run analyses/pileup/model_cms_particle \
      "${common[@]}" --target particle --samples "$samples" --steps "$steps"
done
$hepgen validate pileup --pred "$out"/*.root --out analyses/pileup/validation_cms --no-progress --overwrite
$hepgen validate pileup --pred "$out"/particle/*.root --out analyses/pileup/validation_cms_particle --no-progress \
    --overwrite
# the figure beside the README's tables: bias and resolution of the jet mass against μ in each world
.venv/bin/python analyses/pileup/study_figure.py --out analyses/pileup/mass_vs_mu_worlds \
    "detector level (a)=analyses/pileup/validation_cms/metrics.json" \
    "particle level (b)=analyses/pileup/validation_cms_particle/metrics.json" \
    "particle world=analyses/pileup/validation/metrics.json"
