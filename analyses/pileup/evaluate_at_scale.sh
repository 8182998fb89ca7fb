#!/usr/bin/env bash
# The final numbers of the pileup study at scale (issue 27), every choice (SoftKiller, SoftDrop and PUPPI parameters,
# the classifier's threshold) made on the validation top jets with the validation pool (--tune-pred), and the
# sampling of each full-budget VIPR on VAL_JETS (400) validation jets at μ = 200 (nfe_curve.py --choose: its cheapest
# sampling of the 99-evaluation EDM reference's quality → analyses/pileup/nfe_study/choice.json). The study's VIPR
# (named vipr) is the model of the best validation mass resolution at its sampling (sampling_choice.py best); the
# other is validated beside it (vipr_<model>). VIPR's point estimate is the median of its samples, fixed before any
# jet was looked at.
#
# 1. The study (STUDY=0 skips it): every method on the test jets of each type (top, W, QCD; 3 000 each,
#    runs/pileup_samples/test_*.root) with the held-out test pool at μ = 60 and 200 (POINTS)
#    → analyses/pileup/validation_study/<type>/ (top, then W and QCD at once: validate_types). VIPR_MODELS:
#    name=run pairs (default edm and fm, full budget); FRACTIONS: the hard-fraction posterior (section 8), validated
#    beside them as vipr_fractions once trained.
# 2. The seed spread (SPREAD=0 skips it): the three seeds of the smaller budget (train_at_scale.sh, spread_*) on the
#    first SPREAD_JETS (1 000) test top jets → analyses/pileup/validation_study/spread_s<seed>/; and the three VIPR
#    seeds as one deep ensemble (--ensemble, 3 samples each, named vipr_ensemble) beside seed 1 alone with as many
#    samples (vipr_single), validated together on the same jets with the same pileup
#    → analyses/pileup/validation_study/spread_ensemble/ (issue 29: the mixture's coverage against one model's).
# 3. Imperfect detection (LOSSY=0 skips it): the classifier and VIPR (flow matching) trained on a range of it, at the
#    smaller budget (spread_*_lossy_s1: the full-budget pair, ≈ 5.5 h more, does not fit the study's CPU beside the
#    two full-budget VIPRs; LOSSY_CLASSIFIER and LOSSY_VIPR name others), with the sampling of the design read
#    (section 7: 8 Heun steps in t, LOSSY_SAMPLING), at μ = 60 with 10 % of the observed tracks and towers lost and
#    with a tracker that finds 20 % fewer tracks, on the test top jets, with the truth-label bound
#    → analyses/pileup/validation_study/lossy/ (≈ 40 min).
#
# 4. Many samples per jet (MANY=0 skips it): VIPR with MANY_SAMPLES (64) samples on the first MANY_JETS (2 000) test top
#    jets at each point → samples_per_jet.py → analyses/pileup/validation_study/samples_per_jet/ (the median's
#    resolution and the calibration of every observable against the number of samples).
#
# 5. The architectures of issue 30 (ARCH=0 skips it): see the section below.
#
# 6. Design reads on validation jets (DESIGN=0 skips it): VIPR conditioned on the classifier's scores
#    (spread_vipr_scored_s1, train_at_scale.sh) beside the plain VIPR and the classifier of the same budget and seed
#    on the first DESIGN_JETS (1 000) validation top jets with the validation pool at μ = 60 and 200, validated
#    together (30 % of the jets tune the baselines) → analyses/pileup/validation_study/design_scores/. A choice
#    between designs is made here, where no test jet is read (≈ 25 min). Once the full-budget classifier is trained
#    it joins them on the same jets (puppiml_full) → analyses/pileup/validation_study/design_budget/ (≈ 5 min).
#
# 7. Imperfect detection at the smaller budget, on validation jets (DESIGN_LOSSY=0 skips it): the classifier and VIPR
#    (flow matching; 8 Heun steps in t) trained on a range of losses (spread_*_lossy_s1, train_at_scale.sh) on
#    DESIGN_JETS validation top jets with the validation pool at μ = 60, with
#    10 % of the observed tracks and towers lost and with a tracker that finds 20 % fewer tracks, validated together
#    with the truth-label bound (truth_keep: every observed constituent whose energy is mostly hard, a bound on any
#    keep/drop method) → analyses/pileup/validation_study/design_lossy/ (≈ 15 min). Does VIPR regenerate what was
#    lost, below the bound the classifier cannot pass?
#
# 8. The hard-fraction posterior at the smaller budget, on validation jets (DESIGN_FRACTIONS=0 skips it):
#    spread_fractions_s1 (hepgen/tasks/pileup/fractions.py; 8 samples, its default sampling: 4 Heun steps in t) and
#    the classifier trained on the same soft target (spread_puppiml_soft_s1, named puppiml_soft: thresholded and as
#    weights, puppiml_soft_weighted) beside the plain VIPR and the classifier of section 6 on the same
#    DESIGN_JETS validation top jets at μ = 60 and 200 → analyses/pileup/validation_study/design_fractions/ (≈ 10 min),
#    with its cuts chosen before on validation jets 1000–1999 (fraction_cuts.py → validation_study/fraction_cuts.json);
#    once trained, the same model reading the classifier's scores (spread_fractions_scored_s1, vipr_fractions_scored)
#    beside them → analyses/pileup/validation_study/design_fractions_scored/.
#
# 9. The μ scan of the study's figure (SCAN=0 skips it): the study's VIPR, the hard-fraction posterior, the
#    classifier and every baseline at μ = 20, 100, 140 on the first 1 000 test jets of each type, and the figures of
#    bias and resolution against μ (section 9 below).
#
#   analyses/pileup/evaluate_at_scale.sh
#
# A quick check of the pipeline must not read the test files: point SAMPLES_DIR to a folder whose test_*.root and
# pools are links to the validation files, e.g.
#   mkdir -p /tmp/q && for t in top w qcd; do ln -sf $PWD/runs/pileup_samples/val_top.root /tmp/q/test_$t.root; done
#   ln -sf $PWD/runs/pileup_samples/{val_top,pool_val}.root /tmp/q/ && ln -sf $PWD/runs/pileup_samples/pool_val.root \
#       /tmp/q/pool_test.root
#   SAMPLES_DIR=/tmp/q VIPR_MODELS="edm=runs/pileup_study/spread_vipr_edm_s1 fm=runs/pileup_study/arch_fm" \
#       CLASSIFIER=runs/pileup_study/spread_puppiml_s1 MAX_EVENTS=40 VAL_JETS=40 NFE_STUDY=/tmp/q/nfe POINTS=60 \
#       SPREAD=0 LOSSY=0 MANY=0 ARCH=0 DESIGN=0 DESIGN_LOSSY=0 OUT=/tmp/q/pred REPORT=/tmp/q/validation \
#       analyses/pileup/evaluate_at_scale.sh
#
# CPU (2 cores, measured on the spread's 1 000 test jets): VIPR with 8 samples × 50 Heun steps ≈ 4.5 min per 1 000
# jets at μ = 60 and 6 min at μ = 200 (overlay, detector and reclustering included), the classifier < 1 min, each
# validation ≈ 2 min; flow matching at its 2–3 evaluations ≈ 10× cheaper per sample than EDM at 50 Heun steps. The
# choice of sampling (EDM and flow matching on 400 validation jets, 99 evaluations at most) ≈ 15 min. Step 1: ≈ 1.5 h
# (3 × 3 000 jets at two points, two VIPR models); step 2 ≈ 1 h; step 4 costs 64/8 × 2/3 of a point of step 1 per
# point at the same sampling.
set -euo pipefail
cd "$(dirname "$0")/../.."
source analyses/resumable.sh
hepgen=${HEPGEN:-.venv/bin/hepgen}
samples_dir=${SAMPLES_DIR:-runs/pileup_samples}
runs=${RUNS:-runs/pileup_study}
out=${OUT:-runs/pileup_eval_study}
report=${REPORT:-analyses/pileup/validation_study}
limit=()
[[ -n "${MAX_EVENTS:-}" ]] && limit=(--max-events "$MAX_EVENTS")
val=("$samples_dir/val_top.root" "$samples_dir/pool_val.root")
spread_jets=${SPREAD_JETS:-${MAX_EVENTS:-1000}}  # the jets of sections 2 and 5 (MAX_EVENTS, for a quick check)

