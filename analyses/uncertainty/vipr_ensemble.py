"""Does a deep ensemble of VIPR seeds calibrate better than one seed? (issue 29, item 4.) The numbers of the VIPR
section of analyses/uncertainty/README.md, from the pileup study's validations (analyses/pileup/evaluate_at_scale.sh,
section 2).

    .venv/bin/python analyses/uncertainty/vipr_ensemble.py --validation analyses/pileup/validation_study \\
        --out analyses/uncertainty

Reads ``spread_ensemble/metrics.json`` — seed 1 alone (``vipr_single``) and the three seeds as one mixture
(``vipr_ensemble``, 3 samples from each), 9 samples per jet each, on the same test top jets with the same pileup at
each μ — and ``spread_s<seed>/metrics.json`` (each seed alone, 8 samples per jet, for the spread between seeds).
Per μ and observable: the 68 % and 95 % coverage of both with Wilson errors and their verdicts, the mixture minus
the single model on the same jets (McNemar's error) and the resolution of the posterior median minus the single
model's (paired bootstrap). Writes ``vipr_ensemble.json``, ``vipr_ensemble.md`` (printed as well) and the figure
``vipr_ensemble_coverage``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hepgen.io.writer import atomic_path
from hepgen.plotting.style import label_figure, save_figure, use_style

#: The observables of the tables and the figure (the posterior's jet substructure and kinematics).
OBSERVABLES = ("mass", "pt", "tau21", "tau32", "d2")
SINGLE, ENSEMBLE = "vipr_single", "vipr_ensemble"
LEVELS = {"68": "0.683", "95": "0.95"}
COLORS = {SINGLE: "#0072B2", ENSEMBLE: "#D55E00"}


def numbers(validation: Path) -> dict:
    """μ → observable → the single model's and the mixture's coverage, their paired difference, the resolution
    difference; and μ → seed → the mass coverage and resolution of each seed alone."""
    metrics = json.loads((validation / "spread_ensemble" / "metrics.json").read_text())
    out: dict = {"per_mu": {}, "seeds": {}}
    for mu, entry in sorted(metrics["per_mu"].items(), key=lambda item: float(item[0])):
        per_observable = {}
        for name in OBSERVABLES:
            row: dict = {"jets": entry["calibration"][SINGLE][name]["events"]}
            for method in (SINGLE, ENSEMBLE):
                c = entry["calibration"][method][name]
                row[method] = {
                    k: c[k] for k in ("coverage_68", "coverage_68_error", "coverage_95", "coverage_95_error")
                }
                row[method]["verdict"] = c["verdict"]
                row[method]["resolution"] = entry["methods"][method][name]["resolution"]
                row[method]["resolution_err"] = entry["methods"][method][name]["resolution_err"]
            for level, key in LEVELS.items():
                row[f"coverage_{level}_difference"] = entry["paired_coverage"][name][ENSEMBLE][SINGLE][key]
            row["resolution_difference"] = entry["paired_differences"][name][ENSEMBLE][SINGLE]
            per_observable[name] = row
        out["per_mu"][mu] = per_observable
    for seed in (1, 2, 3):
        path = validation / f"spread_s{seed}" / "metrics.json"
        if not path.exists():
            continue
        per_mu = json.loads(path.read_text())["per_mu"]
        for mu, entry in sorted(per_mu.items(), key=lambda item: float(item[0])):
            c, m = entry["calibration"]["vipr"]["mass"], entry["methods"]["vipr"]["mass"]
            out["seeds"].setdefault(mu, {})[seed] = {
                "coverage_68": c["coverage_68"],
                "coverage_68_error": c["coverage_68_error"],
                "resolution": m["resolution"],
                "resolution_err": m["resolution_err"],
            }
    return out


def table(result: dict) -> list[str]:
    def cov(c: dict, level: str) -> str:
        return f"{c[f'coverage_{level}']:.3f} ± {c[f'coverage_{level}_error']:.3f}"

    def diff(d: dict, digits: int = 3) -> str:
        return f"{d['difference']:+.{digits}f} ± {d['error']:.{digits}f}"

    lines = [
        "| μ | observable | jets | 68 %: one seed | 68 %: ensemble | 68 %: ensemble − one | 95 %: one seed "
        "| 95 %: ensemble | 95 %: ensemble − one | verdict: one / ensemble | resolution: ensemble − one |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mu, per_observable in result["per_mu"].items():
        for name, r in per_observable.items():
            one, mix = r[SINGLE], r[ENSEMBLE]
            lines.append(
                f"| {float(mu):g} | {name} | {r['jets']} | {cov(one, '68')} | {cov(mix, '68')} | "
                f"{diff(r['coverage_68_difference'])} | {cov(one, '95')} | {cov(mix, '95')} | "
                f"{diff(r['coverage_95_difference'])} | {one['verdict']} / {mix['verdict']} | "
                f"{diff(r['resolution_difference'], 4)} |"
            )
    if result["seeds"]:
        lines += [
            "",
            "Each seed alone (8 samples per jet, the same jets and pileup): jet-mass 68 % coverage and resolution of "
            "the posterior median:",
            "",
            "| μ | seed | mass 68 % coverage | mass resolution |",
            "|---|---|---|---|",
        ]
        for mu, by_seed in result["seeds"].items():
            for seed, s in by_seed.items():
                lines.append(
                    f"| {float(mu):g} | {seed} | {s['coverage_68']:.3f} ± {s['coverage_68_error']:.3f} | "
                    f"{s['resolution']:.4f} ± {s['resolution_err']:.4f} |"
                )
    return lines


def figure(result: dict, out: Path) -> None:
    """The 68 % and 95 % coverage per observable, one seed against the ensemble, one column per μ."""
    use_style()
    points = list(result["per_mu"])
    fig, axes = plt.subplots(2, len(points), figsize=(5.5 * len(points), 8), sharex=True, squeeze=False)
    x = np.arange(len(OBSERVABLES))
    for column, mu in enumerate(points):
        for row, (level, nominal) in enumerate(LEVELS.items()):
            ax = axes[row, column]
            for k, method in enumerate((SINGLE, ENSEMBLE)):
                entries = [result["per_mu"][mu][name][method] for name in OBSERVABLES]
                ax.errorbar(
                    x + 0.12 * (2 * k - 1),
                    [e[f"coverage_{level}"] for e in entries],
                    yerr=[e[f"coverage_{level}_error"] for e in entries],
                    marker="o",
                    ls="none",
                    color=COLORS[method],
                    label="one seed" if method == SINGLE else "ensemble of 3 seeds",
                )
            ax.axhline(float(nominal), color="grey", ls=":")
            ax.set_title(f"μ = {float(mu):g}: {level} % interval", fontsize=13)
            ax.set_xticks(x, OBSERVABLES, fontsize=11)
        axes[0, column].set_ylabel("coverage", fontsize=13)
        axes[1, column].set_ylabel("coverage", fontsize=13)
    axes[0, -1].legend(fontsize=10)
    fig.tight_layout()
    label_figure(fig)
    save_figure(fig, out / "vipr_ensemble_coverage")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--validation", type=Path, required=True, help="the folder holding spread_ensemble/")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = numbers(args.validation)
    text = "\n".join(table(result))
    args.out.mkdir(parents=True, exist_ok=True)
    figure(result, args.out)
    with atomic_path(args.out / "vipr_ensemble.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1))
    with atomic_path(args.out / "vipr_ensemble.md") as tmp:
        tmp.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
