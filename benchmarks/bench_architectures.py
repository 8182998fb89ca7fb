"""VIPR's cost per jet·sample for each architecture (issue 30), at μ = 60 and μ = 200, in one run: the plain
transformer blocks (today's denoiser), Mixture-of-Depths at two capacities, TokenFormer blocks, the Perceiver latent
encoder, latents with Mixture-of-Depths, and latent diffusion (the denoiser on 16 latent tokens of a set
autoencoder, decoded once per sample; alone and with the latent encoder); the cost growth from μ = 60 to 200 of each and its ratio to the plain
blocks at μ = 200 (the issue's targets: ≥ 2× cheaper at μ = 200, growth ≤ 1.3). Quality is the study's job
(``analyses/pileup/architectures.md``): these are untrained networks of the default size (dim 64, 3 denoiser and 2
encoder blocks), timed on real inputs — the first ``--jets`` test top jets with the held-out pool, CHS input — with
``--nfe`` Euler steps.

    python benchmarks/bench_architectures.py [--jets 16] [--samples 2] [--nfe 8] \
        [--quality analyses/pileup/validation_study/architectures/metrics.json]

With ``--quality`` (the trained variants validated together on the same test jets, ``evaluate_at_scale.sh`` section
5) it also prints the quality–cost table of ``analyses/pileup/architectures.md``: per variant the jet-mass and τ32
resolution, the energy mover's distance and the mass 68 % coverage at μ = 200, the mass resolution minus the plain
transformer's on the same jets (paired), and its cost at the sampler it was evaluated with (the time per evaluation
measured here × its evaluations, the observed jet encoded once); a variant meets the issue's target when it is ≥ 2×
cheaper at μ = 200 with a mass resolution within twice the paired error of the transformer's.
"""

from __future__ import annotations

import argparse
import json
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
#: The trained variants (their names in the joint validation) → (the variant timed above, its name in the NFE curve of
#: the architectures, the network evaluations of its model's default sampler: EDM's 50 Heun steps, flow matching's 8
#: Heun steps in t). With ``--choice`` each is costed at the evaluations chosen for it on validation jets instead.
TRAINED = {
    "vipr_transformer": ("transformer (today)", "edm", 99),
    "vipr_mod": ("mod, capacity 0.25", "mod", 99),
    "vipr_tokenformer": ("tokenformer, 64 tokens", "tokenformer", 99),
    "vipr_latents_mod": ("latents 32 + mod 0.25", "latents_mod", 99),
    "vipr_fm": ("transformer (today)", "fm", 15),
    "vipr_fm_ot": ("transformer (today)", "fm_ot", 15),
    "vipr_latent": ("latent diffusion 16 × 8", "latent", 99),
}


def quality_table(metrics: dict, ms: dict[str, dict[float, float]], nfe: int, choice: dict | None = None) -> list[str]:
    """The quality–cost rows of the trained variants present in the joint validation ``metrics`` (``ms``: the
    timed variants' ms per jet·sample at ``nfe`` evaluations, per μ; ``choice``: ``nfe_curve.py --choose``'s
    choice.json, whose ``per_model`` evaluations each variant was sampled with)."""
    point = {entry["mu"]: entry for entry in metrics["per_mu"].values() if not entry.get("inefficiency")}
    at200 = point[200.0]
    methods = [m for m in TRAINED if m in at200["methods"]]
    reference = None
    rows = [
        "| variant | mass res. μ = 60 | mass res. μ = 200 | τ32 res. μ = 200 | EMD μ = 200 | mass 68 % cov. μ = 200 "
        "| mass res. − transformer's (paired) | NFE | ms/jet·sample μ = 60 | μ = 200 | 200 / 60 | cheaper at 200 "
        "| target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in methods:
        timed, nfe_name, evaluations = TRAINED[method]
        if choice is not None:
            evaluations = choice["per_model"][nfe_name]["nfe"]
        cost = {mu: ms[timed][mu] * evaluations / nfe for mu in (60.0, 200.0)}
        reference = reference or cost[200.0]
        mass = {mu: point[mu]["methods"][method]["mass"] for mu in (60.0, 200.0)}
        cov = at200.get("calibration", {}).get(method, {}).get("mass", {})
        emd = at200.get("emd", {}).get(method, {})
        paired = at200["paired_differences"]["mass"].get(method, {}).get("vipr_transformer")
        same = paired is None or abs(paired["difference"]) <= 2 * paired["error"]
        cheaper = reference / cost[200.0]
        target = "met" if cheaper >= 2 and same else "not met"
        rows.append(
            f"| {method} | {mass[60.0]['resolution']:.3f} ± {mass[60.0]['resolution_err']:.3f} | "
            f"{mass[200.0]['resolution']:.3f} ± {mass[200.0]['resolution_err']:.3f} | "
            f"{at200['methods'][method]['tau32']['resolution']:.3f} | "
            f"{emd.get('mean', float('nan')):.3f} ± {emd.get('error', float('nan')):.3f} | "
            f"{cov.get('coverage_68', float('nan')):.3f} ± {cov.get('coverage_68_error', float('nan')):.3f} | "
            + (f"{paired['difference']:+.4f} ± {paired['error']:.4f}" if paired else "—")
            + f" | {evaluations} | {cost[60.0]:.0f} | {cost[200.0]:.0f} | {cost[200.0] / cost[60.0]:.2f} | {cheaper:.2f}× | {target} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jets", type=int, default=16)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--nfe", type=int, default=8, help="Euler steps (network evaluations)")
    parser.add_argument("--quality", default=None, help="the joint validation of the trained variants (metrics.json)")
    parser.add_argument(
        "--choice", default=None, help="the architectures' NFE choice (choice.json): each variant's evaluations"
    )
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
    timed: dict[str, dict[float, float]] = {}
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
        timed[name] = ms
        parameters = sum(p.numel() for p in model.parameters())
        print(
            f"{name:26s}{parameters:12,d}{ms[60.0]:10.1f}{ms[200.0]:10.1f}{ms[200.0] / ms[60.0]:10.2f}"
            f"{reference / ms[200.0]:9.2f}x"
        )

    if args.quality:
        metrics = json.loads(Path(args.quality).read_text(encoding="utf-8"))
        print("\nquality (test jets, paired on the same jets) and cost at each variant's sampler:")
        choice = json.loads(Path(args.choice).read_text(encoding="utf-8")) if args.choice else None
        print("\n".join(quality_table(metrics, timed, args.nfe, choice)))


if __name__ == "__main__":
    main()