predict() {  # folder name jets pool mu classifier vipr(or -) extra-args...: the classifier's and VIPR's predictions
  local folder=$1 name=$2 jets=$3 pool=$4 mu=$5 classifier=$6 vipr=$7
  shift 7
  mkdir -p "$folder"
  local common=(--jets "$jets" --pileup "$pool" --mu "$mu" --seed "$mu" --detector cms --recluster --no-progress
                "${limit[@]}" "$@")
  once "$folder/${name}_puppiml_mu$mu.root" $hepgen predict puppiml --run "$classifier" "${common[@]}"
  [[ "$vipr" == - ]] && return 0
  once "$folder/${name}_vipr_mu$mu.root" $hepgen predict pileup --run "$vipr" "${common[@]}" \
      --samples "${SAMPLES:-8}" --steps "${STEPS:-50}" --sampler "${SAMPLER:-heun}"
}
validate() {  # folder report-folder test-prefix extra-args...: the baselines' grid scores on the validation jets
  #             are kept in $out/tuning_cache for every later validation on the same jets (the same choices)
  local folder=$1 report_folder=$2 prefix=$3
  shift 3
  $hepgen validate pileup --pred "$folder/$prefix"_*.root --tune-pred "$folder"/val_top_*.root --out "$report_folder" \
      --tuning-cache "$out/tuning_cache" --no-progress --overwrite "$@"
}
validate_types() {  # folder report-prefix: top first, its points on two cores (it fills the tuning cache), then W and
  #                   QCD at once, one core each (the tuning read from the cache)
  validate "$1" "$2top" test_top --scheduler local:2
  local pids=() type failed=0
  for type in w qcd; do
    validate "$1" "$2$type" "test_$type" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
  done
  return "$failed"
}

