"""The quality–cost curve of VIPR's samplers: bias and resolution of the jet mass, τ21, τ32 and D2, the 68 % coverage
of the mass, and ms per jet·sample, for 1, 2, 4, 8, 16, 32 and 99 network evaluations (NFE), per model and sampler.

Choices are made on validation jets only: ``--split validation`` (the validation part, 30 %, of the jets file by
``hepgen.validation.split``, or ``all`` of a file of validation jets such as the study's ``val_top.root``) with
``--choose`` writes ``choice.json`` — the fewest evaluations whose mass resolution is within 5 % and whose bias is
within 1 point of the 99-NFE EDM reference — and that choice sets the sampling defaults
(``hepgen.tasks.pileup.sampling``). ``--split test`` (the default) only reports: the same table on the test jets,
with the validation choice beside it if ``--choice FILE`` is given, never a new choice.

Same jets for every row: one overlay (seed fixed) with the given pool at μ, the same noise seed per row. The point
estimate is the posterior median over the samples of each jet (as ``validate pileup``); errors are bootstrap over
jets, the coverage's binomial. Timing: ``VIPRModel.sample`` alone (multiplicity + encoder + sampler), batches of 32
jets × S samples, this machine's torch threads.

    .venv/bin/python analyses/pileup/nfe_curve.py --split validation --choose --out analyses/pileup/nfe_validation
    .venv/bin/python analyses/pileup/nfe_curve.py --choice analyses/pileup/nfe_validation/choice.json   # test jets
    .venv/bin/python analyses/pileup/nfe_curve.py --models edm --nfe 1 8 99 --jets 40   # a quick look
    .venv/bin/python analyses/pileup/nfe_curve.py --model edm=runs/pileup_study/vipr_edm_s1 --detector cms \
        --recluster --jets-file runs/pileup_samples/val_top.root --split all --pileup runs/pileup_samples/pool_val.root

Writes ``--out`` (default ``analyses/pileup/nfe``): ``nfe.md`` (the table), ``nfe.json``, ``nfe.pdf|png`` (the
figure) and, with ``--choose``, ``choice.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import awkward as ak
import matplotlib.pyplot as plt
import numpy as np
import torch
import yaml

from hepgen.physics.kinematics import PION_MASS
from hepgen.physics.substructure import jet_observables
from hepgen.plotting.style import label, save_figure, use_style
from hepgen.shards import derive_seed
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.tasks.pileup import jet_batch, network_evaluations, passthrough_options, steps_for, to_generated_jets
from hepgen.tasks.run_folder import load_model
from hepgen.validation.calibration import coverage, coverage_error
from hepgen.validation.metrics import bootstrap_bias_resolution
from hepgen.validation.split import validation_split

HERE = Path(__file__).parent
#: model name → (run folder, [(sampler, schedule)]); a model whose folder is missing is skipped.
MODELS = {
    "edm": (HERE / "model", [("heun", "karras"), ("euler", "karras")]),
    "flow_matching": (HERE / "model_fm", [("heun_t", "uniform_t"), ("euler", "uniform_t")]),
    "student": (HERE / "model_student", [("euler", "uniform_t")]),
}
NFE = (1, 2, 4, 8, 16, 32, 99)


def _samplers(name: str, run: Path) -> list[tuple[str, str]]:
    """The samplers of a model name, or for a new name those of its run's objective (its config.yaml)."""
    if name in MODELS:
        return MODELS[name][1]
    config = run / "config.yaml"
    objective = yaml.safe_load(config.read_text(encoding="utf-8")).get("objective") if config.exists() else "edm"
    return MODELS["flow_matching" if objective == "flow_matching" else "edm"][1]


OBSERVABLES = ("mass", "tau21", "tau32", "d2")
#: The target of issue 16: at ≤ 8 NFE, mass resolution within 5 % and bias within 1 point of the 99-NFE EDM, ≤ 15 ms.
TARGET = {"nfe": 8, "resolution_ratio": 1.05, "bias_points": 0.01, "ms": 15.0}


