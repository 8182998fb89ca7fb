#!/usr/bin/env bash
# The ν-Flows models of analyses/neutrino/README.md, on the large training set (make_training_set.sh):
#
#   flow        the flow on the default detector (200 000 events)
#   flow_mt     the same with the jet-assignment head, trained jointly with learned uncertainty weights
#   flow_mix    the flow on a mixture of the default and the degraded detector (detector variations)
#
# Each run resumes if interrupted; a finished run is skipped. ONLY=flow trains one.
# 20 epochs of 180 000 events at batch 512: ≈ 20 min per model on 2 free cores (0.17 s per step; the 100 000-event
# exploration of README.md took 12 min and its validation NLL was still falling at epoch 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/neutrino}
# part 6 of 8 was made as two halves (shards 6 and 14 of 16, whose union is shard 6 of 8) in runs/ttbar200k_part6
default=${DEFAULT:-runs/ttbar200k/part[0-57].root runs/ttbar200k_part6/shard*of16.root}
degraded=${DEGRADED:-runs/ttbar_degraded/part*.root}
common=(--head flow --accelerator cpu --no-progress --max-epochs "${EPOCHS:-20}" --patience 4 --batch-size 512
        --learning-rate 1e-3)

train() {  # name data... -- extra...
  local name=$1
  shift
  [[ -n "${ONLY:-}" && "$ONLY" != "$name" ]] && return 0
  [[ -f "$runs/$name/model.pt" ]] && { echo "$name: trained"; return 0; }
  local resume=()
  [[ -f "$runs/$name/checkpoints/last.ckpt" ]] && resume=(--resume)
  echo "$name: training ($(date -u +%FT%TZ))"
  $hepgen train neutrino "${common[@]}" --out "$runs/$name" "${resume[@]}" "$@"
}

train flow --data $default
train flow_mt --data $default --assignment
train flow_mix --data $default $degraded
