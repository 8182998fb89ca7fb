#!/usr/bin/env bash
# The ν-Flows comparison of analyses/neutrino/README.md on samples no model saw: 5 000 tt̄ events of the default
# detector and 3 000 of the degraded one, made with seeds the project never used, and the CMS Open Data NanoAOD file;
# then the target table (targets.py → targets.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/neutrino}
out=${OUT:-runs/neutrino_eval}
mkdir -p "$out"
$hepgen generate ttbar-ljets --events 5000 --seed 2026 --jobs 2 --no-progress --out "$out/test_default.root"
$hepgen generate ttbar-ljets --events 3000 --seed 2027 --jobs 2 --detector degraded --no-progress --out "$out/test_degraded.root"
for sample in default degraded; do
  files=()
  for model in flow flow_mt flow_mix; do
    [[ -f "$runs/$model/model.pt" ]] || continue
    $hepgen predict neutrino --run "$runs/$model" --data "$out/test_$sample.root" --samples 256 --seed 1 --no-progress --overwrite \
        --out "$out/$sample/$model.root"
    files+=("$out/$sample/$model.root")
  done
  $hepgen predict neutrino --method analytic --data "$out/test_$sample.root" --no-progress --overwrite --out "$out/$sample/analytic.root"
  $hepgen validate neutrino --pred "${files[@]}" "$out/$sample/analytic.root" --out "analyses/neutrino/validation_$sample" \
      --overwrite --no-progress
done
nano=data/cms_opendata_ttbar_nanoaod.root
files=()
for model in flow flow_mix; do
  [[ -f "$runs/$model/model.pt" ]] || continue
  $hepgen predict neutrino --run "$runs/$model" --schema nanoaod --data "$nano" --samples 256 --seed 1 --no-progress --overwrite \
      --out "$out/cms/$model.root"
  files+=("$out/cms/$model.root")
done
$hepgen predict neutrino --method analytic --schema nanoaod --data "$nano" --no-progress --overwrite --out "$out/cms/analytic.root"
$hepgen validate neutrino --pred "${files[@]}" "$out/cms/analytic.root" --out analyses/neutrino/validation_cms --overwrite \
    --no-progress
# the target table of analyses/neutrino/README.md, for the shipped model (flow_mix) and, below, for the other two
{
  .venv/bin/python analyses/neutrino/targets.py --method "flow (flow_mix)" --mixture "flow (flow_mix)"
  for model in flow "flow (flow_mt)"; do
    echo
    .venv/bin/python analyses/neutrino/targets.py --method "$model" --mixture "$model"
  done
} | tee analyses/neutrino/targets.md
