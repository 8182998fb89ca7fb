#!/usr/bin/env bash
# The μ scan of the shipped VIPR model against the observed jets and SoftDrop (README.md, "μ scan").
# About 40 minutes on a 2-core CPU (VIPR sampling ≈ 80 %, SoftDrop grid and substructure the rest).
set -euo pipefail
cd "$(dirname "$0")/../.."
hepgen=${HEPGEN:-.venv/bin/hepgen}
mkdir -p runs/muscan
for mu in 20 60 100 140 200; do
  $hepgen predict pileup --run analyses/pileup/model --jets data/top_jets_test.root --pileup data/minbias_pool.root \
      --mu "$mu" --samples 8 --steps 50 --seed "$mu" --no-progress --out "runs/muscan/vipr_mu$mu.root"
done
$hepgen validate pileup --pred runs/muscan/vipr_mu*.root --out analyses/pileup/validation --no-progress
