"""The neutrino validation's report: its histograms, the markdown tables and summary, and the figures drawn from
the histograms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hepgen.physics.neutrino import W_MASS
from hepgen.validation.histograms import (
    bins_for,
    counts_histogram,
    coverage_histogram,
    pull_histogram,
    quantile_histogram,
)
from hepgen.validation.neutrino.assignment import MULTIPLICITIES
from hepgen.validation.tables import calibration_table, cell

__all__ = ["COMPONENTS", "neutrino_histograms", "methods_table", "assignment_table", "summary", "draw_figures"]

#: The neutrino components every method is scored on.
COMPONENTS = ("px", "py", "pz", "eta")
_UNITS = {"px": "GeV", "py": "GeV", "pz": "GeV", "eta": ""}
#: Half-width [GeV] of the pz window mode (the same as :data:`hepgen.validation.neutrino.PZ_WINDOW_HALF_WIDTH`).


#: The histograms of the neutrino validation: key prefix → ((low, high, most bins), axis name, axis label, figure x
#: label); the bins follow the number of events (:func:`~hepgen.plotting.distributions.bins_for`).
_HISTOGRAM_AXES = {
    "residual_pz": (
        (-400, 400, 80),
        "residual_pz",
        "pz(ν) predicted − true [GeV]",
        r"$p_z^{\nu}$ (predicted $-$ true) [GeV]",
    ),
    "m_lnu": ((0, 200, 50), "m_lnu", "m(ℓν) [GeV]", r"$m(\ell\nu)$ [GeV]"),
    "m_lnub": ((50, 350, 50), "m_lnub", "m(ℓνb) [GeV]", r"$m(\ell\nu b)$ [GeV]"),
    "m_lnu_samples": ((0, 200, 80), "m_lnu", "m(ℓν) of the posterior samples [GeV]", r"$m(\ell\nu)$ [GeV]"),
}


def neutrino_histograms(
    residuals: dict[str, np.ndarray],
    m_lnu: dict[str, np.ndarray],
    m_lnub: dict[str, np.ndarray],
    sample_masses: dict[str, np.ndarray],
    quantiles: dict[str, dict[str, np.ndarray]],
    pull_values: dict[str, dict[str, np.ndarray]],
) -> dict[str, Any]:
    """Every histogram of the neutrino figures, ``kind/[component/]method`` → ``hist.Hist`` (raw counts)."""
    out: dict[str, Any] = {}
    m_samples = {"truth": m_lnu["truth"], **sample_masses} if sample_masses else {}
    for kind, values in (
        ("residual_pz", residuals),
        ("m_lnu", m_lnu),
        ("m_lnub", m_lnub),
        ("m_lnu_samples", m_samples),
    ):
        (low, high, most), axis, axis_label, _ = _HISTOGRAM_AXES[kind]
        events = len(next(iter(m_lnu.values())))
        edges = bins_for(events, low, high, at_most=most)
        for method, v in values.items():
            out[f"{kind}/{method}"] = counts_histogram(v, edges, name=axis, label=axis_label)
    for c in COMPONENTS:
        unit = f" [{_UNITS[c]}]" if _UNITS[c] else ""
        for method, q in quantiles[c].items():
            out[f"truth_quantiles/{c}/{method}"] = quantile_histogram(q, label=f"truth quantile of {c}")
            out[f"coverage/{c}/{method}"] = coverage_histogram(q, label=f"nominal coverage ({c})")
        for method, p in pull_values[c].items():
            out[f"pulls/{c}/{method}"] = pull_histogram(p, label=f"pull of {c}{unit}")
    return out


def _select(histograms: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The histograms under ``prefix/``, by the rest of their key."""
    return {k[len(prefix) + 1 :]: h for k, h in histograms.items() if k.startswith(prefix + "/")}


