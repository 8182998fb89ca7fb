"""Compare neutrino predictions (flow, mdn, gauss, mse, analytic) on the same events: accuracy and calibration.

For every method: bias and resolution (median and IQR/1.349 of the residual)
of px, py, pz and η from its point estimate; the m(ℓν) and m(ℓνb)
distributions against truth; and for every probabilistic method the truth
quantiles, coverage of central intervals and pulls per component. Writes
``metrics.json``, ``summary.md`` and the figures (PDF and PNG) to one folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.io.writer import read_event_outputs
from hepgen.physics.kinematics import invariant_mass, massless_p4, pseudorapidity
from hepgen.validation.calibration import DEFAULT_LEVELS, calibration_summary, coverage, pulls, truth_quantiles
from hepgen.validation.metrics import bias_resolution
from hepgen.validation.report import write_report

__all__ = ["COMPONENTS", "load_predictions", "validate_neutrino", "methods_table"]

COMPONENTS = ("px", "py", "pz", "eta")
_UNITS = {"px": "GeV", "py": "GeV", "pz": "GeV", "eta": ""}


def _with_eta(p3: np.ndarray) -> np.ndarray:
    """(px, py, pz) ``[..., 3]`` → (px, py, pz, η) ``[..., 4]``."""
    return np.concatenate([p3, pseudorapidity(p3)[..., None]], axis=-1)


def load_predictions(files: Sequence[str | os.PathLike]) -> dict[str, dict[str, Any]]:
    """Method name → outputs of each prediction file; all must hold the same events with truth."""
    if not files:
        raise HepgenInputError("no prediction files given")
    methods: dict[str, dict[str, Any]] = {}
    reference: tuple[str, np.ndarray] | None = None
    for path in files:
        outputs, event_id, metadata = read_event_outputs(path, tree="Neutrino")
        name = metadata.get("method", Path(path).stem)
        if name in methods:
            name = f"{name} ({Path(path).stem})"
        if "truth" not in outputs:
            raise HepgenInputError(f"{path}: no truth neutrino in the prediction file; validation needs simulated events")
        entries = event_id["entry"]
        if reference is None:
            reference = (str(path), entries)
        elif len(entries) != len(reference[1]) or not np.array_equal(entries, reference[1]):
            raise HepgenInputError(
                f"{path} holds {len(entries)} events and {reference[0]} holds {len(reference[1])} (or other events): "
                "compare predictions made on the same input events"
            )
        methods[name] = {**outputs, "metadata": metadata, "path": str(path)}
    # keep the events with a truth neutrino (all of them in hepgen samples; NanoAOD may lack a few)
    has_truth = next(iter(methods.values())).get("has_truth")
    if has_truth is not None and not has_truth.all():
        keep = has_truth.astype(bool)
        for outputs in methods.values():
            for key, value in list(outputs.items()):
                if isinstance(value, np.ndarray) and len(value) == len(keep):
                    outputs[key] = value[keep]
            outputs["events_without_truth"] = int((~keep).sum())
    return methods


def _evaluate_method(outputs: dict[str, Any], truth: np.ndarray, lepton: np.ndarray, b_lep: np.ndarray | None) -> dict[str, Any]:
    """Accuracy, calibration and the plotted arrays of one method (a unit of work on a cluster)."""
    point = _with_eta(outputs["point"])
    entry: dict[str, Any] = {"probabilistic": "samples" in outputs}
    arrays: dict[str, Any] = {"quantiles": {}, "coverage": {}, "pulls": {}}
    for j, c in enumerate(COMPONENTS):
        bias, resolution = bias_resolution(point[:, j] - truth[:, j])
        entry[c] = {"bias": bias, "resolution": resolution}
    arrays["residual_pz"] = point[:, 2] - truth[:, 2]
    arrays["m_lnu"] = invariant_mass(lepton, massless_p4(outputs["point"]))
    arrays["m_lnub"] = invariant_mass(lepton, massless_p4(outputs["point"]), b_lep) if b_lep is not None else None
    if "samples" in outputs:
        samples = _with_eta(outputs["samples"])
        for j, c in enumerate(COMPONENTS):
            s = calibration_summary(samples[..., j], truth[:, j])
            entry[c]["calibration"] = {**s.__dict__, "verdict": s.verdict(len(truth))}
            arrays["quantiles"][c] = truth_quantiles(samples[..., j], truth[:, j])
            arrays["coverage"][c] = coverage(samples[..., j], truth[:, j])
            arrays["pulls"][c] = pulls(samples[..., j], truth[:, j])
    return {"entry": entry, "arrays": arrays}


def validate_neutrino(
    files: Sequence[str | os.PathLike], out: str | os.PathLike, *, label_text: str = "Simulation", experiment: str | None = None,
    scheduler: str | None = None, figures: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Compare the methods of ``files``; writes ``metrics.json``, ``summary.md`` and figures to ``out``.

    With ``scheduler`` (``local:N`` or a Dask scheduler address) the methods are evaluated in parallel on a
    Dask cluster; the outputs are the same as the serial run's. ``figures=False`` skips the figures.
    """
    methods = load_predictions(files)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = next(iter(methods.values()))
    truth = _with_eta(first["truth"])
    lepton = first["lepton_p4"]
    b_lep = first.get("b_lep_p4")
    metrics: dict[str, Any] = {
        "events": int(len(truth)), "events_without_truth": int(first.get("events_without_truth", 0)), "methods": {}
    }
    units = [{"outputs": {k: v for k, v in outputs.items() if k in ("point", "samples")}, "truth": truth, "lepton": lepton,
              "b_lep": b_lep} for outputs in methods.values()]  # fmt: skip
    if scheduler:
        from hepgen.cluster import map_units

        evaluated = map_units(_evaluate_method, units, scheduler, progress=False)
    else:
        evaluated = [_evaluate_method(**unit) for unit in units]
    quantiles: dict[str, dict[str, np.ndarray]] = {c: {} for c in COMPONENTS}
    cover: dict[str, dict[str, np.ndarray]] = {c: {} for c in COMPONENTS}
    pull_values: dict[str, dict[str, np.ndarray]] = {c: {} for c in COMPONENTS}
    m_lnu = {"truth": invariant_mass(lepton, massless_p4(first["truth"]))}
    m_lnub = {"truth": invariant_mass(lepton, massless_p4(first["truth"]), b_lep)} if b_lep is not None else {}
    residuals: dict[str, np.ndarray] = {}
    for name, result in zip(methods, evaluated):
        arrays = result["arrays"]
        residuals[name] = arrays["residual_pz"]
        m_lnu[name] = arrays["m_lnu"]
        if b_lep is not None:
            m_lnub[name] = arrays["m_lnub"]
        for c in arrays["quantiles"]:
            quantiles[c][name] = arrays["quantiles"][c]
            cover[c][name] = arrays["coverage"][c]
            pull_values[c][name] = arrays["pulls"][c]
        metrics["methods"][name] = result["entry"]
    for name, values in m_lnu.items():
        metrics.setdefault("m_lnu_median", {})[name] = float(np.median(values))
    if figures:
        _figures(out, truth, residuals, m_lnu, m_lnub, quantiles, cover, pull_values, label_text, experiment)
    write_report(out, metrics, _summary(metrics))
    return metrics


