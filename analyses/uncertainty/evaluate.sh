#!/usr/bin/env bash
# The domain-shift study (analyses/uncertainty/README.md): every model of train.sh on three domains — the default
# detector (5 000 test events, seed 2026), the degraded detector (3 000, seed 2027), another Pythia tune (ATLAS A14,
# 3 000, seed 2029) and CMS's own simulation (the Open Data NanoAOD file) — each as the aleatoric flow (flow_s1), the deep ensemble (flow_s1 … flow_s5), MC dropout
# (8 passes) and the Bayesian layer (8 weight draws), with the analytic W-mass solution beside them; `hepgen validate
# neutrino` per domain, then domain_shift.py (tables, figures, the verdicts). CPU: ≈ 5 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/uncertainty}
pred=${PRED:-runs/uncertainty_eval}
tests=${TESTS:-runs/neutrino_eval}
results=${RESULTS:-analyses/uncertainty}
declare -A data=([default]="$tests/test_default.root" [degraded]="$tests/test_degraded.root" [a14]="$tests/test_a14.root"
                 [cms]=data/cms_opendata_ttbar_nanoaod.root)
for domain in default degraded a14 cms; do
  schema=hepgen-ttbar
  [[ $domain == cms ]] && schema=nanoaod
  common=(--data "${data[$domain]}" --schema "$schema" --seed 1 --no-progress --overwrite)
  out=$pred/$domain
  $hepgen predict neutrino --run "$runs/flow_s1" --samples 250 "${common[@]}" --out "$out/aleatoric.root"
  $hepgen predict neutrino --run "$runs/flow_s1" --ensemble "$runs"/flow_s{2,3,4,5} --samples 250 "${common[@]}" \
      --out "$out/ensemble.root"
  $hepgen predict neutrino --run "$runs/dropout" --mc-dropout 8 --samples 256 "${common[@]}" --out "$out/mc_dropout.root"
  $hepgen predict neutrino --run "$runs/bayesian" --mc-dropout 8 --samples 256 "${common[@]}" --out "$out/bayesian.root"
  $hepgen predict neutrino --method analytic "${common[@]}" --out "$out/analytic.root"
  $hepgen validate neutrino --pred "$out"/{aleatoric,ensemble,mc_dropout,bayesian,analytic}.root \
      --out "$results/validation_$domain" --overwrite --no-progress
done
.venv/bin/python analyses/uncertainty/domain_shift.py --validation "$results" --predictions "$pred" --out "$results"