def with_pion_mass(particles: ak.Array) -> ak.Array:
    return ak.zip(
        {"pt": particles.pt, "eta": particles.eta, "phi": particles.phi, "mass": ak.full_like(particles.pt, PION_MASS)}
    )


def observables_of_samples(constituents: ak.Array) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The observables of each sampled jet; a sample whose sampler diverged (a non-finite or > 100 TeV constituent)
    gets +inf for every observable (so a jet whose samples mostly diverged has an infinite median) and is counted."""
    pt = constituents.pt
    sane = ak.to_numpy(
        ak.all(np.isfinite(pt) & (pt < 1e5) & np.isfinite(constituents.eta) & np.isfinite(constituents.phi), axis=1)
    )
    values = {name: np.full(len(sane), np.inf) for name in OBSERVABLES}
    good = jet_observables(with_pion_mass(constituents[sane]))
    for name in OBSERVABLES:
        values[name][sane] = good[name]
    return values, ~sane


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets-file", default="data/top_jets_test.root")
    parser.add_argument(
        "--split",
        choices=("validation", "test", "all"),
        default="test",
        help="which jets of the file: its validation part (choices), its test part (reports), or all of them",
    )
    parser.add_argument("--choose", action="store_true", help="write choice.json (only with validation jets)")
    parser.add_argument("--choice", default=None, help="a validation run's choice.json to report beside the table")
    parser.add_argument(
        "--model", action="append", default=[], metavar="NAME=RUN", help="another run folder for a model name"
    )
    parser.add_argument("--detector", choices=("none", "cms"), default="none")
    parser.add_argument("--recluster", action="store_true")
    parser.add_argument("--pileup", default="data/minbias_pool_test.root")
    parser.add_argument("--mu", type=float, default=60.0)
    parser.add_argument("--jets", type=int, default=None, help="at most this many test jets (default: all)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--nfe", type=int, nargs="+", default=list(NFE))
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--out", default=str(HERE / "nfe"))
    args = parser.parse_args()

    if args.choose and args.split == "test":
        parser.error("--choose makes a choice: only on validation jets (--split validation or all)")
    models = {**MODELS}
    for entry in args.model:
        name, _, run = entry.partition("=")
        models[name] = (Path(run), _samplers(name, Path(run)))
    hard = read_hard_jets([args.jets_file])
    everything = np.arange(len(hard))
    chosen_jets = {
        "all": everything,
        "validation": np.flatnonzero(validation_split(everything, 0.3)),
        "test": np.flatnonzero(~validation_split(everything, 0.3)),
    }[args.split]
    test = chosen_jets[: args.jets]  # the jets of the rows (validation jets with --split validation)
    hard = hard[test]
    detector = CONSTITUENT_DETECTORS[args.detector]
    observed = overlay_pileup(
        hard,
        read_pileup_pool([args.pileup]),
        mu=args.mu,
        seed=derive_seed(2026, int(args.mu)),
        detector=detector,
        recluster=args.recluster,
    )
    truth_particles = hard.constituents if detector is None else observed.detector_truth
    truth = jet_observables(with_pion_mass(truth_particles))
    print(
        f"{len(test)} {args.split} jets at μ = {args.mu:g}, {args.samples} samples each, torch threads "
        f"{torch.get_num_threads()}"
    )

    rows, residuals = [], {}
    partial = Path(args.out) / "nfe.partial.json"
    partial.parent.mkdir(parents=True, exist_ok=True)
    for name in args.models + [m for m in models if m not in args.models and m not in MODELS]:
        run, samplers = models[name]
        if not (run / "model.pt").exists():
            print(f"{name}: no model at {run}, skipped")
            continue
        model = load_model("pileup", run)
        for sampler, schedule in samplers:
            for nfe in args.nfe:
                steps = steps_for(nfe, sampler)
                evaluations = network_evaluations(steps, sampler)
                if any(r["model"] == name and r["sampler"] == sampler and r["nfe"] == evaluations for r in rows):
                    continue  # Heun at 2 NFE is Heun at 1
                generator = torch.Generator().manual_seed(derive_seed(7, len(rows)))
                generated, elapsed = [], 0.0
                for start in range(0, len(test), 32):
                    index = np.arange(start, min(start + 32, len(test)))
                    batch = jet_batch(
                        observed,
                        input=model.saved_with.get("input", "observed"),
                        index=index,
                        context=model.context_features,
                        **passthrough_options(model.saved_with),
                    )
                    begin = time.perf_counter()
                    clouds, mask = model.sample(
                        batch.to_torch(),
                        args.samples,
                        steps=steps,
                        sampler=sampler,
                        schedule=schedule,
                        generator=generator,
                    )
                    elapsed += time.perf_counter() - begin
                    generated.append(
                        to_generated_jets(clouds, mask, batch.axis, args.samples, batch.passthrough).constituents
                    )
                constituents = ak.concatenate(generated)
                values, diverged = observables_of_samples(constituents)
                row = {
                    "model": name,
                    "sampler": sampler,
                    "schedule": schedule,
                    "steps": steps,
                    "nfe": evaluations,
                    "ms_per_jet_sample": 1e3 * elapsed / (len(test) * args.samples),
                    "diverged_fraction": float(diverged.mean()),
                }
                for obs in OBSERVABLES:
                    samples = values[obs].reshape(len(test), args.samples)
                    usable = np.isfinite(truth[obs]) & (truth[obs] != 0) & ~np.isnan(samples).any(axis=1)
                    median = np.median(samples[usable], axis=1)  # +inf where most samples diverged
                    row[obs] = bootstrap_bias_resolution(median / truth[obs][usable] - 1, resamples=args.bootstrap)
                    if obs == "mass":
                        residual = np.full(len(test), np.nan)
                        residual[usable] = median / truth[obs][usable] - 1
                        residuals[len(rows)] = residual
                        c = float(coverage(samples[usable], truth[obs][usable], np.array([0.683]))[0])
                        row["mass_coverage68"] = c
                        row["mass_coverage68_err"] = float(coverage_error(np.array([c]), int(usable.sum()))[0])
                rows.append(row)
                partial.write_text(json.dumps(rows))  # a crash later loses nothing measured
                m = row["mass"]
                print(
                    f"{name:13s} {sampler:6s} NFE {evaluations:3d}: mass {m['bias']:+.3f} / {m['resolution']:.3f} ± "
                    f"{m['resolution_err']:.3f}, cov68 {row['mass_coverage68']:.2f}, {row['ms_per_jet_sample']:.1f} ms",
                    flush=True,
                )

    compare_with_reference(rows, residuals, args.bootstrap)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "split": args.split,
        "detector": args.detector,
        "recluster": args.recluster,
        "jets": int(len(test)),
        "samples": args.samples,
        "mu": args.mu,
        "threads": torch.get_num_threads(),
        "jets_file": args.jets_file,
        "pileup": args.pileup,
    }
    (out / "nfe.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    if args.choose:
        (out / "choice.json").write_text(json.dumps(choose(rows, meta), indent=1))
    validation_choice = json.loads(Path(args.choice).read_text()) if args.choice else None
    (out / "nfe.md").write_text(table(rows, meta, validation_choice))
    figure(rows, out / "nfe")
    print((out / "nfe.md").read_text())


def compare_with_reference(rows: list[dict], residuals: dict[int, np.ndarray], resamples: int) -> None:
    """Each row's mass resolution over the 99-NFE EDM Heun row's and its bias difference, with errors from a paired
    bootstrap over the jets (both on the same jets: their noise is correlated, the paired error is the right one)."""
    ref = next(
        (i for i, r in enumerate(rows) if r["model"] == "edm" and r["sampler"] == "heun" and r["nfe"] >= 99), None
    )
    if ref is None:
        return
    rng = np.random.default_rng(11)
    for i, row in enumerate(rows):
        both = np.isfinite(residuals[i]) & np.isfinite(residuals[ref])
        a, b = residuals[i][both], residuals[ref][both]
        if len(a) < 2:  # nothing finite to compare (a diverged sampler)
            row.update(
                mass_resolution_ratio=float("nan"),
                mass_resolution_ratio_err=float("nan"),
                mass_bias_shift=float("nan"),
                mass_bias_shift_err=float("nan"),
            )
            continue

        def stats(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
            def iqr(v):
                return np.subtract(*np.percentile(v, [75, 25]))

            return iqr(x) / iqr(y), np.median(x) - np.median(y)

        ratio, shift = stats(a, b)
        boot = np.array([stats(a[j], b[j]) for j in rng.integers(0, len(a), (resamples, len(a)))])
        row["mass_resolution_ratio"], row["mass_resolution_ratio_err"] = float(ratio), float(boot[:, 0].std(ddof=1))
        row["mass_bias_shift"], row["mass_bias_shift_err"] = float(shift), float(boot[:, 1].std(ddof=1))


def equal_quality(row: dict) -> bool:
    """Within 5 % of the reference's mass resolution and 1 point of its bias, no divergence, at any cost."""
    return bool(
        row.get("mass_resolution_ratio", np.inf) <= TARGET["resolution_ratio"]
        and abs(row.get("mass_bias_shift", np.inf)) <= TARGET["bias_points"]
        and row["diverged_fraction"] == 0
    )


