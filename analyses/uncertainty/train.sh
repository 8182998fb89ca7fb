#!/usr/bin/env bash
# The models of the domain-shift study (analyses/uncertainty/README.md), all on the same 50 000 default-detector
# events (make_samples.sh), the ν-Flows network of analyses/neutrino (constrained inputs, 64 wide, 3 blocks, 4 spline
# transforms), batch 512, ≤ 15 epochs with early stopping (patience 4) on the run's seeded 10 % split:
#   flow_s1 … flow_s5   the aleatoric-only flow with seeds 1–5 (flow_s1 alone is "aleatoric"; all five the ensemble)
#   dropout             dropout 0.1 in the encoder and on its context (MC dropout at prediction)
#   bayesian            a Bayes-by-backprop last layer of the encoder (prior N(0, 1/64); KL / training events)
# Each resumes if interrupted; a finished run is skipped; ONLY=name trains one. CPU: ≈ 6 min per model on 2 free
# cores (50 000 events × ≤ 15 epochs).
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/uncertainty}
data=${DATA:-runs/ttbar_ljets_unfolding/train_shard[0-3]of16.root}

train() {  # name seed extra-args...
  local name=$1 seed=$2
  shift 2
  # shellcheck disable=SC2086  # $data is a glob
  train_once "$name" "$runs/$name" $hepgen train neutrino --data $data --inputs constrained --head flow --seed "$seed" \
      --accelerator cpu --no-progress --max-epochs "${EPOCHS:-15}" --patience 4 --batch-size 512 --learning-rate 1e-3 "$@"
}

for seed in 1 2 3 4 5; do
  train "flow_s$seed" "$seed"
done
train dropout 1 --dropout 0.1
train bayesian 1 --bayesian
