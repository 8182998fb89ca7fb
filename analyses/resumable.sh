# Sourced by the analyses' scripts (pileup, dineutrino, uncertainty): each step runs once, and a re-run resumes where
# the last one stopped.

once() {  # output, command...: run the command with --out OUTPUT unless OUTPUT exists
  local target=$1
  shift
  [[ -f "$target" ]] && { echo "$target: done"; return 0; }
  "$@" --out "$target"
}

train_once() {  # name, run folder, train command...: skip a trained run (unless ONLY names another), resume a started one
  local name=$1 run=$2
  shift 2
  [[ -n "${ONLY:-}" && "$ONLY" != "$name" ]] && return 0
  [[ -f "$run/model.pt" ]] && { echo "$name: trained"; return 0; }
  local resume=()
  [[ -f "$run/checkpoints/last.ckpt" ]] && resume=(--resume)
  echo "$name: training ($(date -u +%FT%TZ))"
  "$@" --out "$run" "${resume[@]}"
}
