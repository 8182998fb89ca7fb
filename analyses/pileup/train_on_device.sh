#!/usr/bin/env bash
# One run of the pileup study at scale (train_at_scale.sh, NAME) on a machine with a GPU and many cores, such as the
# device tool's H200 with 16 cores. The training samples (59 MB) are remade there from their seeds with
# make_samples.sh's commands (all eight shards at once), and sample_digest.py writes their digests to OUT/digest.txt,
# to compare with the files here (the same events, or the run is not the study's). The run then trains with its
# overlay in data workers on the cores (--data-workers, each worker overlays whole groups) and the model on the GPU
# until it ends or TIME_LIMIT seconds have passed since the start; what it leaves goes to OUT: model.pt once trained,
# else the checkpoints (last.ckpt, best.ckpt) that train_at_scale.sh resumes from here (study_models/partial/NAME/).
#
#   NAME=vipr_fm_ot_s1 TIME_LIMIT=480 OUT=/tmp/out analyses/pileup/train_on_device.sh
#   NAME=vipr_fm_ot_s1 TIME_LIMIT=300 TRAIN_JETS=640 ACCELERATOR=cpu SAMPLES=/tmp/s RUNS=/tmp/r OUT=/tmp/out \
#       analyses/pileup/train_on_device.sh   # a quick check of the script here
#
# CPU/GPU (H200, 16 cores): the samples ≈ 1 min (Pythia, 16 processes); an epoch of VIPR ≈ 10–20 s (14 data workers
# overlay 45 000 jets at ≈ 2.2 ms each; the model steps on the GPU), against ≈ 5 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:?OUT names the folder the results go to}
name=${NAME:?NAME names the run of train_at_scale.sh}
samples=${SAMPLES:-runs/pileup_samples}
runs=${RUNS:-runs/pileup_study}
hepgen=${HEPGEN:-hepgen}
python=${PYTHON:-python3}
cores=$(nproc)
shards=8
start=$(date +%s)
mkdir -p "$samples" "$out"

pids=()
for ((i = 0; i < shards; i++)); do
  target="$samples/train_top_part$i.root"
  [[ -f "$target" ]] && continue
  $hepgen generate --jobs $((cores / shards > 1 ? cores / shards : 1)) --no-progress jets --process top \
      --events "${TRAIN_JETS:-50000}" --seed 301 --shard "$i/$shards" --out "$target" >> "$out/samples.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid"
done
$python analyses/pileup/sample_digest.py "$samples"/train_top_part*.root > "$out/digest.txt"
echo "samples after $(( $(date +%s) - start )) s" | tee -a "$out/samples.log"

left=$(( ${TIME_LIMIT:-480} - ($(date +%s) - start) ))
status=0
timeout -s INT -k 60 "$left" env ONLY="$name" RUNS="$runs" SAMPLES="$samples" HEPGEN="$hepgen" \
    TRAIN_ARGS="--accelerator ${ACCELERATOR:-gpu} --data-workers $((cores > 3 ? cores - 2 : 1))" \
    analyses/pileup/train_at_scale.sh > "$out/train.log" 2>&1 || status=$?
echo "training ended with status $status after $(( $(date +%s) - start )) s" | tee -a "$out/train.log"
run="$runs/$name"
for file in "$run/config.yaml" "$run/model.pt" "$run/checkpoints/last.ckpt" "$run/checkpoints/best.ckpt"; do
  [[ -f "$file" ]] && cp "$file" "$out/"
done
cat "$run"/logs/version_*/metrics.csv > "$out/metrics.csv" 2>/dev/null || true