# 1. the study
classifier=${CLASSIFIER:-$runs/puppiml_s1}
read -r -a vipr_models <<< "${VIPR_MODELS:-edm=$runs/vipr_edm_s1 fm=$runs/vipr_fm_ot_s1}"
fractions=${FRACTIONS:-$runs/vipr_fractions_s1}  # the hard-fraction posterior, beside them once trained (vipr_fractions)
nfe_study=${NFE_STUDY:-analyses/pileup/nfe_study}
choose_sampling() {  # the sampling of every study VIPR and the headline model, on validation jets (once)
  local names=() models=()
  for pair in "${vipr_models[@]}"; do
    names+=("${pair%%=*}")
    models+=(--model "$pair")
  done
  [[ -f "$nfe_study/choice.json" ]] || .venv/bin/python analyses/pileup/nfe_curve.py --models "${names[@]}" \
      "${models[@]}" --detector cms --recluster --jets-file "${val[0]}" --split all --pileup "${val[1]}" --mu 200 \
      --jets "${VAL_JETS:-400}" --choose --out "$nfe_study"
  headline=$(.venv/bin/python analyses/pileup/sampling_choice.py best "$nfe_study/choice.json" "${names[@]}")
  echo "the study's VIPR, chosen on validation jets: $headline"
}
predict_vipr() {  # model=run out-file extra-args...: one study VIPR with its validation sampling, named for the study
  local model=${1%%=*} run=${1#*=} target=$2 sampler steps name
  shift 2
  read -r sampler steps < <(.venv/bin/python analyses/pileup/sampling_choice.py sampling "$nfe_study/choice.json" \
      "$model")
  name=vipr
  [[ $model == "$headline" ]] || name=vipr_$model
  once "${target//@/$name}" $hepgen predict pileup --run "$run" --name "$name" --detector cms --recluster \
      --no-progress "${limit[@]}" --steps "$steps" --sampler "$sampler" "$@"
}
if [[ "${STUDY:-1}" != 0 || "${MANY:-1}" != 0 || "${SCAN:-1}" != 0 ]]; then
  choose_sampling
fi
if [[ "${STUDY:-1}" != 0 ]]; then
  for mu in ${POINTS:-60 200}; do
    predict "$out" val_top "${val[@]}" "$mu" "$classifier" -  # the tuning needs the classifier and the event's cuts
    for type in top w qcd; do
      predict "$out" "test_$type" "$samples_dir/test_$type.root" "$samples_dir/pool_test.root" "$mu" "$classifier" -
      for pair in "${vipr_models[@]}"; do
        predict_vipr "$pair" "$out/test_${type}_@_mu$mu.root" --jets "$samples_dir/test_$type.root" \
            --pileup "$samples_dir/pool_test.root" --mu "$mu" --seed "$mu" --samples "${SAMPLES:-8}"
      done
      if [[ -f "$fractions/model.pt" ]]; then
        once "$out/test_${type}_vipr_fractions_mu$mu.root" $hepgen predict pileup_fractions --run "$fractions" \
            --jets "$samples_dir/test_$type.root" --pileup "$samples_dir/pool_test.root" --mu "$mu" --seed "$mu" \
            --detector cms --recluster --no-progress "${limit[@]}" --samples "${SAMPLES:-8}"
      fi
    done
  done
  validate_types "$out" "$report/"
fi

# 2. the seed spread at the smaller budget
if [[ "${SPREAD:-1}" != 0 ]]; then
  for seed in 1 2 3; do
    folder="$out/spread_s$seed"
    for mu in ${POINTS:-60 200}; do
      predict "$folder" val_top "${val[@]}" "$mu" "$runs/spread_puppiml_s$seed" - --max-events "$spread_jets"
      predict "$folder" test_top "$samples_dir/test_top.root" "$samples_dir/pool_test.root" "$mu" \
          "$runs/spread_puppiml_s$seed" "$runs/spread_vipr_edm_s$seed" --max-events "$spread_jets"
    done
    validate "$folder" "$report/spread_s$seed" test_top
  done
  # the three VIPR seeds as one deep ensemble (issue 29): 3 samples from each, and seed 1 alone with as many samples,
  # on the same jets with the same pileup, validated together (paired); with the spread classifier of seed 1 and every
  # baseline. What the mixture's calibration gains over seed 1's is what the spread between the seeds adds.
  folder="$out/spread_ensemble"
  for mu in ${POINTS:-60 200}; do
    predict "$folder" val_top "${val[@]}" "$mu" "$runs/spread_puppiml_s1" - --max-events "$spread_jets"
    predict "$folder" test_top "$samples_dir/test_top.root" "$samples_dir/pool_test.root" "$mu" \
        "$runs/spread_puppiml_s1" - --max-events "$spread_jets"
    for members in "single:$runs/spread_vipr_edm_s1" \
        "ensemble:$runs/spread_vipr_edm_s1 --ensemble $runs/spread_vipr_edm_s2 $runs/spread_vipr_edm_s3"; do
      read -r -a run <<< "${members#*:}"
      once "$folder/test_top_vipr_${members%%:*}_mu$mu.root" $hepgen predict pileup --run "${run[@]}" \
          --name "vipr_${members%%:*}" --jets "$samples_dir/test_top.root" --pileup "$samples_dir/pool_test.root" \
          --mu "$mu" --seed "$mu" --detector cms --recluster --no-progress --max-events "$spread_jets" --samples 9 \
          --steps "${STEPS:-50}" --sampler "${SAMPLER:-heun}"
    done
  done
  validate "$folder" "$report/spread_ensemble" test_top
fi

# 3. imperfect detection
lossy_points=("--inefficiency 0.1" "--track-loss 0.2")  # sections 3 and 7
read -r -a lossy_sampling <<< "${LOSSY_SAMPLING:---samples 8 --steps 8 --sampler heun_t}"
lossy_vipr=${LOSSY_VIPR:-$runs/spread_vipr_fm_lossy_s1}
if [[ "${LOSSY:-1}" != 0 ]]; then
  folder="$out/lossy"
  for loss in "${lossy_points[@]}"; do
    read -r -a flags <<< "$loss"
    tag="${flags[0]#--}${flags[1]}"
    predict "$folder" "val_top_$tag" "${val[@]}" 60 "${LOSSY_CLASSIFIER:-$runs/spread_puppiml_lossy_s1}" - "${flags[@]}"
    predict "$folder" "test_top_$tag" "$samples_dir/test_top.root" "$samples_dir/pool_test.root" 60 \
        "${LOSSY_CLASSIFIER:-$runs/spread_puppiml_lossy_s1}" - "${flags[@]}"
    once "$folder/test_top_${tag}_vipr_mu60.root" $hepgen predict pileup --run "$lossy_vipr" \
        --jets "$samples_dir/test_top.root" --pileup "$samples_dir/pool_test.root" --mu 60 --seed 60 --detector cms \
        --recluster --no-progress "${limit[@]}" "${flags[@]}" "${lossy_sampling[@]}"
  done
  validate "$folder" "$report/lossy" test_top
fi

# 4. many samples per jet (the study's VIPR)
if [[ "${MANY:-1}" != 0 ]]; then
  folder="$out/many"
  mkdir -p "$folder"
  for pair in "${vipr_models[@]}"; do
    [[ ${pair%%=*} == "$headline" ]] || continue
    for mu in ${POINTS:-60 200}; do
      predict_vipr "$pair" "$folder/test_top_@_mu$mu.root" --jets "$samples_dir/test_top.root" \
          --pileup "$samples_dir/pool_test.root" --mu "$mu" --seed "$mu" --max-events "${MANY_JETS:-2000}" \
          --samples "${MANY_SAMPLES:-64}"
    done
  done
  .venv/bin/python analyses/pileup/samples_per_jet.py --pred "$folder"/test_top_vipr_mu*.root \
      --out "$report/samples_per_jet"
fi

# 5. the architectures of issue 30 (ARCH=0 skips it; train_architectures.sh trains them at the spread budget, so the
#    study's spread_vipr_edm_s1 is their plain reference): first the NFE curve of every variant on VAL_JETS (400)
#    validation jets at μ = 200 → analyses/pileup/nfe_architectures/ (are the OT paths straighter: fewer evaluations
#    for the same quality?), whose choice.json gives each variant its cheapest sampling of the reference's quality
#    (per_model: mass resolution within 5 % and bias within 1 point of the 99-NFE EDM reference); then every
#    variant with that sampling, named vipr_<variant> (--name), on the spread's SPREAD_JETS test top jets with the
#    spread classifier of seed 1 and every baseline, validated together so that each is paired with the others on
#    the same jets → analyses/pileup/validation_study/architectures/.
if [[ "${ARCH:-1}" != 0 ]]; then
  folder="$out/architectures"
  declare -A nfe_name=([spread_vipr_edm_s1]=edm)
  variants=()
  for variant in ${ARCH_VARIANTS:-spread_vipr_edm_s1 arch_mod arch_tokenformer arch_latents_mod arch_fm arch_fm_ot
                                  arch_fm_ot_latents arch_latent}; do
    [[ -f "$runs/$variant/model.pt" ]] || { echo "$variant: not trained yet, skipped"; continue; }
    variants+=("$variant")
  done
  nfe_out=${NFE_OUT:-analyses/pileup/nfe_architectures}
  choice=$nfe_out/choice.json
  nfe_curve() {  # out-folder variants...: the NFE curve of the variants (the EDM reference first) with the choice
    local folder=$1 names=() models=()
    shift
    for variant in "$@"; do
      names+=("${nfe_name[$variant]:-${variant#arch_}}")
      models+=(--model "${names[-1]}=$runs/$variant")
    done
    .venv/bin/python analyses/pileup/nfe_curve.py --models "${names[@]}" "${models[@]}" --detector cms \
        --recluster --jets-file "${val[0]}" --split all --pileup "${val[1]}" --mu 200 --jets "${VAL_JETS:-400}" \
        --choose --out "$folder"
  }
  if [[ ! -f $choice ]]; then
    nfe_curve "$nfe_out" "${variants[@]}"
  else  # a variant trained after the curve: its own curve beside the same reference, its choice added
    added=()
    for variant in "${variants[@]}"; do
      .venv/bin/python -c 'import json, sys; sys.exit(sys.argv[2] not in json.load(open(sys.argv[1]))["per_model"])' \
          "$choice" "${nfe_name[$variant]:-${variant#arch_}}" || added+=("$variant")
    done
    if ((${#added[@]})); then
      nfe_curve "$nfe_out/added_${added[0]#arch_}" spread_vipr_edm_s1 "${added[@]}"
      .venv/bin/python -c 'import json, sys
base, extra = (json.load(open(p)) for p in sys.argv[1:3])
base["per_model"] |= {k: v for k, v in extra["per_model"].items() if k not in base["per_model"]}
open(sys.argv[1], "w").write(json.dumps(base, indent=1) + "\n")' "$choice" "$nfe_out/added_${added[0]#arch_}/choice.json"
    fi
  fi
  for mu in ${POINTS:-60 200}; do
    predict "$folder" val_top "${val[@]}" "$mu" "$runs/spread_puppiml_s1" - --max-events "$spread_jets"
    predict "$folder" test_top "$samples_dir/test_top.root" "$samples_dir/pool_test.root" "$mu" \
        "$runs/spread_puppiml_s1" - --max-events "$spread_jets"
    for variant in "${variants[@]}"; do
      read -r sampler steps < <(.venv/bin/python analyses/pileup/sampling_choice.py sampling "$choice" \
          "${nfe_name[$variant]:-${variant#arch_}}")
      name=vipr_${variant#arch_}
      [[ $variant == spread_vipr_edm_s1 ]] && name=vipr_transformer
      once "$folder/test_top_${name}_mu$mu.root" $hepgen predict pileup --run "$runs/$variant" --name "$name" \
          --jets "$samples_dir/test_top.root" --pileup "$samples_dir/pool_test.root" --mu "$mu" --seed "$mu" \
          --detector cms --recluster --no-progress --max-events "$spread_jets" --samples "${SAMPLES:-8}" \
          --steps "$steps" --sampler "$sampler"
    done
  done
  validate "$folder" "$report/architectures" test_top
fi

# 6. design reads on validation jets
if [[ "${DESIGN:-1}" != 0 && -f "$runs/spread_vipr_scored_s1/model.pt" ]]; then
  folder="$out/design_scores"
  mkdir -p "$folder"
  for mu in ${POINTS:-60 200}; do
    common=(--jets "${val[0]}" --pileup "${val[1]}" --mu "$mu" --seed "$mu" --detector cms --recluster --no-progress
            --max-events "${DESIGN_JETS:-1000}")
    once "$folder/val_top_puppiml_mu$mu.root" $hepgen predict puppiml --run "$runs/spread_puppiml_s1" "${common[@]}"
    for variant in plain:spread_vipr_edm_s1 scored:spread_vipr_scored_s1; do
      once "$folder/val_top_vipr_${variant%%:*}_mu$mu.root" $hepgen predict pileup --run "$runs/${variant#*:}" \
          --name "vipr_${variant%%:*}" "${common[@]}" --samples 8 --steps "${STEPS:-50}" --sampler "${SAMPLER:-heun}"
    done
  done
  [[ -f "$report/design_scores/metrics.json" ]] ||
      $hepgen validate pileup --pred "$folder"/val_top_*.root --out "$report/design_scores" --no-progress --overwrite
  # the full-budget classifier beside them on the same jets (does the budget help the classifier as much as VIPR?)
  if [[ -f "$runs/puppiml_s1/model.pt" ]]; then
    for mu in ${POINTS:-60 200}; do
      once "$folder/val_top_puppiml_full_mu$mu.root" $hepgen predict puppiml --run "$runs/puppiml_s1" \
          --name puppiml_full --jets "${val[0]}" --pileup "${val[1]}" --mu "$mu" --seed "$mu" --detector cms \
          --recluster --no-progress --max-events "${DESIGN_JETS:-1000}"
    done
    $hepgen validate pileup --pred "$folder"/val_top_*.root --out "$report/design_budget" --no-progress --overwrite
  fi
fi

# 7. imperfect detection at the smaller budget, on validation jets
if [[ "${DESIGN_LOSSY:-1}" != 0 && -f "$runs/spread_vipr_fm_lossy_s1/model.pt" ]]; then
  folder="$out/design_lossy"
  mkdir -p "$folder"
  for loss in "${lossy_points[@]}"; do
    read -r -a flags <<< "$loss"
    tag="${flags[0]#--}${flags[1]}"
    common=(--jets "${val[0]}" --pileup "${val[1]}" --mu 60 --seed 60 --detector cms --recluster --no-progress
            --max-events "${DESIGN_JETS:-1000}" "${flags[@]}")
    once "$folder/val_top_${tag}_puppiml_mu60.root" $hepgen predict puppiml --run "$runs/spread_puppiml_lossy_s1" \
        "${common[@]}"
    once "$folder/val_top_${tag}_vipr_mu60.root" $hepgen predict pileup --run "$runs/spread_vipr_fm_lossy_s1" \
        "${common[@]}" "${lossy_sampling[@]}"
  done
  $hepgen validate pileup --pred "$folder"/val_top_*.root --out "$report/design_lossy" --no-progress --overwrite
fi

# 8. the hard-fraction posterior at the smaller budget, on validation jets
if [[ "${DESIGN_FRACTIONS:-1}" != 0 && -f "$runs/spread_fractions_s1/model.pt" ]]; then
  # its cuts (fractions.py MIN_FRACTION, MIN_HARD_PT) chosen first on validation jets 1000–1999, which no design
  # read scores: predicted with the loosest cut and every grid point applied to the same samples (≈ 3 min)
  mkdir -p "$out/fraction_cuts"
  for mu in ${POINTS:-60 200}; do
    once "$out/fraction_cuts/val_top_vipr_fractions_mu$mu.root" $hepgen predict pileup_fractions \
        --run "$runs/spread_fractions_s1" --jets "${val[0]}" --pileup "${val[1]}" --mu "$mu" --seed "$mu" \
        --detector cms --recluster --no-progress --max-events 2000 --samples 8 --min-fraction 0.005
  done
  for sampling in "euler 1" "heun_t 2" "euler 4" "heun_t 8" "heun_t 16"; do  # the default sampling checked, μ = 200
    read -r sampler steps <<< "$sampling"
    once "$out/fraction_cuts/steps/val_top_vipr_fractions_$sampler${steps}_mu200.root" $hepgen predict pileup_fractions \
        --run "$runs/spread_fractions_s1" --jets "${val[0]}" --pileup "${val[1]}" --mu 200 --seed 200 --detector cms \
        --recluster --no-progress --max-events 2000 --samples 8 --min-fraction 0.005 --sampler "$sampler" --steps "$steps"
  done
  [[ -f "$report/fraction_cuts.json" ]] || .venv/bin/python analyses/pileup/fraction_cuts.py \
      --pred "$out"/fraction_cuts/val_top_vipr_fractions_mu*.root --first 1000 --out "$report/fraction_cuts.json" \
      --sampling-pred "$out"/fraction_cuts/steps/*.root "$out/fraction_cuts/val_top_vipr_fractions_mu200.root"
  folder="$out/design_scores"  # beside section 6's plain VIPR and classifier on the same jets
  mkdir -p "$folder"
  for mu in ${POINTS:-60 200}; do
    common=(--jets "${val[0]}" --pileup "${val[1]}" --mu "$mu" --seed "$mu" --detector cms --recluster --no-progress
            --max-events "${DESIGN_JETS:-1000}")
    once "$folder/val_top_puppiml_soft_mu$mu.root" $hepgen predict puppiml --run "$runs/spread_puppiml_soft_s1" \
        --name puppiml_soft "${common[@]}"
    once "$folder/val_top_vipr_fractions_mu$mu.root" $hepgen predict pileup_fractions \
        --run "$runs/spread_fractions_s1" "${common[@]}" --samples 8
    if [[ -f "$runs/spread_fractions_scored_s1/model.pt" ]]; then
      once "$folder/val_top_vipr_fractions_scored_mu$mu.root" $hepgen predict pileup_fractions \
          --run "$runs/spread_fractions_scored_s1" --name vipr_fractions_scored "${common[@]}" --samples 8
    fi
  done
  $hepgen validate pileup --pred "$folder"/val_top_{puppiml,puppiml_soft,vipr_plain,vipr_fractions}_mu*.root \
      --out "$report/design_fractions" --no-progress --overwrite
  # the hard-fraction posterior reading the classifier's scores, beside the plain one and the classifier
  if [[ -f "$runs/spread_fractions_scored_s1/model.pt" ]]; then
    $hepgen validate pileup --pred "$folder"/val_top_{puppiml,vipr_fractions,vipr_fractions_scored}_mu*.root \
        --out "$report/design_fractions_scored" --no-progress --overwrite
  fi
fi

# 9. the μ scan of the study's figure (SCAN=0 skips it): the study's VIPR at its validation sampling, the hard-fraction
#    posterior once trained, the classifier and every baseline at SCAN_POINTS (20 100 140) on the first SCAN_JETS
#    (1 000) test jets of each type, tuned on the first 2 000 validation jets at each μ → analyses/pileup/
#    validation_study/scan_<type>/ (measured beside a training on 2 cores: ≈ 25 min of predictions for the three
#    points, ≈ 30 min of validations, without the hard-fraction posterior); then the figure of
#    each observable, bias and resolution against μ with bands, a column per jet type, the study's two points (3 000
#    jets) and the scan's three (1 000 jets) → validation_study/{mass,pt,tau21,tau32,d2}_vs_mu.{pdf,png}.
if [[ "${SCAN:-1}" != 0 ]]; then
  folder="$out/scan"
  scan_jets=${SCAN_JETS:-${MAX_EVENTS:-1000}}
  for mu in ${SCAN_POINTS:-20 100 140}; do
    predict "$folder" val_top "${val[@]}" "$mu" "$classifier" - --max-events "${MAX_EVENTS:-2000}"
    for type in top w qcd; do
      predict "$folder" "test_$type" "$samples_dir/test_$type.root" "$samples_dir/pool_test.root" "$mu" "$classifier" \
          - --max-events "$scan_jets"
      for pair in "${vipr_models[@]}"; do
        [[ ${pair%%=*} == "$headline" ]] || continue
        predict_vipr "$pair" "$folder/test_${type}_@_mu$mu.root" --jets "$samples_dir/test_$type.root" \
            --pileup "$samples_dir/pool_test.root" --mu "$mu" --seed "$mu" --samples "${SAMPLES:-8}" \
            --max-events "$scan_jets"
      done
      if [[ -f "$fractions/model.pt" ]]; then
        once "$folder/test_${type}_vipr_fractions_mu$mu.root" $hepgen predict pileup_fractions --run "$fractions" \
            --jets "$samples_dir/test_$type.root" --pileup "$samples_dir/pool_test.root" --mu "$mu" --seed "$mu" \
            --detector cms --recluster --no-progress --max-events "$scan_jets" --samples "${SAMPLES:-8}"
      fi
    done
  done
  # validated again when the hard-fraction posterior joins the scan after its validations were made without it
  stale=0
  for type in top w qcd; do
    [[ -f "$report/scan_$type/metrics.json" ]] || stale=1
    if [[ -f "$report/scan_$type/metrics.json" ]] && compgen -G "$folder/test_${type}_vipr_fractions_mu*.root" >/dev/null \
        && ! grep -q '"vipr_fractions"' "$report/scan_$type/metrics.json"; then
      stale=1
    fi
  done
  [[ $stale == 0 ]] || validate_types "$folder" "$report/scan_"
  columns=()
  for type in top w qcd; do
    columns+=("$type=$report/$type/metrics.json,$report/scan_$type/metrics.json")
  done
  for observable in mass pt tau21 tau32 d2; do
    .venv/bin/python analyses/pileup/study_figure.py --observable "$observable" --out "$report/${observable}_vs_mu" \
        "${columns[@]}"
  done
fi
