"""Does the epistemic part restore calibration off the training detector without costing resolution or calibration
on it? (issue 29, item 3.) The numbers of analyses/uncertainty/README.md, from evaluate.sh's outputs.

    .venv/bin/python analyses/uncertainty/domain_shift.py --validation analyses/uncertainty \\
        --predictions runs/uncertainty_eval --out analyses/uncertainty

Per domain (default detector, degraded detector, the A14 tune, CMS NanoAOD) and method (the aleatoric flow, the deep ensemble, MC
dropout, the Bayesian layer): the pz resolution of the posterior median and the 68 % / 95 % coverage of px, py, pz
with their binomial errors and verdicts (``validation_<domain>/metrics.json``); each epistemic method's pz 68 %
coverage and resolution *paired* with the aleatoric flow's on the same events (McNemar's error; the bootstrap);
and the epistemic std of pz (√(share × variance) of the samples) against the jet multiplicity and the MET, the
distance from the training selection (≥ 4 jets, ≥ 2 b-tags). Writes ``domain_shift.json``, ``summary.md`` (the
tables, printed as well) and the figures ``coverage_by_domain`` and ``epistemic_vs_distance``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hepgen.io.writer import atomic_path, read_event_outputs
from hepgen.plotting.style import label_figure, save_figure, use_style
from hepgen.validation.calibration import truth_quantiles
from hepgen.validation.metrics import paired_accuracy_difference, paired_resolution_difference

DOMAINS = {"default": "default detector", "degraded": "degraded detector", "a14": "A14 tune", "cms": "CMS NanoAOD"}
#: file stem → the name `hepgen validate` gives it (the first flow file keeps the plain name).
METHODS = {
    "aleatoric": "flow",
    "ensemble": "flow (ensemble)",
    "mc_dropout": "flow (mc_dropout)",
    "bayesian": "flow (bayesian)",
}
COMPONENTS = ("px", "py", "pz")
#: One colour per method in every figure (Okabe–Ito).
COLORS = {"aleatoric": "#0072B2", "ensemble": "#D55E00", "mc_dropout": "#009E73", "bayesian": "#CC79A7"}


def read(path: Path) -> dict[str, np.ndarray]:
    outputs, _, _ = read_event_outputs(path, tree="Neutrino")
    keep = outputs["has_truth"].astype(bool)
    return {k: v[keep] for k, v in outputs.items() if isinstance(v, np.ndarray) and len(v) == len(keep)}


def paired(predictions: Path) -> dict:
    """domain → method → pz: 68 % coverage minus the aleatoric flow's (McNemar) and resolution minus its (bootstrap)."""
    out: dict = {}
    for domain in DOMAINS:
        files = {stem: predictions / domain / f"{stem}.root" for stem in METHODS}
        if not all(f.exists() for f in files.values()):
            continue
        runs = {stem: read(f) for stem, f in files.items()}
        truth = runs["aleatoric"]["truth"][:, 2].astype(np.float64)

        def inside(outputs):
            return np.abs(truth_quantiles(outputs["samples"][..., 2], truth) - 0.5) <= 0.34

        def residual(outputs):
            return outputs["point"][:, 2].astype(np.float64) - truth

        for stem in list(METHODS)[1:]:
            coverage, coverage_err = paired_accuracy_difference(inside(runs[stem]), inside(runs["aleatoric"]))
            resolution = paired_resolution_difference(residual(runs[stem]), residual(runs["aleatoric"]))
            out.setdefault(domain, {})[stem] = {
                "pz_coverage_68_difference": coverage,
                "pz_coverage_68_difference_error": coverage_err,
                "pz_resolution_difference": resolution["difference"],
                "pz_resolution_difference_error": resolution["error"],
                "events": int(len(truth)),
            }
    return out


