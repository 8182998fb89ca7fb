"""The figure of merit the ν²-Flows authors report: the per-bin statistical precision of an unfolded spectrum, for
every dilepton method (the flow, the smeared kinematic reconstruction, Neutrino Weighting, the ellipse method).

    .venv/bin/python analyses/dineutrino/unfolded_precision.py --train runs/dineutrino_eval/train \\
        --validation runs/dineutrino_eval/validation --test runs/dineutrino_eval --out analyses/dineutrino/unfolding

Each folder holds one prediction file per method (``hepgen predict dineutrino``, the same file names in each): the
training events give each method's response matrix, purity and stability (:mod:`hepgen.validation.unfolding`); the
validation events choose its number of D'Agostini iterations (the fewest whose bias on a stressed spectrum stays
below half the statistical precision); the test events' Poisson pseudo-experiments give the precision of each bin of
the unfolded spectrum. An event a method does not answer is an inefficiency of that method. The flow's observable is
the median over its samples of each sample's value, as in the validation. Writes ``unfolding.json`` and, per
observable, ``unfolding_<observable>.{pdf,png}`` (precision per bin, purity and stability, the response matrices).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hepgen.io.writer import atomic_path
from hepgen.plotting.style import color_of, label_figure, save_figure, use_style
from hepgen.validation.dineutrino import method_observables
from hepgen.validation.methods import load_methods
from hepgen.validation.unfolding import build_response, choose_iterations, unfolded_precision

#: The binnings: m(tt̄) [GeV] as CMS's dilepton differential measurements bin it; cos θ⁺ in six equal bins.
BINNINGS = {
    "m_ttbar": np.array([300.0, 380.0, 470.0, 620.0, 820.0, 1100.0, 1500.0]),
    "cos_theta_plus": np.linspace(-1.0, 1.0, 7),
}
LABELS = {"m_ttbar": r"$m(t\bar{t})$ [GeV]", "cos_theta_plus": r"$\cos\theta^{+}$"}


def load(folder: Path) -> dict[str, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """method → (truth observables, reconstructed observables — NaN where the method gave no answer) of a folder."""
    files = sorted(str(p) for p in folder.glob("*.root"))
    methods = load_methods(files, "Dineutrino", truth=("truth", "truth_m_ttbar"))
    out = {}
    for name, outputs in methods.items():
        truth = {k: outputs[f"truth_{k}"].astype(np.float64) for k in BINNINGS}
        reco = method_observables(outputs)
        answered = outputs["answered"].astype(bool)
        out[name] = (truth, {k: np.where(answered, reco[k], np.nan) for k in BINNINGS})
    return out


def study(train: dict, validation: dict, test: dict, *, n_pseudo: int = 500, n_choice: int = 200) -> dict:
    """observable → method → {precision, precision_err, poisson, bias, purity, stability, efficiency, iterations,
    response}; methods present in all three samples."""
    results: dict = {}
    for observable, edges in BINNINGS.items():
        for method in (m for m in train if m in validation and m in test):
            response = build_response(train[method][0][observable], train[method][1][observable], edges)
            chosen, scores = choose_iterations(
                response, validation[method][0][observable], validation[method][1][observable], n_pseudo=n_choice
            )
            precision = unfolded_precision(
                response, test[method][0][observable], test[method][1][observable], iterations=chosen, n_pseudo=n_pseudo
            )
            results.setdefault(observable, {})[method] = {
                **{k: np.asarray(v).tolist() for k, v in precision.items()},
                "purity": response.purity.tolist(),
                "stability": response.stability.tolist(),
                "efficiency": response.efficiencies.tolist(),
                "response": response.matrix.tolist(),
                "iteration_scores": scores,
                "edges": edges.tolist(),
            }
    return results


def gains(results: dict, reference: str = "flow") -> dict:
    """observable → method → the flow's precision gain per bin (the method's precision / the flow's) and its mean."""
    out: dict = {}
    for observable, methods in results.items():
        if reference not in methods:
            continue
        ours = np.array(methods[reference]["precision"])
        for method, entry in methods.items():
            if method == reference:
                continue
            ratio = np.array(entry["precision"]) / ours
            out.setdefault(observable, {})[method] = {"per_bin": ratio.tolist(), "mean": float(np.mean(ratio))}
    return out


def figure(results: dict, out: Path) -> None:
    use_style()
    for observable, methods in results.items():
        names = list(methods)
        fig = plt.figure(figsize=(4.2 * max(3, len(names)), 8.4))
        grid = fig.add_gridspec(2, max(3, len(names)))
        precision_ax, purity_ax = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        edges = np.array(next(iter(methods.values()))["edges"])
        centres = 0.5 * (edges[1:] + edges[:-1])
        for name, entry in methods.items():
            color = color_of(name, precision_ax)
            precision_ax.errorbar(
                centres, entry["precision"], yerr=entry["precision_err"], marker="o", label=name, color=color
            )
            purity_ax.plot(centres, entry["purity"], marker="o", color=color, label=f"{name} purity")
            purity_ax.plot(centres, entry["stability"], marker="s", ls="--", color=color)
        precision_ax.step(
            edges,
            [*methods[names[0]]["poisson"], methods[names[0]]["poisson"][-1]],
            where="post",
            color="grey",
            ls=":",
            label="Poisson (perfect reconstruction)",
        )
        precision_ax.set_ylabel("statistical precision of the unfolded bin")
        purity_ax.set_ylabel("purity (solid), stability (dashed)")
        for ax in (precision_ax, purity_ax):
            ax.set_xlabel(LABELS[observable])
        precision_ax.legend(fontsize=8)
        for i, (name, entry) in enumerate(methods.items()):
            ax = fig.add_subplot(grid[1, i])
            ax.pcolormesh(edges, edges, np.array(entry["response"]), vmin=0, vmax=1, cmap="Blues")
            ax.set_title(f"{name}: P(reco | truth)", fontsize=9)
            ax.set_xlabel(f"true {LABELS[observable]}", fontsize=9)
            ax.set_ylabel(f"reconstructed {LABELS[observable]}", fontsize=9)
        fig.tight_layout()
        label_figure(fig)
        save_figure(fig, out / f"unfolding_{observable}")
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("train", "validation", "test"):
        parser.add_argument(f"--{name}", type=Path, required=True, help=f"the {name} events' prediction files")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pseudo-experiments", type=int, default=500)
    parser.add_argument(
        "--reference",
        default=None,
        help="the flow the gains are of (default: the assignment flow's file if there is one, else 'flow')",
    )
    args = parser.parse_args()
    results = study(load(args.train), load(args.validation), load(args.test), n_pseudo=args.pseudo_experiments)
    methods = next(iter(results.values())) if results else {}
    reference = args.reference or ("flow (flow_assignment)" if "flow (flow_assignment)" in methods else "flow")
    summary = {"reference": reference, "per_observable": results, "gain_over": gains(results, reference)}
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "unfolding.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    figure(results, args.out)
    for observable, methods in summary["gain_over"].items():
        for method, gain in methods.items():
            print(
                f"{observable}: precision of {method} / {reference}'s: mean {gain['mean']:.2f}, per bin "
                + " ".join(f"{g:.2f}" for g in gain["per_bin"])
            )


if __name__ == "__main__":
    main()