def meets_target(row: dict) -> bool:
    """Of the reference's quality (:func:`equal_quality`) at ≤ 8 NFE and ≤ 15 ms."""
    return equal_quality(row) and row["nfe"] <= TARGET["nfe"] and row["ms_per_jet_sample"] <= TARGET["ms"]


def choose(rows: list[dict], meta: dict) -> dict:
    """The validation jets' choice: the cheapest row (fewest evaluations, then fewest ms) that meets the target, or
    none; with the jets it was made on. And per model (``per_model``) its cheapest row of the reference's quality
    (:func:`equal_quality`, at any number of evaluations; ``equal_quality: false`` and its most evaluations where
    none is), with its validation mass resolution: the sampling that compares models at equal quality (issue 30)."""
    keys = ("model", "sampler", "schedule", "steps", "nfe", "ms_per_jet_sample")

    def cheapest(candidates):
        return min(candidates, key=lambda r: (r["nfe"], r["ms_per_jet_sample"]))

    passing = [r for r in rows if meets_target(r)]
    per_model = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        own = [r for r in rows if r["model"] == model]
        good = [r for r in own if equal_quality(r)]
        row = cheapest(good) if good else max(own, key=lambda r: (r["nfe"], -r["ms_per_jet_sample"]))
        per_model[model] = {k: row[k] for k in keys} | {
            "equal_quality": bool(good),
            "mass_resolution": row["mass"]["resolution"],
            "mass_resolution_err": row["mass"]["resolution_err"],
        }
    return {
        "made_on": meta,
        "choice": {k: cheapest(passing)[k] for k in keys} if passing else None,
        "per_model": per_model,
    }


