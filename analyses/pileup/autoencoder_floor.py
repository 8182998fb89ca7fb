"""The reconstruction floor of latent diffusion (issue 30): what the frozen set autoencoder alone loses when a jet's
true hard constituents are encoded to its latent tokens and decoded again (with the true count), measured on
validation jets as the bias and resolution of the jet mass, τ21, τ32 and D2 of the reconstructed jet against the
true one (both with the same passed-through particles). A latent-diffusion VIPR cannot be more precise than this
however well its denoiser learns: it generates the latents, and the decoder maps them back.

    .venv/bin/python analyses/pileup/autoencoder_floor.py --run runs/pileup_study/arch_autoencoder \\
        --jets-file runs/pileup_samples/val_top.root --pileup runs/pileup_samples/pool_val.root --mu 200 --jets 400 \\
        --out analyses/pileup/nfe_architectures/autoencoder_floor.json

The jets are the first ``--jets`` of the (validation) file, overlaid with the pool at μ behind the CMS-like detector
and reclustered, as in the NFE curve of the architectures; errors are bootstrap over jets. Takes ~1 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import awkward as ak
import numpy as np
import torch

from hepgen.io.writer import atomic_path
from hepgen.physics.kinematics import PION_MASS
from hepgen.physics.substructure import jet_observables
from hepgen.shards import derive_seed
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import jet_batch, passthrough_options, to_generated_jets
from hepgen.tasks.run_folder import load_model
from hepgen.validation.metrics import bootstrap_bias_resolution

OBSERVABLES = ("mass", "tau21", "tau32", "d2")


def reconstructed_and_true(model, observed, hard, jets: int, batch_size: int = 64) -> tuple[ak.Array, ak.Array]:
    """Per jet the constituents decoded from the autoencoder's latents of the true hard cloud, and the true ones,
    each with the jet's passed-through particles appended (jagged ``pt, eta, phi``)."""
    reconstructed, true = [], []
    for start in range(0, jets, batch_size):
        index = np.arange(start, min(start + batch_size, jets))
        batch = jet_batch(
            observed,
            input=model.saved_with.get("input", "observed"),
            index=index,
            hard=hard,
            max_hard=model.config["max_hard"],
            target=model.saved_with.get("target", "detector"),
            context=model.context_features,
            **passthrough_options(model.saved_with),
        )
        t = batch.to_torch()
        with torch.no_grad():
            standardized = model.hard_standardizer(t.hard, t.hard_mask)
            decoded = model.autoencoder.decode(model.autoencoder.encode(standardized, t.hard_mask), t.hard_mask)
            clouds = model.hard_standardizer.inverse(decoded) * t.hard_mask[..., None]
        for cloud, out in ((clouds, reconstructed), (t.hard, true)):
            out.append(to_generated_jets(cloud, t.hard_mask, batch.axis, 1, batch.passthrough).constituents)
    return ak.concatenate(reconstructed), ak.concatenate(true)


def floor(reconstructed: ak.Array, true: ak.Array) -> dict[str, dict[str, float]]:
    """Bias and resolution (with bootstrap errors) of each observable's relative residual reconstructed / true − 1."""

    def observables(constituents):
        fields = {k: constituents[k] for k in ("pt", "eta", "phi")}
        return jet_observables(ak.zip({**fields, "mass": ak.full_like(constituents.pt, PION_MASS)}))

    got, want = observables(reconstructed), observables(true)
    return {name: bootstrap_bias_resolution(got[name] / want[name] - 1.0) for name in OBSERVABLES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="runs/pileup_study/arch_autoencoder", help="a run of --objective autoencoder")
    parser.add_argument("--jets-file", default="runs/pileup_samples/val_top.root", help="validation jets")
    parser.add_argument("--pileup", default="runs/pileup_samples/pool_val.root", help="the validation pool")
    parser.add_argument("--mu", type=float, default=200.0)
    parser.add_argument("--jets", type=int, default=400)
    parser.add_argument("--out", default=None, help="write the numbers as JSON here")
    args = parser.parse_args()
    model = load_model("pileup", args.run)
    if model.config["objective"] != "autoencoder":
        parser.error(f"{args.run} is not a set autoencoder (objective {model.config['objective']!r})")
    hard = read_hard_jets([args.jets_file], entry_stop=args.jets)
    observed = overlay_pileup(
        hard,
        read_pileup_pool([args.pileup]),
        mu=args.mu,
        seed=derive_seed(2026, int(args.mu)),
        detector=CONSTITUENT_DETECTORS[model.saved_with.get("detector", "cms")],
        recluster=bool(model.saved_with.get("recluster", True)),
    )
    result = floor(*reconstructed_and_true(model, observed, hard, len(hard)))
    print(f"the autoencoder's reconstruction floor ({len(hard)} jets of {args.jets_file}, μ = {args.mu:g}):")
    for name, r in result.items():
        bias = f"{r['bias']:+.4f} ± {r['bias_err']:.4f}"
        print(f"  {name:6s} bias {bias}  resolution {r['resolution']:.4f} ± {r['resolution_err']:.4f}")
    if args.out:
        meta = {"run": args.run, "jets_file": args.jets_file, "pileup": args.pileup, "mu": args.mu, "jets": len(hard)}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out) as path:
            path.write_text(json.dumps({"made_on": meta, "floor": result}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
