"""The pileup validation's report: its histograms (``hist.Hist``, saved to ``histograms.root``), the table of every
method per point and the summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hepgen.physics.substructure import OBSERVABLE_LABELS, OBSERVABLES
from hepgen.validation.histograms import (
    bins_for,
    counts_histogram,
    coverage_histogram,
    pull_histogram,
    quantile_histogram,
)
from hepgen.validation.pileup.load import PointPrediction, point_folder
from hepgen.validation.tables import calibration_table, cell

__all__ = ["DRAWN", "ordered", "pileup_histograms", "methods_table", "paired_coverage_table", "summary"]

#: The order of methods in tables and legends (learned methods are added after the baselines they beat or not).
_ORDER = (
    "observed",
    "softdrop",
    "chs",
    "chs_softdrop",
    "softkiller",
    "chs_softkiller",
    "puppi",
    "puppi_softdrop",
    "puppi_tuned",
    "puppiml",
    "puppiml_weighted",
    "puppiml_observed",
    "vipr",
    "vipr_samples",
    "vipr_observed",
    "vipr_observed_samples",
    "truth_keep",
)
_TABLE_OBSERVABLES = ("mass", "tau21", "tau32", "d2")
#: The methods drawn in the distribution figures (the others are in the tables and the scans).
DRAWN = ("observed", "chs", "chs_softkiller", "puppiml", "vipr_samples", "vipr_observed_samples")


def ordered(methods: Sequence[str]) -> list[str]:
    return sorted(methods, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m))


def _bins(values: Sequence[np.ndarray], name: str) -> np.ndarray:
    finite = [v[np.isfinite(v)] for v in values]
    jets = min(len(v) for v in finite if len(v))  # the truth's: one entry per jet (a posterior's are per sample)
    if name == "n_constituents":
        hi = max(np.percentile(v, 99.5) for v in finite if len(v))
        return bins_for(jets, 0, hi + 1, at_most=40)
    lo = min(np.percentile(v, 0.5) for v in finite if len(v))
    hi = max(np.percentile(v, 99.5) for v in finite if len(v))
    lo = 0.0 if lo >= 0 and name != "pt" else lo
    return bins_for(jets, lo, hi if hi > lo else lo + 1, at_most=40)


def pileup_histograms(points: list[PointPrediction], evaluated: list[dict[str, Any]]) -> dict[str, Any]:
    """Every histogram of the pileup figures as ``hist.Hist`` (raw counts; the coverage as a profile):
    ``distributions/<point>/<observable>/<truth or method>`` on bins shared by the methods of a point, and
    ``truth_quantiles|coverage|pulls/<observable>/<method>/<point>`` for every posterior."""
    out: dict[str, Any] = {}
    for point, e in zip(points, evaluated):
        arrays, folder = e["arrays"], point_folder(point)
        for name in OBSERVABLES:
            values = {"truth": arrays["truth"][name], **{m: v[name] for m, v in arrays["values"].items() if name in v}}
            drawn = [values[m] for m in ("truth", *DRAWN) if m in values]
            edges = _bins(drawn, name)
            for method, v in values.items():
                out[f"distributions/{folder}/{name}/{method}"] = counts_histogram(
                    v, edges, name=name, label=OBSERVABLE_LABELS[name]
                )
        for method, by_observable in arrays["quantiles"].items():
            for name, q in by_observable.items():
                out[f"truth_quantiles/{name}/{method}/{folder}"] = quantile_histogram(
                    q, label=f"truth quantile of {name}"
                )
                out[f"coverage/{name}/{method}/{folder}"] = coverage_histogram(q, label=f"nominal coverage ({name})")
        for method, by_observable in arrays["pulls"].items():
            for name, p in by_observable.items():
                out[f"pulls/{name}/{method}/{folder}"] = pull_histogram(p, label=f"pull of {name}")
    return out


def methods_table(entry: dict[str, Any], observables: Sequence[str] = _TABLE_OBSERVABLES) -> list[str]:
    """Markdown rows of one point (``metrics["per_mu"][key]``): per method, the bias and resolution of each observable
    with their bootstrap errors, and the parameter chosen on the validation jets."""
    head = "| method | " + " | ".join(f"{o} bias | {o} resolution" for o in observables) + " | chosen (mass) |"
    lines = [head, "|---|" + "---|---|" * len(observables) + "---|"]
    for method in ordered(entry["methods"]):
        m = entry["methods"][method]
        cells = " | ".join(f"{cell(m[o], 'bias', signed=True)} | {cell(m[o], 'resolution')}" for o in observables)
        choice = entry["choices"].get(method, {}).get("mass")
        chosen = ", ".join(f"{k} {v:g}" for k, v in choice.items() if k != "validation_score") if choice else "–"
        lines.append(f"| {method} | {cells} | {chosen} |")
    return lines


def paired_coverage_table(paired: dict[str, Any]) -> list[str]:
    """Lines of a table of each pair of posteriors' coverage difference on the same jets (once per pair), or none."""
    rows = [
        f"| {name} | {method} − {other} | "
        + " | ".join(f"{d['difference']:+.3f} ± {d['error']:.3f}" for d in by_level.values())
        + f" | {next(iter(by_level.values()))['events']} |"
        for name, by_method in paired.items()
        for method, by_other in by_method.items()
        for other, by_level in by_other.items()
        if method < other
    ]
    if not rows:
        return []
    levels = next(iter(next(iter(next(iter(paired.values())).values())).values()))
    return [
        "",
        "Coverage of one posterior minus another's on the same jets (± McNemar's paired error):",
        "",
        f"| observable | posteriors | {' | '.join(f'{float(level) * 100:.0f} % coverage' for level in levels)} | jets |",
        "|---|---|" + "---|" * len(levels) + "---|",
        *rows,
    ]


