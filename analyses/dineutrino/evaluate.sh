#!/usr/bin/env bash
# The dilepton comparison of analyses/dineutrino/README.md on the independent test sample (make_samples.sh, seed 201):
# the two flows (256 samples), the ellipse method and Neutrino Weighting; the same on the degraded-detector test sample;
# then the target table (targets.py → targets.md) for each flow and sample.
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/dineutrino}
test=${TEST:-runs/ttbar_dilepton/test.root}
out=${OUT:-runs/dineutrino_eval}
mkdir -p "$out"
flows=()
for name in flow flow_constrained; do
  [[ -f "$runs/$name/model.pt" ]] || continue
  $hepgen predict dineutrino --run "$runs/$name" --data "$test" --samples 256 --seed 1 --no-progress --overwrite \
      --out "$out/$name.root"
  flows+=("$name")
done
for method in ellipse weighting; do
  $hepgen predict dineutrino --model "$method" --data "$test" --no-progress --overwrite --out "$out/$method.root"
done
files=()
for name in "${flows[@]}"; do files+=("$out/$name.root"); done
$hepgen validate dineutrino --pred "${files[@]}" "$out/ellipse.root" "$out/weighting.root" \
    --out analyses/dineutrino/validation --overwrite --no-progress
# the same on another detector (the flows were trained on the default one)
degraded=${TEST_DEGRADED:-runs/ttbar_dilepton/test_degraded.root}
if [[ -f "$degraded" ]]; then
  mkdir -p "$out/degraded"
  for name in "${flows[@]}"; do
    $hepgen predict dineutrino --run "$runs/$name" --data "$degraded" --samples 256 --seed 1 --no-progress --overwrite \
        --out "$out/degraded/$name.root"
  done
  for method in ellipse weighting; do
    $hepgen predict dineutrino --model "$method" --data "$degraded" --no-progress --overwrite --out "$out/degraded/$method.root"
  done
  files=()
  for name in "${flows[@]}"; do files+=("$out/degraded/$name.root"); done
  $hepgen validate dineutrino --pred "${files[@]}" "$out/degraded/ellipse.root" "$out/degraded/weighting.root" \
      --out analyses/dineutrino/validation_degraded --overwrite --no-progress --label "Simulation, degraded detector"
fi
{
  for name in "${flows[@]}"; do
    method=flow  # validate names the first file of a method by the method, the others by method (file name)
    [[ "$name" != "${flows[0]}" ]] && method="flow ($name)"
    .venv/bin/python analyses/dineutrino/targets.py --method "$method"
    echo
    if [[ -f analyses/dineutrino/validation_degraded/metrics.json ]]; then
      .venv/bin/python analyses/dineutrino/targets.py --validation analyses/dineutrino/validation_degraded --method "$method"
      echo
    fi
  done
} | tee analyses/dineutrino/targets.md