def tables(validation: Path) -> tuple[dict, list[str]]:
    """domain → method → the validation's numbers; and the markdown rows."""
    numbers: dict = {}
    lines = [
        "| domain | method | pz resolution [GeV] | pz 68 % | pz 95 % | px 68 % | py 68 % | pz verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for domain, label in DOMAINS.items():
        path = validation / f"validation_{domain}" / "metrics.json"
        if not path.exists():
            continue
        metrics = json.loads(path.read_text())
        for stem, name in METHODS.items():
            entry = metrics["methods"][name]
            cal = {c: entry[c]["calibration"] for c in COMPONENTS}
            numbers.setdefault(domain, {})[stem] = {
                "events": metrics["events"],
                "pz_resolution": entry["pz"]["resolution"],
                "pz_resolution_err": entry["pz"]["resolution_err"],
                **{f"{c}_coverage_{lvl}": cal[c][f"coverage_{lvl}"] for c in COMPONENTS for lvl in (68, 95)},
                **{
                    f"{c}_coverage_{lvl}_error": cal[c][f"coverage_{lvl}_error"] for c in COMPONENTS for lvl in (68, 95)
                },
                **{f"{c}_verdict": cal[c]["verdict"] for c in COMPONENTS},
            }
            n = numbers[domain][stem]

            def cov(c, lvl, n=n):
                return f"{n[f'{c}_coverage_{lvl}']:.3f} ± {n[f'{c}_coverage_{lvl}_error']:.3f}"

            lines.append(
                f"| {label} ({n['events']}) | {stem} | {n['pz_resolution']:.1f} ± {n['pz_resolution_err']:.1f} | "
                f"{cov('pz', 68)} | {cov('pz', 95)} | {cov('px', 68)} | {cov('py', 68)} | {n['pz_verdict']} |"
            )
    return numbers, lines


def paired_rows(differences: dict) -> list[str]:
    lines = [
        "| domain | method − aleatoric flow, same events | pz 68 % coverage | pz resolution [GeV] |",
        "|---|---|---|---|",
    ]
    for domain, methods in differences.items():
        for stem, d in methods.items():
            lines.append(
                f"| {DOMAINS[domain]} | {stem} | {d['pz_coverage_68_difference']:+.3f} ± "
                f"{d['pz_coverage_68_difference_error']:.3f} | {d['pz_resolution_difference']:+.2f} ± "
                f"{d['pz_resolution_difference_error']:.2f} |"
            )
    return lines


def coverage_figure(numbers: dict, out: Path) -> None:
    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    for ax, component in zip(axes, COMPONENTS):
        for k, stem in enumerate(METHODS):
            x = np.arange(len(numbers)) + 0.15 * (k - 1.5)
            y = [numbers[d][stem][f"{component}_coverage_68"] for d in numbers]
            e = [numbers[d][stem][f"{component}_coverage_68_error"] for d in numbers]
            ax.errorbar(x, y, yerr=e, marker="o", ls="none", label=stem, color=COLORS[stem])
        ax.axhline(0.68, color="grey", ls=":")
        ax.set_xticks(np.arange(len(numbers)), [DOMAINS[d].replace(" ", "\n", 1) for d in numbers], fontsize=11)
        ax.set_title(f"{component}: 68 % interval coverage", fontsize=13)
    axes[0].set_ylabel("coverage", fontsize=13)
    axes[0].legend(fontsize=10)
    fig.tight_layout()
    label_figure(fig)
    save_figure(fig, out / "coverage_by_domain")
    plt.close(fig)


def distance_figure(predictions: Path, out: Path) -> dict:
    """The epistemic std of pz against the jet multiplicity and the MET, per epistemic method and domain."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    summary: dict = {}
    met_edges = np.array([0.0, 25.0, 50.0, 100.0, 200.0, 400.0])
    for domain in DOMAINS:
        analytic = predictions / domain / "analytic.root"
        if not analytic.exists():
            continue
        met = np.hypot(*read(analytic)["point"][:, :2].T.astype(np.float64))  # the analytic solution's px, py: MET
        for stem in list(METHODS)[1:]:
            path = predictions / domain / f"{stem}.root"
            if not path.exists():
                continue
            outputs = read(path)
            pz = outputs["samples"][..., 2].astype(np.float64)
            std = np.sqrt(outputs["epistemic_share"][:, 2] * pz.var(axis=1))
            jets = np.minimum(outputs["jets_mask"].sum(axis=1), 6)
            by_jets = {int(j): float(np.median(std[jets == j])) for j in np.unique(jets) if (jets == j).sum() >= 10}
            met_bin = np.digitize(met, met_edges) - 1
            by_met = {
                f"{met_edges[b]:g}": float(np.median(std[met_bin == b]))
                for b in range(len(met_edges) - 1)
                if (met_bin == b).sum() >= 10
            }
            summary.setdefault(domain, {})[stem] = {"by_jets": by_jets, "by_met": by_met}
            style = {"default": "o-", "degraded": "s--", "a14": "D-.", "cms": "^:"}[domain]
            color = COLORS[stem]
            axes[0].plot(list(by_jets), list(by_jets.values()), style, color=color, label=f"{stem}, {DOMAINS[domain]}")
            centres = [float(b) for b in by_met]
            axes[1].plot(centres, list(by_met.values()), style, color=color)
    axes[0].set_xlabel("jets (6: six or more)", fontsize=13)
    axes[1].set_xlabel("MET bin's lower edge [GeV]", fontsize=13)
    for ax in axes:
        ax.set_ylabel("median epistemic std of pz [GeV]", fontsize=13)
    axes[0].axvline(3.5, color="grey", ls=":")  # the training selection: four jets or more
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    label_figure(fig)
    save_figure(fig, out / "epistemic_vs_distance")
    plt.close(fig)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--validation", type=Path, required=True, help="the folder holding validation_<domain>/")
    parser.add_argument("--predictions", type=Path, required=True, help="the folder holding <domain>/<method>.root")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    numbers, lines = tables(args.validation)
    differences = paired(args.predictions)
    text = "\n".join([*lines, "", *paired_rows(differences)])
    args.out.mkdir(parents=True, exist_ok=True)
    coverage_figure(numbers, args.out)
    distance = distance_figure(args.predictions, args.out)
    with atomic_path(args.out / "domain_shift.json") as tmp:
        tmp.write_text(json.dumps({"per_domain": numbers, "paired": differences, "epistemic_std": distance}, indent=1))
    with atomic_path(args.out / "summary.md") as tmp:
        tmp.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
