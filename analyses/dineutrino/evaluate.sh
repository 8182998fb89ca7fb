#!/usr/bin/env bash
# The dilepton comparison of analyses/dineutrino/README.md on the independent test sample (make_samples.sh, seed 201):
# the two flows (256 samples), the ellipse method and Neutrino Weighting; the same on the degraded-detector test sample;
# then the target table (targets.py → targets.md) for each flow and sample.
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/dineutrino}
out=${OUT:-runs/dineutrino_eval}
flows=()
for name in flow flow_constrained; do
  [[ -f "$runs/$name/model.pt" ]] && flows+=("$name")
done

compare() {  # test-file prediction-folder validation-folder label: every flow and classical method, then validate
  local test=$1 pred=$2 validation=$3 label=$4 files=()
  mkdir -p "$pred"
  for name in "${flows[@]}"; do
    $hepgen predict dineutrino --run "$runs/$name" --data "$test" --samples 256 --seed 1 --no-progress --overwrite \
        --out "$pred/$name.root"
    files+=("$pred/$name.root")
  done
  for method in ellipse weighting; do
    $hepgen predict dineutrino --method "$method" --data "$test" --no-progress --overwrite --out "$pred/$method.root"
    files+=("$pred/$method.root")
  done
  $hepgen validate dineutrino --pred "${files[@]}" --out "$validation" --overwrite --no-progress --label "$label"
}

compare "${TEST:-runs/ttbar_dilepton/test.root}" "$out" analyses/dineutrino/validation "Simulation"
# the same on another detector (the flows were trained on the default one)
degraded=${TEST_DEGRADED:-runs/ttbar_dilepton/test_degraded.root}
[[ -f "$degraded" ]] && compare "$degraded" "$out/degraded" analyses/dineutrino/validation_degraded \
    "Simulation, degraded detector"
{
  for name in "${flows[@]}"; do
    method=flow  # validate names the first file of a method by the method, the others by method (file name)
    [[ "$name" != "${flows[0]}" ]] && method="flow ($name)"
    for validation in analyses/dineutrino/validation analyses/dineutrino/validation_degraded; do
      [[ -f "$validation/metrics.json" ]] || continue
      .venv/bin/python analyses/dineutrino/targets.py --validation "$validation" --method "$method"
      echo
    done
  done
} | tee analyses/dineutrino/targets.md
