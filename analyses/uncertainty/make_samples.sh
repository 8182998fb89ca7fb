#!/usr/bin/env bash
# The domain-shift study's samples (analyses/uncertainty/README.md): 50 000 training events of the default detector
# — shards 0–3 of 16 of the ν-Flows training run (seed 100; shard 0 is also analyses/neutrino/unfolding.sh's) — and
# the test events of analyses/neutrino/evaluate.sh: 5 000 default (seed 2026) and 3 000 degraded-detector events
# (seed 2027); and 3 000 default-detector events of another generator tune, ATLAS's A14 (Pythia's Tune:pp = 21, seed
# 2029). A finished file is not redone. CPU: ≈ 8 min per training shard and ≈ 5 min per test sample on 2
# free cores (Pythia dominates: ≈ 27 selected events/s).
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
train=${TRAIN:-runs/ttbar_ljets_unfolding}
tests=${TESTS:-runs/neutrino_eval}
mkdir -p "$train" "$tests"
for i in 0 1 2 3; do
  [[ -f "$train/train_shard${i}of16.root" ]] || $hepgen generate ttbar-ljets --events 200000 --seed 100 --jobs "${JOBS:-2}" \
      --shard "$i/16" --no-progress --out "$train/train_shard${i}of16.root"
done
[[ -f "$tests/test_default.root" ]] || $hepgen generate ttbar-ljets --events 5000 --seed 2026 --jobs "${JOBS:-2}" \
    --no-progress --out "$tests/test_default.root"
[[ -f "$tests/test_degraded.root" ]] || $hepgen generate ttbar-ljets --events 3000 --seed 2027 --jobs "${JOBS:-2}" \
    --detector degraded --no-progress --out "$tests/test_degraded.root"
[[ -f "$tests/test_a14.root" ]] || $hepgen generate ttbar-ljets --events 3000 --seed 2029 --jobs "${JOBS:-2}" \
    --pythia-set "Tune:pp = 21" --no-progress --out "$tests/test_a14.root"