def _where_tuned(metrics: dict[str, Any]) -> str:
    if metrics.get("tuning_files"):
        return (
            "Parameters are chosen per observable on the validation jets of the tuning predictions "
            f"({', '.join(metrics['tuning_files'])}); every jet below is a test jet."
        )
    return (
        f"Parameters are chosen per observable on {metrics['validation_fraction']:.0%} validation jets; every number "
        "below is on the other (test) jets."
    )


def summary(metrics: dict[str, Any]) -> str:
    lines = [
        "# Pileup removal against the truth (the jet without pileup)",
        "",
        "Relative residual x/x_truth − 1 per jet: bias = median, resolution = IQR/1.349, each ± its bootstrap error "
        f"({metrics['bootstrap']} resamples over jets). Every jet is built with the charged-pion mass for each "
        f"constituent. {_where_tuned(metrics)} `vipr` is the posterior median, `vipr_samples` every sample.",
    ]
    for key, entry in metrics["per_mu"].items():
        samples = ", ".join(f"{m}: {s}" for m, s in entry["samples_per_jet"].items()) or "none"
        lines += [
            "",
            f"## μ = {key} ({entry['test_jets']} test jets; ⟨N_PU⟩ = {entry['mean_pileup_interactions']:.1f}, "
            f"⟨N_PV⟩ = {entry['mean_vertices']:.1f}; samples per jet {samples}; "
            f"{entry['empty_jets_skipped']} empty jets skipped)",
            "",
            *methods_table(entry),
        ]
        if entry.get("emd"):
            lines += [
                "",
                "Energy mover's distance of the constituents from the truth's (per unit of the true jet pT, distances in "
                "units of the jet radius; mean over test jets ± its error; a posterior's averaged over its samples):",
                "",
                "| method | EMD | jets |",
                "|---|---|---|",
                *(f"| {m} | {e['mean']:.4f} ± {e['error']:.4f} | {e['jets']} |" for m, e in entry["emd"].items()),
            ]
        if entry["calibration"]:
            rows = [
                (m, name, c) for m, by_observable in entry["calibration"].items() for name, c in by_observable.items()
            ]
            table = calibration_table(rows, quantity="observable")
            lines += ["", "Calibration (exact estimators; coverage ± its Wilson error):", "", *table]
        lines += paired_coverage_table(entry.get("paired_coverage", {}))
    lines += [
        "",
        "Figures: `distributions_mu*` (with ratio panels), `bias_vs_mu`, `resolution_vs_mu`, `w1_vs_mu` (with "
        "bootstrap error bars), `truth_quantiles`, `coverage`, `pulls` (VIPR calibration), `softdrop_grid` "
        "(validation scores of the jet mass) — each as PDF and PNG; the histograms behind them in `histograms.root` "
        "(`hist.Hist`, read with `hepgen.validation.histograms.read_histograms`).",
        "",
    ]
    return "\n".join(lines)