def verdict(rows: list[dict]) -> list[str]:
    """The issue's target against the 99-NFE EDM Heun row."""
    reference = next((r for r in rows if r["model"] == "edm" and r["sampler"] == "heun" and r["nfe"] >= 99), None)
    if reference is None:
        return ["(no 99-NFE EDM reference in this run)"]
    ref = reference["mass"]
    lines = [
        f"Reference (EDM Heun, {reference['nfe']} NFE): mass {ref['bias']:+.3f} / {ref['resolution']:.3f} ± "
        f"{ref['resolution_err']:.3f}, {reference['ms_per_jet_sample']:.1f} ms per jet·sample.",
        "",
    ]
    for r in rows:
        if r is reference:
            continue
        if meets_target(r):
            lines.append(
                f"- **meets the target**: {r['model']} {r['sampler']} at {r['nfe']} NFE: resolution "
                f"{r['mass_resolution_ratio']:.3f} ± {r['mass_resolution_ratio_err']:.3f} × the reference, bias "
                f"{100 * r['mass_bias_shift']:+.1f} ± {100 * r['mass_bias_shift_err']:.1f} points, "
                f"{r['ms_per_jet_sample']:.1f} ms"
            )
    if len(lines) == 2:
        lines.append("- no row at ≤ 8 NFE meets the target (resolution within 5 %, bias within 1 point, ≤ 15 ms)")
    return lines


