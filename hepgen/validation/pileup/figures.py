"""The pileup validation's figures, drawn from its histograms and metrics with :mod:`hepgen.plotting`: the
distributions per point with ratio panels, bias / resolution / W1 against μ, VIPR's calibration, and the SoftDrop
grid's validation scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from hepgen.physics.softdrop import SOFTDROP_GRID
from hepgen.physics.substructure import OBSERVABLE_LABELS, OBSERVABLES
from hepgen.plotting import (
    label_figure,
    plot_coverage,
    plot_distributions,
    plot_grid_scores,
    plot_pulls,
    plot_scan,
    plot_truth_quantiles,
    save_figure,
    use_style,
)
from hepgen.validation.pileup.load import PointPrediction, point_folder
from hepgen.validation.pileup.report import DRAWN, ordered

__all__ = ["draw_figures"]


def _name_only(observable: str) -> str:
    """The observable's label without its unit: the title of a panel of relative quantities (a resolution of
    m/m_true − 1 has no GeV)."""
    return OBSERVABLE_LABELS[observable].split(" [")[0]


def _grid_of_axes(n: int, *, ratio: bool) -> tuple[Any, list[Any], list[Any] | None]:
    columns = 4
    rows = int(np.ceil(n / columns))
    if not ratio:
        fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3.9 * rows), layout="constrained")
        return fig, list(np.ravel(axes)), None
    fig = plt.figure(figsize=(4.4 * columns, 5.0 * rows))
    spec = fig.add_gridspec(
        3 * rows,
        columns,
        height_ratios=[3, 1, 1.0] * rows,
        hspace=0.08,
        wspace=0.4,
        left=0.06,
        right=0.98,
        top=0.97,
        bottom=0.02,
    )
    main, lower = [], []
    for k in range(n):
        r, c = divmod(k, columns)
        top = fig.add_subplot(spec[3 * r, c])
        main.append(top)
        lower.append(fig.add_subplot(spec[3 * r + 1, c], sharex=top))
        top.tick_params(labelbottom=False)
    return fig, main, lower


#: Font sizes for multi-panel figures (mplhep's defaults suit one panel per figure); no minor ticks (many panels).
_PANEL_STYLE = {
    "font.size": 12,
    "axes.labelsize": 12,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
    "axes.titlesize": 12,
}


def draw_figures(
    out: Path,
    points: list[PointPrediction],
    evaluated: list[dict[str, Any]],
    histograms: dict[str, Any],
    label_text: str,
    experiment: str | None,
) -> None:
    """Every figure of the pileup validation (PDF and PNG) in ``out``."""
    use_style()
    with plt.rc_context(_PANEL_STYLE):
        _distributions(out, points, histograms, label_text, experiment)
        _scans(out, points, evaluated, label_text, experiment)
        _calibration(out, points, histograms, label_text, experiment)
        _softdrop_grid(out, points, evaluated, label_text, experiment)


def _distributions(
    out: Path, points: list[PointPrediction], histograms: dict[str, Any], label_text: str, experiment: str | None
) -> None:
    """Per point: every observable's distribution per drawn method against the truth, with ratio panels."""
    for point in points:
        folder = point_folder(point)
        fig, main, lower = _grid_of_axes(len(OBSERVABLES), ratio=True)
        for k, (ax, ratio_ax, name) in enumerate(zip(main, lower, OBSERVABLES)):
            drawn = {
                m: histograms[f"distributions/{folder}/{name}/{m}"]
                for m in ("truth", *DRAWN)
                if f"distributions/{folder}/{name}/{m}" in histograms
            }
            plot_distributions(drawn, reference="truth", xlabel=OBSERVABLE_LABELS[name], ax=ax, ratio_ax=ratio_ax)
            if k:
                ax.get_legend().remove()
        label_figure(
            fig, label_text, experiment=experiment, title=f"top jets, μ = {point.key}: observables against the truth"
        )
        save_figure(fig, out / f"distributions_{folder}")
        plt.close(fig)


