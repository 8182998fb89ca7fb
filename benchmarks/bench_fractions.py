"""The hard-fraction posterior's sampling cost against VIPR's and the classifier's, in one run: ms per jet·sample of
``spread_fractions_s1`` at its default sampling (4 Heun steps, 7 evaluations) and of the smaller-budget VIPR (EDM) at
its sampling chosen on validation jets (32 Euler steps, ``analyses/pileup/nfe_architectures/choice.json``), and the
classifier's ms per jet (one evaluation), behind the CMS-like detector with the jets reclustered, at μ = 60 and 200;
each with its ratio to VIPR's.

Inputs: the first ``--jets`` jets of ``data/top_jets.root`` with the training pool (timing only, no score), the
committed models of ``analyses/pileup/study_models/``.

    python benchmarks/bench_fractions.py [--jets 64] [--samples 8] [--threads 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from timing import best_of

from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import jet_batch, passthrough_options
from hepgen.tasks.run_folder import load_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "analyses/pileup/study_models"
#: VIPR's sampling chosen on validation jets at this budget (nfe_architectures/choice.json, model edm).
VIPR_SAMPLING = {"sampler": "euler", "schedule": "karras", "steps": 32}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=64)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    fractions = load_model("pileup_fractions", MODELS / "spread_fractions_s1")
    vipr = load_model("pileup", MODELS / "spread_vipr_edm_s1")
    classifier = load_model("puppiml", MODELS / "spread_puppiml_s1")
    hard = read_hard_jets(ROOT / "data/top_jets.root", entry_stop=args.jets)
    pool = read_pileup_pool(ROOT / "data/minbias_pool.root")
    print(f"{args.jets} jets × {args.samples} samples, {args.threads} threads; ms per jet·sample (classifier: per jet)")
    for mu in (60.0, 200.0):
        observed = overlay_pileup(
            hard, pool, mu=mu, seed=int(mu), detector=CONSTITUENT_DETECTORS["cms"], recluster=True
        )

        def batch(model):
            options = passthrough_options(model.saved_with)
            context = model.context_features
            return jet_batch(observed, input="chs", context=context, **options).to_torch()

        generator = torch.Generator().manual_seed(0)
        inputs = {name: batch(model) for name, model in (("vipr", vipr), ("fractions", fractions), ("cls", classifier))}
        runs = {
            "vipr (EDM, 32 Euler steps)": lambda: vipr.sample(
                inputs["vipr"], args.samples, generator=generator, **VIPR_SAMPLING
            ),
            "hard fractions (4 Heun steps)": lambda: fractions.sample(
                inputs["fractions"], args.samples, generator=generator
            ),
            "classifier (1 evaluation)": lambda: classifier.pileup_probability(inputs["cls"]),
        }
        per = {name: 1e3 * best_of(fn, warm_up=True) / args.jets for name, fn in runs.items()}
        per = {name: ms if name.startswith("classifier") else ms / args.samples for name, ms in per.items()}
        reference = per["vipr (EDM, 32 Euler steps)"]
        for name, ms in per.items():
            print(f"μ = {mu:>3g}  {name:<32} {ms:8.3f} ms   ratio to VIPR {ms / reference:6.3f}")


if __name__ == "__main__":
    main()
