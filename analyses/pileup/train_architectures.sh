#!/usr/bin/env bash
# The architecture variants of analyses/pileup/architectures.md (issue 30), each trained at the same budget as the
# seed spread of the study (train_at_scale.sh: the first 10 000 training jets, --max-events 11112 with 10 % of them
# the early-stopping validation, 12 epochs, seed 1, the same detector and inputs), so that the study's spread_vipr_edm_s1
# is the reference (plain transformer blocks, EDM) at equal budget:
#   arch_mod            Mixture-of-Depths blocks, a quarter of the tokens through each block
#   arch_tokenformer    TokenFormer blocks (64 parameter tokens)
#   arch_latents_mod    the observed cloud through 32 Perceiver latents, Mixture-of-Depths (0.25) in the denoiser
#   arch_fm             flow matching, independent noise–data pairs
#   arch_fm_ot          flow matching with the exact optimal-transport assignment within each jet
#   arch_fm_ot_latents  the same with the observed cloud through 32 Perceiver latents (added once the NFE curve showed
#                       flow matching with OT pairs at 2 evaluations, where the observed encoder, run once per jet and
#                       growing with the cloud, becomes most of the cost)
#   arch_autoencoder    the set autoencoder of latent diffusion (16 tokens × 8), then
#   arch_latent         EDM in its frozen latent space
# Each resumes if interrupted; a finished run is skipped; ONLY=name trains one.
#
#   analyses/pileup/train_architectures.sh
#
# CPU (2 free cores): ≈ 13 min per run (the spread runs' cost; the autoencoder less), ≈ 1.7 h in all.
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
runs=${RUNS:-runs/pileup_study}
samples=${SAMPLES:-runs/pileup_samples}
source analyses/pileup/study_settings.sh
# the settings of train_at_scale.sh's spread runs
common=("${study_training[@]}" "${spread_budget[@]}" --inefficiencies 0 --seed 1)

train() {  # name extra-args...
  local name=$1
  shift
  train_once "$name" "$runs/$name" $hepgen train pileup "${common[@]}" "$@"
}

train arch_mod --block mod --mod-capacity 0.25
train arch_tokenformer --block tokenformer --param-tokens 64
train arch_latents_mod --latents 32 --block mod --mod-capacity 0.25
train arch_fm --objective flow_matching
train arch_fm_ot --objective flow_matching --coupling ot
train arch_fm_ot_latents --objective flow_matching --coupling ot --latents 32
train arch_autoencoder --objective autoencoder --autoencoder-tokens 16 --autoencoder-latent-dim 8
train arch_latent --autoencoder "$runs/arch_autoencoder"