def methods_table(metrics: dict[str, Any]) -> list[str]:
    """Markdown rows: bias and resolution (± bootstrap errors) of every component and the median m(ℓν), per method
    and point estimate, and the truth."""
    lines = [
        "| method | " + " | ".join(f"{c} bias | {c} resolution" for c in COMPONENTS) + " | median m(ℓν) [GeV] |",
        "|---|" + "---|---|" * len(COMPONENTS) + "---|",
    ]
    for name, entry in metrics["methods"].items():
        cells = [
            f"{cell(entry[c], 'bias', digits='.3g')} | {cell(entry[c], 'resolution', digits='.3g')}" for c in COMPONENTS
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {metrics['m_lnu_median'][name]:.1f} |")
    lines.append(
        "| truth | " + " | ".join("– | –" for _ in COMPONENTS) + f" | {metrics['m_lnu_median']['truth']:.1f} |"
    )
    return lines


def assignment_table(metrics: dict[str, Any]) -> list[str]:
    """Markdown rows: the leptonic-b assignment accuracy per method and jet multiplicity (± binomial errors)."""
    assignment = metrics.get("assignment")
    if not assignment:
        return []
    events = assignment["events"]
    lines = [
        "| method | " + " | ".join(f"{m} jets ({events[m]} events)" for m in MULTIPLICITIES) + " |",
        "|---|" + "---|" * len(MULTIPLICITIES),
    ]
    for name, by_kind in assignment["methods"].items():
        for kind, label in (("chi2", "χ²"), ("head", "learned head")):
            if kind in by_kind:
                cells = [
                    f"{by_kind[kind][m]['accuracy']:.3f} ± {by_kind[kind][m]['error']:.3f}" for m in MULTIPLICITIES
                ]
                lines.append(f"| {name} ({label}) | " + " | ".join(cells) + " |")
    differences = [
        (name, kind, by_kind[f"{kind}_minus_analytic"])
        for name, by_kind in assignment["methods"].items()
        for kind in ("chi2", "head")
        if f"{kind}_minus_analytic" in by_kind
    ]
    if differences:
        lines += [
            "",
            "Accuracy minus the analytic χ²'s on the same events (± the paired McNemar error):",
            "",
            "| method | " + " | ".join(f"{m} jets" for m in MULTIPLICITIES) + " |",
            "|---|" + "---|" * len(MULTIPLICITIES),
        ]
        for name, kind, diff in differences:
            cells = [f"{diff[m]['difference']:+.3f} ± {diff[m]['error']:.3f}" for m in MULTIPLICITIES]
            lines.append(f"| {name} ({'χ²' if kind == 'chi2' else 'learned head'}) | " + " | ".join(cells) + " |")
    return lines


def summary(metrics: dict[str, Any]) -> str:
    lines = [
        "# Neutrino regression: comparison of methods",
        "",
        f"{metrics['events']} events. Bias = median residual, resolution = IQR/1.349 of the residual, each ± its "
        f"bootstrap error ({metrics['bootstrap']} resamples over events). `flow` is the posterior median per component, "
        "`flow_mode` the most likely posterior sample, `flow_window` the median's px, py with the pz sample that has the "
        f"most posterior mass within ±{metrics['pz_window_half_width']:g} GeV; `analytic` the W-mass solution with the smaller |pz| "
        "(MET for px, py).",
        "",
        *methods_table(metrics),
    ]
    peaks = [(name, e) for name, e in metrics["methods"].items() if "m_lnu_samples_peak" in e]
    if peaks:
        lines += [
            "",
            f"m(ℓν) of every posterior sample (the W mass is {metrics['w_mass']:.1f} GeV): "
            + "; ".join(
                f"{name}: peak {e['m_lnu_samples_peak']:.1f} GeV, median {e['m_lnu_samples_median']:.1f} GeV"
                for name, e in peaks
            )
            + ".",
        ]
    calibrated = [
        (name, c, entry[c]["calibration"])
        for name, entry in metrics["methods"].items()
        for c in COMPONENTS
        if entry[c].get("calibration")
    ]
    lines += [
        "",
        "## Calibration of the probabilistic methods",
        "",
        *calibration_table(calibrated, quantity="component"),
    ]
    table = assignment_table(metrics)
    if table:
        lines += [
            "",
            "## Which jet is the leptonic b",
            "",
            "χ² of m(ℓνb), m(jjj) and m(jj) over the assignments of the leading six jets (b's among the b-tagged), "
            "with each method's neutrino (the analytic one tries both W-mass roots); widths tuned on "
            f"{metrics['assignment']['validation_fraction']:.0%} validation events, accuracy on the others "
            "(events whose leptonic b is matched to one of the six jets).",
            "",
            *table,
        ]
    lines += [
        "",
        "Figures: `residual_pz`, `m_lnu`, `m_lnu_samples`, `m_lnub`, `truth_quantiles`, `coverage`, `pulls` "
        "(PDF and PNG), drawn from the histograms in `histograms.root` (`hist.Hist` with labelled axes; read them "
        "with `hepgen.validation.histograms.read_histograms`).",
        "",
    ]
    return "\n".join(lines)


def draw_figures(out: Path, histograms: dict[str, Any], label_text: str, experiment: str | None) -> None:
    """The figures, drawn from the validation's histograms (:func:`neutrino_histograms`) with mplhep."""
    import matplotlib.pyplot as plt
    import mplhep

    from hepgen.plotting import (
        color_of,
        label,
        plot_coverage,
        plot_distributions,
        plot_pulls,
        plot_truth_quantiles,
        save_figure,
        use_style,
    )

    use_style()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, h in _select(histograms, "residual_pz").items():
        mplhep.histplot(h, ax=ax, lw=1.6, label=name, color=color_of(name))
    ax.set_xlabel(_HISTOGRAM_AXES["residual_pz"][3])
    ax.set_ylabel("events")
    ax.legend(fontsize="x-small")
    label(ax, label_text, experiment=experiment)
    save_figure(fig, out / "residual_pz")
    plt.close(fig)
    for kind in ("m_lnu", "m_lnub", "m_lnu_samples"):
        selected = _select(histograms, kind)
        if not selected:
            continue
        ax, _ = plot_distributions(selected, reference="truth", xlabel=_HISTOGRAM_AXES[kind][3])
        if kind == "m_lnu_samples":  # m(ℓν) of every posterior sample against the truth's: a peak at the W mass
            ax.axvline(W_MASS, color="black", lw=0.8, ls=":")
        label(ax, label_text, experiment=experiment)
        save_figure(ax.figure, out / kind)
        plt.close(ax.figure)
    for kind, draw in (("truth_quantiles", plot_truth_quantiles), ("coverage", plot_coverage), ("pulls", plot_pulls)):
        if not _select(histograms, kind):
            continue
        fig, axes = plt.subplots(2, 2, figsize=(11, 9.5), gridspec_kw={"hspace": 0.35, "wspace": 0.3})
        for ax, c in zip(axes.ravel(), COMPONENTS):
            draw(_select(histograms, f"{kind}/{c}"), ax=ax)
        label(axes.ravel()[0], label_text, experiment=experiment)
        save_figure(fig, out / kind)
        plt.close(fig)
