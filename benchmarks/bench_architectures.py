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
measured here × its evaluations, the observed jet encoded once; with ``--runs`` the trained models' own timings in the
study's world); a variant meets the issue's target when it is ≥ 2× cheaper at μ = 200, its cost grows ≤ 1.3× from
μ = 60 to 200, and its mass resolution is no worse than the transformer's (the paired difference ≤ 2 errors).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from timing import best_of  # benchmarks/ is on the path when run as a script

from hepgen.io.writer import atomic_path
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import VIPRModel, jet_batch, passthrough_options
from hepgen.tasks.run_folder import load_model

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
    "vipr_fm_ot_latents": ("latents 32", "fm_ot_latents", 15),
    "vipr_latent": ("latent diffusion 16 × 8", "latent", 99),
}
#: The trained variants' run folders (``train_architectures.sh``; the reference is the study's spread run of seed 1).
RUN_FOLDER = {
    "vipr_transformer": "spread_vipr_edm_s1",
    "vipr_mod": "arch_mod",
    "vipr_tokenformer": "arch_tokenformer",
    "vipr_latents_mod": "arch_latents_mod",
    "vipr_fm": "arch_fm",
    "vipr_fm_ot": "arch_fm_ot",
    "vipr_fm_ot_latents": "arch_fm_ot_latents",
    "vipr_latent": "arch_latent",
}


def time_trained(
    runs: Path, samples_dir: Path, choice: dict, jets: int, samples: int
) -> tuple[dict[str, dict[float, float]], dict[str, int]]:
    """ms per jet·sample of each trained variant found under ``runs`` at the sampling chosen for it (``choice``'s
    ``per_model``), in the study's world: the first ``jets`` test top jets with the held-out pool behind the CMS-like
    detector, reclustered, at μ = 60 and 200; ``VIPRModel.sample`` alone (multiplicity, encoder, sampler, decoder),
    the fastest of three calls on one batch of ``jets`` × ``samples`` after a warm-up. Returns (ms per jet·sample, parameters) per variant."""
    hard = read_hard_jets([str(samples_dir / "test_top.root")], entry_stop=jets)
    pool = read_pileup_pool([str(samples_dir / "pool_test.root")])
    observed = {
        mu: overlay_pileup(hard, pool, mu=mu, seed=1, detector=CONSTITUENT_DETECTORS["cms"], recluster=True)
        for mu in (60.0, 200.0)
    }
    timed, parameters = {}, {}
    for method, folder in RUN_FOLDER.items():
        if not (runs / folder / "model.pt").exists():
            continue
        model = load_model("pileup", runs / folder)
        parameters[method] = sum(p.numel() for p in model.parameters())
        sampling = choice["per_model"][TRAINED[method][1]]
        timed[method] = {}
        for mu, jets_at_mu in observed.items():
            batch = jet_batch(
                jets_at_mu,
                input=model.saved_with.get("input", "observed"),
                context=model.context_features,
                **passthrough_options(model.saved_with),
            ).to_torch()

            def run(batch=batch) -> None:
                generator = torch.Generator().manual_seed(0)
                model.sample(batch, samples, steps=sampling["steps"], sampler=sampling["sampler"], generator=generator)

            timed[method][mu] = 1e3 * best_of(run, 3, warm_up=True) / (len(hard) * samples)
        print(
            f"{method:18s} {sampling['sampler']:6s} {sampling['nfe']:3d} NFE: {timed[method][60.0]:7.1f} "
            f"{timed[method][200.0]:7.1f} ms per jet·sample at μ = 60, 200"
        )
    return timed, parameters


def cost_table(timed: dict[str, dict[float, float]], parameters: dict[str, int]) -> list[str]:
    """The untrained variants' cost rows (markdown): parameters, ms per jet·sample at μ = 60 and 200, the growth and
    the ratio to today's blocks at μ = 200."""
    reference = timed["transformer (today)"][200.0]
    rows = ["| variant | parameters | ms/jet·sample, μ = 60 | μ = 200 | 200 / 60 | vs today at μ = 200 |"]
    rows.append("|---|---|---|---|---|---|")
    for name, ms in timed.items():
        size = f"{parameters[name]:,}".replace(",", " ")
        rows.append(
            f"| {name} | {size} | {ms[60.0]:.1f} | {ms[200.0]:.1f} | {ms[200.0] / ms[60.0]:.2f} | "
            f"{reference / ms[200.0]:.2f}× |"
        )
    return rows


