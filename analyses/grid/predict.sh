#!/usr/bin/env bash
# Grid wrapper: one hepgen prediction job. Used by predict.sub (HTCondor); runs anywhere bash does.
#
#   predict.sh INPUT OUTDIR [SHARD]
#
#   INPUT   an input ROOT file (local path or root:// URL)
#   OUTDIR  where the output goes (created); the output is OUTDIR/<input name>_<task>[_shard-i-of-n].root
#   SHARD   optional i/n: this job's share of the input's events (blocks of 1024 events / 32 jets)
#
# Settings from the environment (set them in predict.sub):
#   HEPGEN_TASK     neutrino (default) or pileup
#   HEPGEN_RUN      the trained model's run folder (default: the shipped flow, analyses/neutrino/model)
#   HEPGEN_PILEUP   pileup only: the minimum-bias pool
#   HEPGEN_ARGS     extra arguments for `hepgen predict` (e.g. "--samples 256 --seed 1" or "--mu 140")
#   HEPGEN_VENV     a virtual environment with hepgen (default: the checkout's .venv)
#
# Exit codes (hepgen's, passed through): 0 done (also when the output already existed: reruns are no-ops),
# 2 bad input (do not retry), 75 a transient failure such as an I/O error or no memory (retry), 1 a bug.
# Outputs are written atomically, so a killed job leaves no partial file.
set -euo pipefail

input=${1:?usage: predict.sh INPUT OUTDIR [SHARD]}
outdir=${2:?usage: predict.sh INPUT OUTDIR [SHARD]}
shard=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$here/../.." && pwd)
venv=${HEPGEN_VENV:-$checkout/.venv}
task=${HEPGEN_TASK:-neutrino}
run=${HEPGEN_RUN:-$checkout/analyses/neutrino/model}

if [[ ! -x "$venv/bin/hepgen" ]]; then
    echo "predict.sh: no hepgen in $venv (set HEPGEN_VENV, or run 'make install' in $checkout)" >&2
    exit 2
fi
mkdir -p "$outdir"
name=$(basename "$input" .root)
suffix=""
if [[ -n "$shard" ]]; then
    suffix="_shard-${shard/\//-of-}"
fi
out="$outdir/${name}_${task}${suffix}.root"

# one core per job unless the slot says otherwise
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
args=(predict "$task" --run "$run" --out "$out" --no-progress)
if [[ "$task" == pileup ]]; then
    args+=(--jets "$input" --pileup "${HEPGEN_PILEUP:?HEPGEN_PILEUP must name the minimum-bias pool for pileup jobs}")
else
    args+=(--data "$input")
fi
if [[ -n "$shard" ]]; then
    args+=(--shard "$shard")
fi
# shellcheck disable=SC2206  # HEPGEN_ARGS is a list of words on purpose
args+=(${HEPGEN_ARGS:-})

echo "predict.sh: $(date -u +%FT%TZ) on $(hostname): hepgen ${args[*]}"
exec "$venv/bin/hepgen" "${args[@]}"
