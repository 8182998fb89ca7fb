#!/usr/bin/env bash
# The dilepton comparison of analyses/dineutrino/README.md on the independent test sample (make_samples.sh, seed 201):
# the flows (256 samples), the smeared kinematic reconstruction and Neutrino Weighting with the settings chosen on
# the validation events (tune_classical.py → classical_choice.json), and the ellipse method; the same on the
# degraded-detector test sample; the target table (targets.py → targets.md) for each flow and sample; and the
# unfolded precision (unfolded_precision.py → unfolding/): every method also predicts the first TRAIN_EVENTS (20 000)
# training events (its response matrix) and the validation events (its regularisation).
#
# CPU (2 cores): the flows ≈ 3.5 ms per event at 256 samples, kinreco ≈ 5 ms, Neutrino Weighting ≈ 0.7 ms: ≈ 25 min
# for the three samples of every method; the unfolding ≈ 5 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/dineutrino}
samples=${SAMPLES:-runs/ttbar_dilepton}
out=${OUT:-runs/dineutrino_eval}
templates=${TEMPLATES:-$samples/part0.root}
flows=()
for name in flow flow_constrained flow_assignment; do
  [[ -f "$runs/$name/model.pt" ]] && flows+=("$name")
done
read -r -a weighting <<< "$(.venv/bin/python analyses/dineutrino/tune_classical.py --flags weighting)"
read -r -a kinreco <<< "$(.venv/bin/python analyses/dineutrino/tune_classical.py --flags kinreco)"

predict_all() {  # events prediction-folder [max-events]: every flow and classical method
  local events=$1 pred=$2 limit=()
  [[ -n "${3:-}" ]] && limit=(--max-events "$3")
  mkdir -p "$pred"
  for name in "${flows[@]}"; do
    [[ -f "$pred/$name.root" ]] || $hepgen predict dineutrino --run "$runs/$name" --data "$events" --samples 256 \
        --seed 1 --no-progress --out "$pred/$name.root" "${limit[@]}"
  done
  [[ -f "$pred/ellipse.root" ]] || $hepgen predict dineutrino --method ellipse --data "$events" --no-progress \
      --out "$pred/ellipse.root" "${limit[@]}"
  [[ -f "$pred/weighting.root" ]] || $hepgen predict dineutrino --method weighting "${weighting[@]}" \
      --data "$events" --no-progress --out "$pred/weighting.root" "${limit[@]}"
  [[ -f "$pred/kinreco.root" ]] || $hepgen predict dineutrino --method kinreco --templates "$templates" \
      "${kinreco[@]}" --data "$events" --no-progress --out "$pred/kinreco.root" "${limit[@]}"
}

compare() {  # test-file prediction-folder validation-folder label
  predict_all "$1" "$2"
  $hepgen validate dineutrino --pred "$2"/*.root --out "$3" --overwrite --no-progress --label "$4"
}

compare "${TEST:-$samples/test.root}" "$out" analyses/dineutrino/validation "Simulation"
# the same on another detector (the flows were trained on the default one)
degraded=${TEST_DEGRADED:-$samples/test_degraded.root}
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
# the unfolded precision: responses from training events, regularisation from the validation events
predict_all "$templates" "$out/train" "${TRAIN_EVENTS:-20000}"
predict_all "$samples/validation.root" "$out/validation"
.venv/bin/python analyses/dineutrino/unfolded_precision.py --train "$out/train" --validation "$out/validation" \
    --test "$out" --out analyses/dineutrino/unfolding
