#!/usr/bin/env bash
# The samples of the pileup study at scale (issue 27), in runs/pileup_samples/ (not in git; every file reproducible
# from its command and seed, which its metadata records):
#
#   train_top_part{0..7}.root  50 000 top jets (seed 301, 8 shards of one run: a finished shard is not redone)
#   val_top.root                5 000 top jets (seed 302): early stopping and every choice (sampler, steps,
#                                   thresholds, PUPPI/SoftKiller/SoftDrop parameters, point estimates)
#   test_{top,w,qcd}.root       3 000 jets each (seeds 303, 304, 305): the final numbers only (the models train on
#                                   top jets; W and QCD ask whether the method carries over to other jets)
#   pool_val.root, pool_test.root  held-out minimum-bias pools (seeds 306: 5 000 events; 307: 10 000) for the
#                                   validation and the test jets; training uses data/minbias_pool.root
#
# All jets: anti-kT R = 1.0, pT > 400 GeV, |η| < 2, with the hard event around them (Surrounding_*), no pileup (it is
# overlaid on the fly, behind the detector). Cost on 2 free cores (Pythia): ≈ 130 top jets/s, so ≈ 7 min for the
# training set; the test and validation sets and the pools ≈ 4 min more.
#
#   analyses/pileup/make_samples.sh
#   TRAIN_JETS=4000 SHARDS=2 OUT=/tmp/quick analyses/pileup/make_samples.sh   # a quick check
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
out=${OUT:-runs/pileup_samples}
shards=${SHARDS:-8}
jobs=(--jobs "${JOBS:-2}" --no-progress)
mkdir -p "$out"
start=$(date +%s)
once "$out/val_top.root" $hepgen generate "${jobs[@]}" jets --process top --events "${VAL_JETS:-5000}" --seed 302
for process in top w qcd; do
  case $process in top) seed=303 ;; w) seed=304 ;; qcd) seed=305 ;; esac
  once "$out/test_$process.root" $hepgen generate "${jobs[@]}" jets --process "$process" --events "${TEST_JETS:-3000}" --seed "$seed"
done
once "$out/pool_val.root" $hepgen generate "${jobs[@]}" minbias --events "${VAL_POOL:-5000}" --seed 306 --block-size 2500
once "$out/pool_test.root" $hepgen generate "${jobs[@]}" minbias --events "${TEST_POOL:-10000}" --seed 307 --block-size 2500
for ((i = 0; i < shards; i++)); do
  once "$out/train_top_part$i.root" $hepgen generate "${jobs[@]}" jets --process top --events "${TRAIN_JETS:-50000}" --seed 301 --shard "$i/$shards"
done
echo "pileup study samples in $out/ after $(( $(date +%s) - start )) s"
