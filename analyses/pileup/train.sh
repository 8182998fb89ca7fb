#!/usr/bin/env bash
# The pileup models of analyses/pileup/README.md, trained on the shipped top jets and the training pool
# (data/minbias_pool.root; every evaluation uses data/minbias_pool_test.root, which no model saw).
# Each run resumes if interrupted (--resume from its last checkpoint); a finished run is skipped.
#
#   analyses/pileup/train.sh            # VIPR on CHS input, the classifier, VIPR on all observed particles,
#                                       # VIPR with flow matching (model_fm), the few-step student (model_student)
#   ONLY=vipr_chs analyses/pileup/train.sh
#   ONLY=vipr_chs_cms analyses/pileup/train.sh   # the detector-world models (puppiml_chs_cms, vipr_chs_cms,
#                                                # vipr_chs_cms_particle)
#
# The epochs are those of the shipped models (README: CPU budget): VIPR 16 (≈ 2.5 min each on 2 cores), the
# classifier 3, VIPR on observed input 2 (EPOCHS_VIPR, EPOCHS_CLASSIFIER, EPOCHS_OBSERVED). Export a run into
# the shipped folders with `cp runs/pileup/vipr_chs/{model.pt,config.yaml} analyses/pileup/model/` (and
# puppiml_chs → analyses/pileup/classifier/, vipr_chs_fm → model_fm/, vipr_chs_student → model_student/).
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/pileup}
common=(--jets data/top_jets.root --pileup data/minbias_pool.root --inefficiencies 0 0.1 --accelerator cpu --no-progress)

train() {  # name task epochs extra-args...
  local name=$1 task=$2 epochs=$3
  shift 3
  train_once "$name" "$runs/$name" $hepgen train "$task" "${common[@]}" --max-epochs "$epochs" "$@"
}

train vipr_chs pileup "${EPOCHS_VIPR:-16}" --input chs
train puppiml_chs puppiml "${EPOCHS_CLASSIFIER:-3}" --input chs --ema-decay 0.999
train vipr_observed pileup "${EPOCHS_OBSERVED:-2}" --input observed
# flow matching (straight paths) with the same network and budget as VIPR's EDM model
train vipr_chs_fm pileup "${EPOCHS_VIPR:-16}" --input chs --objective flow_matching
# the few-step student: rectified-flow distillation of the EDM model (analyses/pileup/model, its Heun sampler with
# TEACHER_STEPS steps) into straight paths, started from the flow-matching model (analyses/pileup/model_fm)
train vipr_chs_student pileup "${EPOCHS_STUDENT:-2}" --input chs --objective flow_matching \
    --teacher analyses/pileup/model --init analyses/pileup/model_fm --teacher-steps "${TEACHER_STEPS:-16}"
# behind the CMS-like constituent detector with the jets reclustered in the event (hepgen/sim/detector.py; the
# detector has its own losses, so no --inefficiencies 0.1), with the budgets of the particle-level models
detector=(--detector cms --recluster --inefficiencies 0)
train puppiml_chs_cms puppiml "${EPOCHS_CLASSIFIER:-3}" --input chs --ema-decay 0.999 "${detector[@]}"
train vipr_chs_cms pileup "${EPOCHS_VIPR:-16}" --input chs "${detector[@]}"
# the same VIPR generating the particle-level jet behind the detector (target b: pileup removal and unfolding)
train vipr_chs_cms_particle pileup "${EPOCHS_VIPR:-16}" --input chs "${detector[@]}" --target particle
