#!/usr/bin/env bash
# Reproduce the neutrino-regression comparison (flow, mdn, gauss, mse, analytic) on the shipped tt̄ sample.
# Run from the repository root after `make install`. About 20 minutes on a 2-core CPU; pass
# ACCELERATOR=gpu to train on a GPU. Outputs: runs/neutrino_small/<model>/ and results/neutrino-comparison/ (the
# large-sample models of train.sh are in runs/neutrino/).
set -euo pipefail
DATA=${DATA:-data/ttbar_ljets.root}
TEST=${TEST:-data/ttbar_ljets_test.root}   # an independent test sample (other seed)
ACCELERATOR=${ACCELERATOR:-cpu}
EPOCHS=${EPOCHS:-40}
HEPGEN=${HEPGEN:-.venv/bin/hepgen}
INPUTS=${INPUTS:-basic}   # the input set of the table in README.md (INPUTS=constrained: the current default)
for model in flow mdn gauss mse; do
  if [ ! -f runs/neutrino_small/$model/model.pt ]; then
    $HEPGEN train neutrino --data "$DATA" --head $model --inputs "$INPUTS" --out runs/neutrino_small/$model \
      --max-epochs $EPOCHS --patience 6 --accelerator $ACCELERATOR --no-progress
  fi
done
mkdir -p results/neutrino-comparison/predictions
EVAL=$TEST
for model in flow mdn gauss mse; do
  $HEPGEN predict neutrino --run runs/neutrino_small/$model --data "$EVAL" --samples 256 \
    --out results/neutrino-comparison/predictions/$model.root
done
$HEPGEN predict neutrino --method analytic --data "$EVAL" --out results/neutrino-comparison/predictions/analytic.root
$HEPGEN validate neutrino --pred results/neutrino-comparison/predictions/*.root --out results/neutrino-comparison
