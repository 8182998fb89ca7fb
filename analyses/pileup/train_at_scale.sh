#!/usr/bin/env bash
# The models of the pileup study at scale (issue 27), behind the CMS-like detector with the jets reclustered in the
# event: trained on the 45 000 training jets of analyses/pileup/make_samples.sh (5 000 more of the same files are the
# early-stopping validation, --val-fraction 0.1), with the training pool, early-stopped on the validation loss
# (--patience 5, at most MAX_EPOCHS). Each run resumes where it stopped (checkpoints every epoch), so the study
# trains across sessions: re-run the script.
#
#   analyses/pileup/train_at_scale.sh                 # every model in turn
#   ONLY=vipr_edm_s1 analyses/pileup/train_at_scale.sh
#   TRAIN_ARGS="--accelerator gpu --data-workers 14" ONLY=vipr_fm_ot_s1 analyses/pileup/train_at_scale.sh  # on a GPU
#
# CPU (2 cores, OMP_NUM_THREADS=2): an epoch of VIPR ≈ 5 min (45 000 jets × (3.2 ms model step + 2.2 ms overlay,
# detector and reclustering), benchmarks/bench_pileup_training.py), so ≤ 3.3 h per VIPR run at 40 epochs; the
# classifier ≈ 3 min per epoch. Three seeds of each at the full budget (≈ 15 h) do not fit the study's CPU, so the
# seed spread is measured at a stated smaller budget: seeds 1, 2, 3 of VIPR (EDM) and of the classifier on the
# first 10 000 training jets (--max-events 11112, 10 % of them the early-stopping validation), 12 epochs each
# (VIPR ≈ 13 min, the classifier ≈ 8 min per seed). The order: the seed spread and the design reads at the smaller
# budget, then the classifier, EDM and flow matching (OT pairs) at the full budget (imperfect detection at the
# full budget only with LOSSY_FULL=1).
# A design read at the smaller budget first: VIPR conditioned on the classifier's scores (--classifier-scores, the
# spread classifier of seed 1; the classifier inside adds its forward pass to every step), compared with spread_vipr_edm_s1 on
# validation jets (evaluate_at_scale.sh, DESIGN=1) before the full-budget runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/pileup_study}
samples=${SAMPLES:-runs/pileup_samples}
source analyses/pileup/study_settings.sh
read -r -a extra <<< "${TRAIN_ARGS:-}"  # appended to every run's arguments (argparse: the last value wins)
common=("${study_training[@]}")

# A session's checkout may start without runs/: the checkpoints of a run in progress are committed in PARTIAL at the
# end of a session (cp runs/pileup_study/NAME/config.yaml runs/pileup_study/NAME/checkpoints/{last,best}.ckpt
# "$PARTIAL/NAME/") and the run resumes from them; they go once the run's model.pt is in study_models/.
partial=${PARTIAL:-analyses/pileup/study_models/partial}

