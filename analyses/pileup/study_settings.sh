# The settings every training of the pileup study shares (sourced by train_at_scale.sh and train_architectures.sh
# after they set $samples): the training jets and pool, the CMS-like detector with the jets reclustered, CHS input,
# towers above 20 GeV passed through (hepgen/tasks/pileup/inputs.py, TOWER_PASSTHROUGH_PT: chosen on validation
# jets), overlay groups of 1 024 jets, early stopping after 5 epochs without progress.
# shellcheck disable=SC2034  # used by the scripts that source this file
study_training=(--jets "$samples/train_top_part*.root" --pileup data/minbias_pool.root --detector cms --recluster
                --input chs --tower-passthrough-pt 20 --overlay-group 1024 --patience 5 --accelerator cpu --no-progress)
# the smaller budget of the seed spread and of the architecture variants: the first 10 000 training jets (10 % more
# are the early-stopping validation) and 12 epochs
spread_budget=(--max-events 11112 --max-epochs 12)
