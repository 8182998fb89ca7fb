#!/usr/bin/env bash
# The dilepton flows of analyses/dineutrino/README.md on the large training set (make_samples.sh): 90 000 events
# trained, 10 000 for early stopping (the run's seeded split); 20 epochs at batch 512. Three models: `flow` (the basic
# inputs: leptons, jets, MET), `flow_constrained` (+ the ellipse method's solutions and Neutrino Weighting's best
# pair as tokens) and `flow_assignment` (constrained, with the jet-assignment head: the posterior's tt̄ observables
# marginalise over which jets are the b and the b̄; issue 28). Each resumes if interrupted; a finished run is
# skipped; ONLY=flow trains one. CPU: ≈ 13 min per model on 2 cores (+ 80 s of classical inputs for constrained).
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/dineutrino}
data=${DATA:-runs/ttbar_dilepton/part*.root}

train() {  # name inputs extra-args...
  local name=$1 inputs=$2
  shift 2
  # shellcheck disable=SC2086  # $data is a glob
  train_once "$name" "$runs/$name" $hepgen train dineutrino --data $data --inputs "$inputs" --accelerator cpu \
      --no-progress --max-epochs "${EPOCHS:-20}" --patience 4 --batch-size 512 --learning-rate 1e-3 "$@"
}

train flow basic
train flow_constrained constrained
train flow_assignment constrained --assignment