train() {  # name task seed extra-args...
  local name=$1 task=$2 seed=$3
  shift 3
  if [[ -f "$partial/$name/last.ckpt" && ! -f "$runs/$name/checkpoints/last.ckpt" && ! -f "$runs/$name/model.pt" ]]; then
    mkdir -p "$runs/$name/checkpoints"
    cp "$partial/$name"/*.ckpt "$runs/$name/checkpoints/"
    cp "$partial/$name/config.yaml" "$runs/$name/"
    echo "$name: resuming from the committed checkpoints in $partial/$name"
  fi
  local losses=(--inefficiencies 0)
  [[ " $* " == *" --inefficiencies "* ]] && losses=()
  train_once "$name" "$runs/$name" $hepgen train "$task" "${common[@]}" "${losses[@]}" --seed "$seed" \
      --max-epochs "${MAX_EPOCHS:-40}" "$@" "${extra[@]}"
}

# the seed spread at the smaller budget first (the same settings otherwise): its six short runs give the spread of
# the study, the deep ensemble of issue 29 and the reference of the architecture variants while the long runs train
small=("${spread_budget[@]}")
for seed in 1 2 3; do
  train "spread_vipr_edm_s$seed" pileup "$seed" "${small[@]}"
  train "spread_puppiml_s$seed" puppiml "$seed" --ema-decay 0.999 "${small[@]}"
done
train spread_vipr_scored_s1 pileup 1 --classifier-scores "$runs/spread_puppiml_s1" "${small[@]}"
# imperfect detection (item 6): each observed track and tower lost with a probability drawn per jet from 0–15 %,
# and a tracker that finds 0–30 % fewer tracks (drawn per jet; the particles without a track reach the calorimeter)
lossy=(--inefficiencies 0 0.05 0.1 0.15 --track-losses 0 0.1 0.2 0.3)
# a design read of imperfect detection at the smaller budget first (evaluate_at_scale.sh, DESIGN=1, on validation
# jets): does VIPR regenerate what was lost where the classifier can only keep or drop? Flow matching: at this budget
# its posterior is better than EDM's and it samples in 3 evaluations (nfe_architectures/, validation jets)
train spread_puppiml_lossy_s1 puppiml 1 --ema-decay 0.999 "${lossy[@]}" "${small[@]}"
train spread_vipr_fm_lossy_s1 pileup 1 --objective flow_matching "${lossy[@]}" "${small[@]}"
# a design read of the hard-fraction posterior (hepgen/tasks/pileup/fractions.py: it samples the share of each
# observed track's and tower's energy from the hard scatter, where VIPR generates new particles; on validation jets
# VIPR's jet-mass error is the energy of what it generates, analyses/pileup/error_budget.py) and of the classifier
# trained on the same soft target (--soft-targets: its fair baseline); each ≈ 8 min at the smaller budget
train spread_fractions_s1 pileup_fractions 1 --ema-decay 0.999 "${small[@]}"
train spread_puppiml_soft_s1 puppiml 1 --ema-decay 0.999 --soft-targets "${small[@]}"
# and the hard-fraction posterior reading that budget's classifier (--classifier-scores): does it reach the classifier
# with a posterior? (≈ 18 min; evaluate_at_scale.sh section 8)
train spread_fractions_scored_s1 pileup_fractions 1 --ema-decay 0.999 --classifier-scores "$runs/spread_puppiml_s1" \
    "${small[@]}"
# the full budget: the classifier first (every comparison needs it), EDM, flow matching
train puppiml_s1 puppiml 1 --ema-decay 0.999
train vipr_edm_s1 pileup 1
# flow matching with OT pairs (--coupling ot): on 400 validation jets at μ = 200 (analyses/pileup/nfe_architectures/,
# smaller budget) its mass resolution at its chosen sampling was 0.051 (2 Euler steps) against 0.058 for independent
# pairs (3 evaluations) and 0.060 for EDM (32), and its paths are straighter (1 Euler step: 0.065 against 0.289)
train vipr_fm_ot_s1 pileup 1 --objective flow_matching --coupling ot
# the hard-fraction posterior reading the full-budget classifier's scores (≈ 5 min per epoch): at the smaller budget,
# on validation jets, the plain one is ahead of VIPR and behind the classifier, the one reading the scores ties the
# classifier (evaluate_at_scale.sh section 8)
train vipr_fractions_s1 pileup_fractions 1 --ema-decay 0.999 --classifier-scores "$runs/puppiml_s1"
# imperfect detection at the full budget (≈ 5.5 h): not in the study's CPU beside the two full-budget VIPRs, whose
# evaluation (evaluate_at_scale.sh section 3) takes the smaller-budget pair above; LOSSY_FULL=1 trains it
if [[ "${LOSSY_FULL:-0}" != 0 ]]; then
  train vipr_fm_lossy_s1 pileup 1 --objective flow_matching "${lossy[@]}"
  train puppiml_lossy_s1 puppiml 1 --ema-decay 0.999 "${lossy[@]}"
fi