def _scans(
    out: Path, points: list[PointPrediction], evaluated: list[dict[str, Any]], label_text: str, experiment: str | None
) -> None:
    """Bias, resolution and W1/σ of every method against μ (the points of the nominal detector), with errors."""
    scanned = [(p, e) for p, e in zip(points, evaluated) if p.nominal_detector]
    if scanned:
        mus = [p.mu for p, _ in scanned]
        methods = ordered({m for _, e in scanned for m in e["metrics"]["methods"]})
        for key, ylabel, reference in (
            ("bias", "bias (median of x/x_true − 1)", 0.0),
            ("resolution", "resolution (IQR/1.349 of x/x_true − 1)", None),
            ("w1_over_sigma", r"$W_1$(x, truth) / $\sigma_{truth}$", 0.0),
        ):
            fig, axes, _ = _grid_of_axes(len(OBSERVABLES), ratio=False)
            error_key = {"bias": "bias_err", "resolution": "resolution_err", "w1_over_sigma": None}[key]
            for ax, name in zip(axes, OBSERVABLES):
                entries = {m: [e["metrics"]["methods"].get(m, {}).get(name, {}) for _, e in scanned] for m in methods}
                values = {m: [x.get(key, np.nan) for x in v] for m, v in entries.items()}
                errors = None
                if error_key:
                    errors = {m: [x.get(error_key, np.nan) for x in v] for m, v in entries.items()}
                elif key == "w1_over_sigma":  # W1's error scaled like W1
                    errors = {
                        m: [
                            x.get("w1_err", np.nan) * x.get("w1_over_sigma", np.nan) / x["w1"]
                            if x.get("w1")
                            else np.nan
                            for x in v
                        ]
                        for m, v in entries.items()
                    }
                plot_scan(
                    mus, values, errors=errors, xlabel="μ", ylabel=ylabel.split(" (")[0], reference=reference, ax=ax
                )
                ax.set_title(_name_only(name))
                ax.get_legend().remove()
            handles, labels = axes[0].get_legend_handles_labels()  # one legend beside the panels, over no data
            fig.legend(handles, labels, loc="outside right center", fontsize="x-small")
            label_figure(fig, label_text, experiment=experiment, title=ylabel)
            save_figure(
                fig, out / {"bias": "bias_vs_mu", "resolution": "resolution_vs_mu", "w1_over_sigma": "w1_vs_mu"}[key]
            )
            plt.close(fig)


def _calibration(
    out: Path, points: list[PointPrediction], histograms: dict[str, Any], label_text: str, experiment: str | None
) -> None:
    """VIPR's truth quantiles, coverage and pulls per observable, every point in one panel."""
    labels = {point_folder(p): p.key for p in points}
    for kind, draw in (("truth_quantiles", plot_truth_quantiles), ("coverage", plot_coverage), ("pulls", plot_pulls)):
        if not any(k.startswith(kind + "/") for k in histograms):
            continue
        fig, axes, _ = _grid_of_axes(len(OBSERVABLES), ratio=False)
        for ax, name in zip(axes, OBSERVABLES):
            prefix = f"{kind}/{name}/"
            data = {}
            for key, h in histograms.items():
                if key.startswith(prefix):
                    method, folder = key[len(prefix) :].split("/")
                    data[f"{method}, μ = {labels[folder]}"] = h
            if data:
                draw(data, ax=ax)
            ax.set_title(_name_only(name))
        label_figure(
            fig, label_text, experiment=experiment, title=f"VIPR posterior calibration: {kind.replace('_', ' ')}"
        )
        save_figure(fig, out / kind)
        plt.close(fig)


def _softdrop_grid(
    out: Path, points: list[PointPrediction], evaluated: list[dict[str, Any]], label_text: str, experiment: str | None
) -> None:
    """The validation scores of SoftDrop's (z_cut, β) grid for the jet mass, the choice marked, per point."""
    z_cuts = sorted({z for z, _ in SOFTDROP_GRID})
    betas = sorted({b for _, b in SOFTDROP_GRID})
    fig, axes = plt.subplots(1, len(points), figsize=(4.6 * len(points), 4.0), squeeze=False, layout="constrained")
    for ax, point, e in zip(axes[0], points, evaluated):
        scores = np.full((len(z_cuts), len(betas)), np.nan)
        for g, (z, b) in enumerate(SOFTDROP_GRID):
            scores[z_cuts.index(z), betas.index(b)] = e["arrays"]["grid_scores"]["softdrop"]["mass"][g]
        chosen = e["arrays"]["choices"]["softdrop"]["mass"]
        plot_grid_scores(
            scores,
            z_cuts,
            betas,
            row_label=r"$z_{cut}$",
            column_label=r"$\beta$",
            chosen=(z_cuts.index(chosen["z_cut"]), betas.index(chosen["beta"])),
            title=f"jet mass, μ = {point.key}",
            ax=ax,
        )
    label_figure(
        fig,
        label_text,
        experiment=experiment,
        title="SoftDrop on the validation jets: √(bias² + resolution²) of m/m_true − 1",
    )
    save_figure(fig, out / "softdrop_grid")
    plt.close(fig)
