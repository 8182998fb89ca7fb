#!/usr/bin/env bash
# The dilepton samples of analyses/dineutrino/README.md: 100 000 selected tt̄ → bℓ⁺ν b̄ℓ⁻ν̄ events for training
# (seed 200, 8 shards of one run: a finished shard is not redone, the shards together are the unsharded run) and
# 10 000 independent test events (seed 201). ≈ 40 selected events/s on 2 free cores (Pythia dominates; the
# selection keeps ≈ 29 % of the events with both W forced to eν/μν): ≈ 45 min for the training set, 4 min for the test.
#
#   analyses/dineutrino/make_samples.sh
#   EVENTS=20000 SHARDS=2 analyses/dineutrino/make_samples.sh   # a quick check
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
events=${EVENTS:-100000}
shards=${SHARDS:-8}
out=${OUT:-runs/ttbar_dilepton}
mkdir -p "$out"
start=$(date +%s)
[[ -f "$out/test.root" ]] || $hepgen generate ttbar-dilepton --events "${TEST_EVENTS:-10000}" --seed 201 --jobs "${JOBS:-2}" \
    --no-progress --out "$out/test.root"
for ((i = 0; i < shards; i++)); do
  [[ -f "$out/part$i.root" ]] && { echo "$out/part$i.root: done"; continue; }
  $hepgen generate ttbar-dilepton --events "$events" --seed "${SEED:-200}" --jobs "${JOBS:-2}" --shard "$i/$shards" \
      --no-progress --out "$out/part$i.root"
done
echo "generated $events training and ${TEST_EVENTS:-10000} test events in $(( $(date +%s) - start )) s into $out/"
