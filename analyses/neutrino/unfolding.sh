#!/usr/bin/env bash
# The unfolded ℓ+jets m(tt̄) precision of analyses/neutrino/README.md (issue 28, item 6): each method's response from
# 12 500 of the flow's own training events (seed 100, shard 0 of 16 — a subset of runs/ttbar200k/part0.root, shard
# 0 of 8, by hepgen's round-robin blocks), its D'Agostini iterations on 4 000 validation events (seed 2028, used for
# nothing else), the precision on the 5 000 test events of evaluate.sh (seed 2026). The shipped flow (flow_mix) and
# the analytic W-mass solution. CPU on 2 cores: ≈ 6 min of generation, ≈ 2 min of prediction, ≈ 1 min of unfolding.
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
model=${MODEL:-analyses/neutrino/model}
samples=${SAMPLES:-runs/ttbar_ljets_unfolding}
pred=${PRED:-runs/neutrino_unfolding}
test_events=${TEST_EVENTS:-runs/neutrino_eval/test_default.root}
mkdir -p "$samples"
[[ -f "$samples/train_shard0of16.root" ]] || $hepgen generate ttbar-ljets --events 200000 --seed 100 --jobs 2 --shard 0/16 \
    --no-progress --out "$samples/train_shard0of16.root"
[[ -f "$samples/validation.root" ]] || $hepgen generate ttbar-ljets --events 4000 --seed 2028 --jobs 2 --no-progress \
    --out "$samples/validation.root"
[[ -f "$test_events" ]] || $hepgen generate ttbar-ljets --events 5000 --seed 2026 --jobs 2 --no-progress --out "$test_events"
for split in train validation test; do
  case $split in
    train) data=$samples/train_shard0of16.root ;;
    validation) data=$samples/validation.root ;;
    test) data=$test_events ;;
  esac
  $hepgen predict neutrino --run "$model" --data "$data" --samples 256 --seed 1 --no-progress --overwrite \
      --out "$pred/$split/flow.root"
  $hepgen predict neutrino --method analytic --data "$data" --no-progress --overwrite --out "$pred/$split/analytic.root"
done
.venv/bin/python analyses/neutrino/unfolded_precision.py --train "$pred/train" --validation "$pred/validation" \
    --test "$pred/test" --out analyses/neutrino/unfolding