def methods_table(metrics: dict[str, Any]) -> list[str]:
    """Markdown rows: bias and resolution of every component and the median m(ℓν), per method and the truth."""
    lines = [
        "| method | " + " | ".join(f"{c} bias | {c} resolution" for c in COMPONENTS) + " | median m(ℓν) [GeV] |",
        "|---|" + "---|---|" * len(COMPONENTS) + "---|",
    ]
    for name, entry in metrics["methods"].items():
        cells = [f"{entry[c]['bias']:.3g} | {entry[c]['resolution']:.3g}" for c in COMPONENTS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {metrics['m_lnu_median'][name]:.1f} |")
    lines.append("| truth | " + " | ".join("– | –" for _ in COMPONENTS) + f" | {metrics['m_lnu_median']['truth']:.1f} |")
    return lines


def _summary(metrics: dict[str, Any]) -> str:
    lines = [
        "# Neutrino regression: comparison of methods",
        "",
        f"{metrics['events']} events. Bias = median residual, resolution = IQR/1.349 of the residual "
        "(point estimate: posterior median per component, or the prediction itself).",
        "",
        *methods_table(metrics),
    ]
    lines += ["", "## Calibration of the probabilistic methods", "",
              "| method | component | KS | max coverage deviation | tail fraction (0.1 ideal) | pull σ | verdict |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, entry in metrics["methods"].items():
        if not entry["probabilistic"]:
            continue
        for c in COMPONENTS:
            cal = entry[c]["calibration"]
            lines.append(
                f"| {name} | {c} | {cal['ks']:.3f} | {cal['max_coverage_deviation']:.3f} | {cal['tail_fraction']:.3f} "
                f"| {cal['pull_std']:.2f} | {cal['verdict']} |"
            )
    lines += ["", "Figures: `residual_pz`, `m_lnu`, `m_lnub`, `truth_quantiles`, `coverage`, `pulls` (PDF and PNG).", ""]
    return "\n".join(lines)


def _figures(out, truth, residuals, m_lnu, m_lnub, quantiles, cover, pull_values, label_text, experiment) -> None:  # noqa: ANN001
    import matplotlib.pyplot as plt

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
    for name, r in residuals.items():
        ax.hist(np.clip(r, -400, 400), np.linspace(-400, 400, 81), histtype="step", lw=1.6, label=name, color=color_of(name))
    ax.set_xlabel(r"$p_z^{\nu}$ (predicted $-$ true) [GeV]")
    ax.set_ylabel("events")
    ax.legend(fontsize="x-small")
    label(ax, label_text, experiment=experiment)
    save_figure(fig, out / "residual_pz")
    plt.close(fig)
    for name, values, bins, xlabel in (
        ("m_lnu", m_lnu, np.linspace(0, 200, 51), r"$m(\ell\nu)$ [GeV]"),
        ("m_lnub", m_lnub, np.linspace(50, 350, 51), r"$m(\ell\nu b)$ [GeV]"),
    ):
        if not values:
            continue
        ax, ratio = plot_distributions(values, reference="truth", bins=bins, xlabel=xlabel)
        label(ax, label_text, experiment=experiment)
        save_figure(ax.figure, out / name)
        plt.close(ax.figure)
    if any(quantiles[c] for c in COMPONENTS):
        for kind, data, draw, xlabel in (
            ("truth_quantiles", quantiles, plot_truth_quantiles, "truth quantile of {}"),
            ("coverage", cover, lambda d, ax: plot_coverage(d, levels=DEFAULT_LEVELS, ax=ax), "nominal coverage ({})"),
            ("pulls", pull_values, plot_pulls, "pull of {}"),
        ):
            fig, axes = plt.subplots(2, 2, figsize=(11, 9.5), gridspec_kw={"hspace": 0.35, "wspace": 0.3})
            axes = axes.ravel()
            for ax, c in zip(axes, COMPONENTS):
                draw(data[c], ax=ax)
                ax.set_xlabel(xlabel.format(c + (f" [{_UNITS[c]}]" if _UNITS[c] and kind == "pulls" else "")))
            label(axes[0], label_text, experiment=experiment)
            save_figure(fig, out / kind)
            plt.close(fig)
