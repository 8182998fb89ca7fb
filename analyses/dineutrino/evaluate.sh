#!/usr/bin/env bash
# The dilepton comparison of analyses/dineutrino/README.md on the independent test sample (make_samples.sh, seed 201):
# the flow (256 samples), the ellipse method and Neutrino Weighting; then the target table (targets.py → targets.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
run=${RUN:-runs/dineutrino/flow}
test=${TEST:-runs/ttbar_dilepton/test.root}
out=${OUT:-runs/dineutrino_eval}
mkdir -p "$out"
$hepgen predict dineutrino --run "$run" --data "$test" --samples 256 --seed 1 --no-progress --overwrite --out "$out/flow.root"
for method in ellipse weighting; do
  $hepgen predict dineutrino --model "$method" --data "$test" --no-progress --overwrite --out "$out/$method.root"
done
$hepgen validate dineutrino --pred "$out/flow.root" "$out/ellipse.root" "$out/weighting.root" \
    --out analyses/dineutrino/validation --overwrite --no-progress
.venv/bin/python analyses/dineutrino/targets.py | tee analyses/dineutrino/targets.md
