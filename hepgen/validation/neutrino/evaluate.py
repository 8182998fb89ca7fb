"""Compare neutrino predictions (flow, mdn, gauss, mse, analytic) on the same events: accuracy and calibration.

For every method and point estimate — the posterior median per component (``flow``), and for probabilistic
methods the most likely of the posterior samples (``flow_mode``, ν-Flows' estimate) and the window mode of pz
(``flow_window``: the median's px, py and the pz sample with the most posterior mass within ±
:data:`PZ_WINDOW_HALF_WIDTH`, :func:`hepgen.validation.point_estimates.window_mode`) — the bias and resolution
(median and IQR/1.349 of the residual, each ± a bootstrap error) of px, py, pz and η, and m(ℓν), m(ℓνb); for every
probabilistic method m(ℓν) of all its samples (it must peak at the W mass), its pz resolution minus every other
estimate's on the same events (a paired bootstrap, ``paired_differences``) and the calibration per component
(truth quantiles, coverage with Wilson errors, pulls; exact at any number of samples); and the **jet
assignment**: the leptonic-b jet chosen by a χ² of the top and W masses over jet permutations
(:mod:`hepgen.physics.ttbar_reconstruction`) with each method's neutrino — for the analytic solution with both
W-mass roots tried — its accuracy per jet multiplicity, the χ² widths tuned on a validation split of the events
and the accuracy counted on the others; and the accuracy of a learned jet-assignment head where a model has one.
Writes ``metrics.json``, ``summary.md``, ``histograms.root`` (every histogram of the figures as ``hist.Hist``,
:mod:`hepgen.validation.histograms`) and the figures (PDF and PNG, drawn from those histograms) to one folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from hepgen.cluster import run_units
from hepgen.physics.kinematics import invariant_mass, massless_p4
from hepgen.physics.neutrino import W_MASS
from hepgen.validation.calibration import calibration_entry, pulls, truth_quantiles
from hepgen.validation.histograms import counts_histogram, quantile_histogram
from hepgen.validation.methods import keep_events, load_methods
from hepgen.validation.metrics import bootstrap_bias_resolution, paired_resolution_table
from hepgen.validation.neutrino.assignment import assignment_accuracy
from hepgen.validation.neutrino.estimates import PZ_WINDOW_HALF_WIDTH, point_estimates, with_eta
from hepgen.validation.neutrino.report import COMPONENTS, draw_figures, neutrino_histograms, summary
from hepgen.validation.report import ValidationOptions, publish

__all__ = [
    "load_predictions",
    "evaluate_method",
    "validate_neutrino",
]


def load_predictions(files: Sequence[str | os.PathLike]) -> dict[str, dict[str, Any]]:
    """Method name → outputs of each prediction file (tree ``Neutrino``, :func:`~hepgen.validation.methods.
    load_methods`); the events without a truth neutrino (NanoAOD may lack a few) are left out and counted."""
    methods = load_methods(files, "Neutrino")
    has_truth = next(iter(methods.values())).get("has_truth")
    if has_truth is not None and not has_truth.all():
        keep = has_truth.astype(bool)
        keep_events(methods, keep)
        for outputs in methods.values():
            outputs["events_without_truth"] = int((~keep).sum())
    return methods


def _samples_mass_peak(lepton: np.ndarray, samples: np.ndarray) -> dict[str, float]:
    """m(ℓν) of every posterior sample: its most populated 1 GeV bin in 40–120 GeV and its median."""
    masses = invariant_mass(lepton[:, None, :], massless_p4(samples)).ravel()
    h = counts_histogram(masses, np.arange(40.0, 120.5, 1.0), name="m_lnu", label="m(ℓν) [GeV]")
    peak = h.axes[0].centers[np.argmax(h.values())]
    return {"m_lnu_samples_peak": float(peak), "m_lnu_samples_median": float(np.median(masses))}


def evaluate_method(
    name: str,
    outputs: dict[str, Any],
    truth: np.ndarray,
    lepton: np.ndarray,
    b_lep: np.ndarray | None,
    resamples: int = 200,
) -> dict[str, Any]:
    """Accuracy of every point estimate, calibration and the plotted arrays of one method (a unit of work on a cluster)."""
    entries: dict[str, Any] = {}
    arrays: dict[str, Any] = {"quantiles": {}, "pulls": {}, "residual_pz": {}, "m_lnu": {}, "m_lnub": {}}
    for point_name, p3 in point_estimates(name, outputs).items():
        point = with_eta(p3)
        estimate = next((e for e in ("mode", "window") if point_name.endswith(f"_{e}")), None)
        entry: dict[str, Any] = {
            "probabilistic": "samples" in outputs,
            "estimate": estimate or ("median" if "samples" in outputs else "point"),
        }
        for j, c in enumerate(COMPONENTS):
            entry[c] = bootstrap_bias_resolution(point[:, j] - truth[:, j], resamples=resamples)
        arrays["residual_pz"][point_name] = point[:, 2] - truth[:, 2]
        arrays["m_lnu"][point_name] = invariant_mass(lepton, massless_p4(p3))
        arrays["m_lnub"][point_name] = invariant_mass(lepton, massless_p4(p3), b_lep) if b_lep is not None else None
        entries[point_name] = entry
    if "samples" in outputs:
        samples = with_eta(outputs["samples"])
        entries[name].update(_samples_mass_peak(lepton, outputs["samples"]))
        for j, c in enumerate(COMPONENTS):
            entries[name][c]["calibration"] = calibration_entry(samples[..., j], truth[:, j])
            q = truth_quantiles(samples[..., j], truth[:, j])
            arrays["quantiles"][c] = q
            arrays["pulls"][c] = pulls(samples[..., j], truth[:, j], quantiles=q)
            entries[name][c]["calibration"]["deciles"] = (
                quantile_histogram(q, bins=10).values() / max(len(q), 1)
            ).tolist()
    return {"entries": entries, "arrays": arrays}


def validate_neutrino(files: Sequence[str | os.PathLike], out: str | os.PathLike, **options: Any) -> dict[str, Any]:
    """Compare the methods of ``files``; writes ``metrics.json``, ``summary.md``, ``histograms.root`` and the figures
    to ``out``. ``options``: those of :class:`~hepgen.validation.report.ValidationOptions` (each method is a unit of
    work, here or on the Dask cluster of ``scheduler``; the outputs are the same)."""
    opts = ValidationOptions(**options)
    methods = load_predictions(files)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = next(iter(methods.values()))
    truth, lepton, b_lep = with_eta(first["truth"]), first["lepton_p4"], first.get("b_lep_p4")
    units = [
        {"name": name, "outputs": {k: v for k, v in outputs.items() if k in ("point", "samples", "mode")}}
        | {"truth": truth, "lepton": lepton, "b_lep": b_lep, "resamples": opts.bootstrap}
        for name, outputs in methods.items()
    ]
    evaluated = dict(zip(methods, run_units(evaluate_method, units, scheduler=opts.scheduler, progress=opts.progress)))
    metrics: dict[str, Any] = {
        "events": int(len(truth)),
        "events_without_truth": int(first.get("events_without_truth", 0)),
        "methods": {k: v for result in evaluated.values() for k, v in result["entries"].items()},
        "bootstrap": opts.bootstrap,
        "w_mass": W_MASS,
        "pz_window_half_width": PZ_WINDOW_HALF_WIDTH,
    }
    residual_pz = {k: v for result in evaluated.values() for k, v in result["arrays"]["residual_pz"].items()}
    probabilistic = [k for k, entry in metrics["methods"].items() if entry["probabilistic"]]
    metrics["paired_differences"] = {
        "pz": paired_resolution_table(residual_pz, probabilistic, resamples=opts.bootstrap)
    }
    m_lnu, histograms = _histograms(methods, evaluated, first)
    metrics["m_lnu_median"] = {name: float(np.median(values)) for name, values in m_lnu.items()}
    assignment = assignment_accuracy(methods)
    if assignment is not None:
        metrics["assignment"] = assignment
    figures = partial(draw_figures, out, histograms, opts.label_text, opts.experiment) if opts.figures else None
    return publish(out, metrics, summary(metrics), histograms, figures)


def _histograms(
    methods: dict[str, dict[str, Any]], evaluated: dict[str, dict[str, Any]], first: dict[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(m(ℓν) of every point estimate and the truth, every histogram of the figures) from the evaluated methods."""
    lepton, b_lep = first["lepton_p4"], first.get("b_lep_p4")
    quantiles: dict[str, dict[str, np.ndarray]] = {c: {} for c in COMPONENTS}
    pull_values: dict[str, dict[str, np.ndarray]] = {c: {} for c in COMPONENTS}
    m_lnu = {"truth": invariant_mass(lepton, massless_p4(first["truth"]))}
    m_lnub = {"truth": invariant_mass(lepton, massless_p4(first["truth"]), b_lep)} if b_lep is not None else {}
    residuals: dict[str, np.ndarray] = {}
    for name, result in evaluated.items():
        arrays = result["arrays"]
        residuals |= arrays["residual_pz"]
        m_lnu |= arrays["m_lnu"]
        if b_lep is not None:
            m_lnub |= arrays["m_lnub"]
        for c in arrays["quantiles"]:
            quantiles[c][name] = arrays["quantiles"][c]
            pull_values[c][name] = arrays["pulls"][c]
    sample_masses = {
        f"{name} samples": invariant_mass(lepton[:, None, :], massless_p4(methods[name]["samples"])).ravel()
        for name in methods
        if "samples" in methods[name]
    }
    return m_lnu, neutrino_histograms(residuals, m_lnu, m_lnub, sample_masses, quantiles, pull_values)