def table(rows: list[dict], meta: dict, validation_choice: dict | None = None) -> str:
    head = [
        "model",
        "sampler",
        "NFE",
        *[f"{o} bias / resolution" for o in OBSERVABLES],
        "mass 68 % coverage",
        "mass resolution / reference",
        "mass bias − reference",
        "diverged samples",
        "ms per jet·sample",
    ]
    lines = [
        f"# VIPR: quality against cost ({meta['jets']} {meta['split']} jets, μ = {meta['mu']:g}, {meta['samples']} "
        f"samples per jet, {meta['threads']} torch threads, detector {meta['detector']})",
        "",
        *(
            [
                f"Chosen on {validation_choice['made_on']['jets']} validation jets "
                f"({validation_choice['made_on']['jets_file']}): {validation_choice['choice']}; these rows only "
                "report it.",
                "",
            ]
            if validation_choice
            else []
        ),
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        cells = [r["model"], r["sampler"], str(r["nfe"])]
        cells += [f"{r[o]['bias']:+.3f} / {r[o]['resolution']:.3f} ± {r[o]['resolution_err']:.3f}" for o in OBSERVABLES]
        cells += [f"{r['mass_coverage68']:.2f} ± {r['mass_coverage68_err']:.2f}"]
        cells += (
            [
                f"{r['mass_resolution_ratio']:.3f} ± {r['mass_resolution_ratio_err']:.3f}",
                f"{100 * r['mass_bias_shift']:+.1f} ± {100 * r['mass_bias_shift_err']:.1f} points",
            ]
            if "mass_resolution_ratio" in r
            else ["–", "–"]
        )
        cells += [f"{100 * r['diverged_fraction']:.1f} %", f"{r['ms_per_jet_sample']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *verdict(rows), ""])


def figure(rows: list[dict], path: Path) -> None:
    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(18, 6), constrained_layout=True)
    for model, sampler in dict.fromkeys((r["model"], r["sampler"]) for r in rows):
        chosen = sorted((r for r in rows if r["model"] == model and r["sampler"] == sampler), key=lambda r: r["nfe"])
        nfe = [r["nfe"] for r in chosen]
        style = {"marker": "o", "label": f"{model}, {sampler}", "ls": "-" if "heun" in sampler else "--"}
        axes[0].errorbar(
            nfe, [r["mass"]["resolution"] for r in chosen], [r["mass"]["resolution_err"] for r in chosen], **style
        )
        axes[1].errorbar(nfe, [r["mass"]["bias"] for r in chosen], [r["mass"]["bias_err"] for r in chosen], **style)
        axes[2].plot([r["ms_per_jet_sample"] for r in chosen], [r["mass"]["resolution"] for r in chosen], **style)
    for ax, ylabel in zip(axes, ("mass resolution (IQR/1.349)", "mass bias (median)", "mass resolution")):
        ax.set_ylabel(ylabel)
        ax.set_xscale("log")
    axes[0].set_xlabel("network evaluations")
    axes[1].set_xlabel("network evaluations")
    axes[2].set_xlabel("ms per jet·sample")
    axes[1].axhline(0, color="grey", lw=1)
    axes[0].legend(fontsize="x-small")
    for ax in axes:
        label(ax)
    save_figure(fig, path)
    plt.close(fig)


if __name__ == "__main__":
    main()
