#!/usr/bin/env bash
# The large ν-Flows training set: 200 000 selected tt̄ → ℓ+jets events (default detector), made as 8 shards of
# one run (seed 100) so that a long generation can be resumed: a finished shard is not redone, and the shards
# together are exactly the unsharded run (hepgen's block seeding). Train on the glob runs/ttbar200k/part*.root.
# (Part 6 was made as shards 6 and 14 of 16 into runs/ttbar200k_part6 — the same events — when a session ended
# mid-shard; train.sh reads those.)
# The degraded-detector set for the detector-mixture training (25 000 events in 4 shards of ≈ 9 min):
#   DETECTOR=degraded EVENTS=25000 SHARDS=4 SEED=101 OUT=runs/ttbar_degraded analyses/neutrino/make_training_set.sh
#
#   analyses/neutrino/make_training_set.sh            # ≈ 2.8 h on a 2-core CPU (Pythia ≈ 80 % of it)
#   EVENTS=20000 SHARDS=2 analyses/neutrino/make_training_set.sh   # a quick check
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
events=${EVENTS:-200000}
shards=${SHARDS:-8}
out=${OUT:-runs/ttbar200k}
mkdir -p "$out"
start=$(date +%s)
for ((i = 0; i < shards; i++)); do
  [[ -f "$out/part$i.root" ]] && { echo "$out/part$i.root: done"; continue; }
  $hepgen generate ttbar-ljets --events "$events" --seed "${SEED:-100}" --detector "${DETECTOR:-default}" \
      --jobs "${JOBS:-2}" --shard "$i/$shards" --no-progress --out "$out/part$i.root"
done
echo "generated $events selected events in $(( $(date +%s) - start )) s into $out/"
