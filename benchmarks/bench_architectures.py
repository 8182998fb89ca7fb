"""VIPR's cost per jet·sample for each architecture (issue 30), at μ = 60 and μ = 200, in one run: the plain
transformer blocks (today's denoiser), Mixture-of-Depths at two capacities, TokenFormer blocks, the Perceiver latent
encoder, latents with Mixture-of-Depths, and latent diffusion (the denoiser on 16 latent tokens of a set
autoencoder, decoded once per sample; alone and with the latent encoder); the cost growth from μ = 60 to 200 of each and its ratio to the plain
blocks at μ = 200 (the issue's targets: ≥ 2× cheaper at μ = 200, growth ≤ 1.3). Quality is the study's job
(``analyses/pileup/architectures.md``): these are untrained networks of the default size (dim 64, 3 denoiser and 2
encoder blocks), timed on real inputs — the first ``--jets`` test top jets with the held-out pool, CHS input — with
``--nfe`` Euler steps.

    python benchmarks/bench_architectures.py [--jets 16] [--samples 2] [--nfe 8]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import VIPRModel, jet_batch

ROOT = Path(__file__).resolve().parents[1]
#: name → VIPRModel options.
VARIANTS = {
    "transformer (today)": {},
    "mod, capacity 0.5": {"block": "mod", "mod_capacity": 0.5},
    "mod, capacity 0.25": {"block": "mod", "mod_capacity": 0.25},
    "tokenformer, 64 tokens": {"block": "tokenformer", "param_tokens": 64},
    "latents 32": {"latents": 32},
    "latents 32 + mod 0.25": {"latents": 32, "block": "mod", "mod_capacity": 0.25},
    "latent diffusion 16 × 8": {"latent_tokens": 16, "latent_dim": 8},
    "latent diff. + latents 32": {"latent_tokens": 16, "latent_dim": 8, "latents": 32},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jets", type=int, default=16)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--nfe", type=int, default=8, help="Euler steps (network evaluations)")
    args = parser.parse_args()
    hard = read_hard_jets([str(ROOT / "data/top_jets_test.root")], entry_stop=args.jets)
    pool = read_pileup_pool([str(ROOT / "data/minbias_pool_test.root")])
    batches = {}
    for mu in (60.0, 200.0):
        batch = jet_batch(overlay_pileup(hard, pool, mu=mu, seed=1), input="chs", hard=hard)
        batches[mu] = batch.to_torch()
        print(
            f"μ = {mu:.0f}: {float(batch.observed_mask.sum(1).mean()):.0f} observed (CHS) particles per jet on average"
        )
    print(f"torch threads {torch.get_num_threads()}; ms per jet·sample at {args.nfe} Euler evaluations:")
    print(f"{'variant':26s}{'parameters':>12s}{'μ = 60':>10s}{'μ = 200':>10s}{'200 / 60':>10s}{'vs today':>10s}")
    reference = None
    for name, options in VARIANTS.items():
        torch.manual_seed(0)
        model = VIPRModel(**options).eval()
        model.fit_standardization(jet_batch(overlay_pileup(hard, pool, mu=60.0, seed=1), input="chs", hard=hard))
        ms = {}
        for mu, batch in batches.items():

            def run(batch=batch) -> None:
                generator = torch.Generator().manual_seed(0)
                model.sample(batch, args.samples, steps=args.nfe, sampler="euler", generator=generator)

            run()  # warm-up
            start = time.perf_counter()
            run()
            ms[mu] = 1e3 * (time.perf_counter() - start) / (args.jets * args.samples)
        reference = reference or ms[200.0]
        parameters = sum(p.numel() for p in model.parameters())
        print(
            f"{name:26s}{parameters:12,d}{ms[60.0]:10.1f}{ms[200.0]:10.1f}{ms[200.0] / ms[60.0]:10.2f}"
            f"{reference / ms[200.0]:9.2f}x"
        )


if __name__ == "__main__":
    main()
