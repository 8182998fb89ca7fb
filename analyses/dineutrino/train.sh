#!/usr/bin/env bash
# The dilepton flow of analyses/dineutrino/README.md on the large training set (make_samples.sh): 90 000 events trained,
# 10 000 for early stopping; 20 epochs at batch 512. Resumes if interrupted; a finished run is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
out=${OUT:-runs/dineutrino/flow}
[[ -f "$out/model.pt" ]] && { echo "$out: trained"; exit 0; }
resume=()
[[ -f "$out/checkpoints/last.ckpt" ]] && resume=(--resume)
$hepgen train dineutrino --data ${DATA:-runs/ttbar_dilepton/part*.root} --accelerator cpu --no-progress \
    --max-epochs "${EPOCHS:-20}" --patience 4 --batch-size 512 --learning-rate 1e-3 --out "$out" "${resume[@]}"