def quality_table(
    metrics: dict,
    ms: dict[str, dict[float, float]],
    nfe: int,
    choice: dict | None = None,
    trained_ms: dict[str, dict[float, float]] | None = None,
    parameters: dict[str, int] | None = None,
) -> list[str]:
    """The quality–cost rows of the trained variants present in the joint validation ``metrics`` (``ms``: the
    untrained variants' ms per jet·sample at ``nfe`` evaluations, per μ, scaled to each variant's evaluations;
    ``trained_ms``: the trained models' own ms per jet·sample at their sampling, used instead where given;
    ``choice``: ``nfe_curve.py --choose``'s choice.json, whose ``per_model`` evaluations each variant was sampled
    with; ``parameters``: the trained models', a column if given). The target: ≥ 2× cheaper than the transformer at
    μ = 200, a cost growth 200 / 60 ≤ 1.3, and a mass resolution no worse than the transformer's on the same jets
    (the paired difference at most twice its error: equal, or better)."""
    trained_ms, parameters = trained_ms or {}, parameters or {}
    point = {entry["mu"]: entry for entry in metrics["per_mu"].values() if not entry.get("inefficiency")}
    at200 = point[200.0]
    methods = [m for m in TRAINED if m in at200["methods"]]
    reference = None
    size = " parameters |" if parameters else ""
    rows = [
        f"| variant |{size} mass res. μ = 60 | mass res. μ = 200 | τ32 res. μ = 200 | EMD μ = 200 | mass 68 % cov. μ = 200 "
        "| mass res. − transformer's (paired) | NFE | ms/jet·sample μ = 60 | μ = 200 | 200 / 60 | cheaper at 200 "
        "| target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if parameters else ""),
    ]
    for method in methods:
        timed, nfe_name, evaluations = TRAINED[method]
        if choice is not None:
            evaluations = choice["per_model"][nfe_name]["nfe"]
        cost = trained_ms.get(method) or {mu: ms[timed][mu] * evaluations / nfe for mu in (60.0, 200.0)}
        reference = reference or cost[200.0]
        mass = {mu: point[mu]["methods"][method]["mass"] for mu in (60.0, 200.0)}
        cov = at200.get("calibration", {}).get(method, {}).get("mass", {})
        emd = at200.get("emd", {}).get(method, {})
        paired = at200["paired_differences"]["mass"].get(method, {}).get("vipr_transformer")
        no_worse = paired is None or paired["difference"] <= 2 * paired["error"]  # equal quality, or better
        cheaper = reference / cost[200.0]
        growth = cost[200.0] / cost[60.0]
        target = "met" if cheaper >= 2 and growth <= 1.3 and no_worse else "not met"
        size = f" {parameters[method]:,} |".replace(",", " ") if parameters else ""
        rows.append(
            f"| {method} |{size} {mass[60.0]['resolution']:.3f} ± {mass[60.0]['resolution_err']:.3f} | "
            f"{mass[200.0]['resolution']:.3f} ± {mass[200.0]['resolution_err']:.3f} | "
            f"{at200['methods'][method]['tau32']['resolution']:.3f} | "
            f"{emd.get('mean', float('nan')):.3f} ± {emd.get('error', float('nan')):.3f} | "
            f"{cov.get('coverage_68', float('nan')):.3f} ± {cov.get('coverage_68_error', float('nan')):.3f} | "
            + (f"{paired['difference']:+.4f} ± {paired['error']:.4f}" if paired else "—")
            + f" | {evaluations} | {cost[60.0]:.1f} | {cost[200.0]:.1f} | {growth:.2f} | {cheaper:.2f}× | {target} |"
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
    parser.add_argument(
        "--runs", default=None, help="the trained variants' runs (runs/pileup_study): time them too (with --choice)"
    )
    parser.add_argument("--samples-dir", default="runs/pileup_samples", help="the study's jets (with --runs)")
    parser.add_argument(
        "--save", default=None, help="write the timings as JSON (architectures.md's table is regenerated from it)"
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
    sizes: dict[str, int] = {}
    for name, options in VARIANTS.items():
        torch.manual_seed(0)
        model = VIPRModel(**options).eval()
        model.fit_standardization(jet_batch(overlay_pileup(hard, pool, mu=60.0, seed=1), input="chs", hard=hard))
        ms = {}
        for mu, batch in batches.items():

            def run(batch=batch) -> None:
                generator = torch.Generator().manual_seed(0)
                model.sample(batch, args.samples, steps=args.nfe, sampler="euler", generator=generator)

            ms[mu] = 1e3 * best_of(run, 3, warm_up=True) / (args.jets * args.samples)
        reference = reference or ms[200.0]
        timed[name] = ms
        parameters = sizes[name] = sum(p.numel() for p in model.parameters())
        print(
            f"{name:26s}{parameters:12,d}{ms[60.0]:10.1f}{ms[200.0]:10.1f}{ms[200.0] / ms[60.0]:10.2f}"
            f"{reference / ms[200.0]:9.2f}x"
        )

    if args.quality:
        metrics = json.loads(Path(args.quality).read_text(encoding="utf-8"))
        choice = json.loads(Path(args.choice).read_text(encoding="utf-8")) if args.choice else None
        trained_ms = trained_sizes = None
        if args.runs and choice:
            print(f"\nthe trained variants in the study's world ({args.jets} test top jets × {args.samples} samples):")
            trained_ms, trained_sizes = time_trained(
                Path(args.runs), Path(args.samples_dir), choice, args.jets, args.samples
            )
        print("\nquality (test jets, paired on the same jets) and cost at each variant's sampler:")
        print("\n".join(quality_table(metrics, timed, args.nfe, choice, trained_ms, trained_sizes)))
    print("\n" + "\n".join(cost_table(timed, sizes)))
    if args.save:
        saved = {"nfe": args.nfe, "jets": args.jets, "samples": args.samples, "threads": torch.get_num_threads()}
        saved |= {"untrained": timed, "parameters": sizes}
        saved |= {"trained": trained_ms, "trained_parameters": trained_sizes} if args.quality else {}
        with atomic_path(args.save) as path:
            path.write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")


def read_timings(path: str | Path) -> dict:
    """``--save``'s JSON with the μ keys back as floats (``untrained`` and ``trained``: name → μ → ms)."""
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    for key in ("untrained", "trained"):
        if saved.get(key) is not None:
            saved[key] = {name: {float(mu): ms for mu, ms in by_mu.items()} for name, by_mu in saved[key].items()}
    return saved


if __name__ == "__main__":
    main()
