"""Compare neutrino predictions (flow, mdn, gauss, mse, analytic) on the same events: accuracy and calibration.

For every method and point estimate — the posterior median per component (``flow``), and for probabilistic
methods the most likely of the posterior samples (``flow_mode``, ν-Flows' estimate) and the window mode of pz
(``flow_window``: the median's px, py and the pz sample with the most posterior mass within ±
:data:`PZ_WINDOW_HALF_WIDTH`, :func:`hepgen.validation.point_estimates.window_mode`) — the bias and resolution
(median and IQR/1.349 of the residual, each ± a bootstrap error) of px, py, pz and η, and m(ℓν), m(ℓνb); for every
probabilistic method m(ℓν) of all its samples (it must peak at the W mass) and the calibration per component
(truth quantiles, coverage with binomial errors, pulls; exact at any number of samples); and the **jet
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
from pathlib import Path
from typing import Any

import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.io.writer import read_event_outputs
from hepgen.physics.kinematics import invariant_mass, massless_p4, pseudorapidity
from hepgen.physics.neutrino import W_MASS
from hepgen.physics.ttbar_reconstruction import chi2_assignment, fit_widths
from hepgen.validation.calibration import calibration_summary, coverage_error, pulls, truth_quantiles
from hepgen.validation.histograms import (
    HISTOGRAMS_FILE,
    counts_histogram,
    coverage_histogram,
    pull_histogram,
    quantile_histogram,
    write_histograms,
)
from hepgen.validation.metrics import bootstrap_bias_resolution, paired_accuracy_difference
from hepgen.validation.point_estimates import window_mode
from hepgen.validation.report import write_report
from hepgen.validation.split import validation_split

__all__ = ["COMPONENTS", "PZ_WINDOW_HALF_WIDTH", "load_predictions", "validate_neutrino", "methods_table"]

COMPONENTS = ("px", "py", "pz", "eta")

#: Half-width [GeV] of the window of the pz window mode: of the order of the pz resolution it is meant to improve,
#: chosen among 10–80 GeV on the early-stopping validation events of the training set (analyses/neutrino/README.md).
PZ_WINDOW_HALF_WIDTH = 30.0
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
            raise HepgenInputError(
                f"{path}: no truth neutrino in the prediction file; validation needs simulated events"
            )
        entries = event_id["entry"]
        if reference is None:
            reference = (str(path), entries)
        elif len(entries) != len(reference[1]) or not np.array_equal(entries, reference[1]):
            raise HepgenInputError(
                f"{path} holds {len(entries)} events and {reference[0]} holds {len(reference[1])} (or other events): "
                "compare predictions made on the same input events"
            )
        methods[name] = {**outputs, "entry": entries, "metadata": metadata, "path": str(path)}
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


#: Jet multiplicities of the assignment accuracy (the last bin holds 6 or more jets).
MULTIPLICITIES = ("4", "5", "6+")


def _point_estimates(name: str, outputs: dict[str, Any]) -> dict[str, np.ndarray]:
    """The point estimates (px, py, pz) ``[B, 3]`` of a method's file: the median, and with samples the mode and the
    window mode of pz."""
    points = {name: outputs["point"]}
    if "mode" in outputs:
        points[f"{name}_mode"] = outputs["mode"]
    if "samples" in outputs:
        window = outputs["point"].copy()
        window[:, 2] = window_mode(outputs["samples"][..., 2], PZ_WINDOW_HALF_WIDTH)
        points[f"{name}_window"] = window
    return points


def _samples_mass_peak(lepton: np.ndarray, samples: np.ndarray) -> dict[str, float]:
    """m(ℓν) of every posterior sample: its most populated 1 GeV bin in 40–120 GeV and its median."""
    masses = invariant_mass(lepton[:, None, :], massless_p4(samples)).ravel()
    h = counts_histogram(masses, np.arange(40.0, 120.5, 1.0), name="m_lnu", label="m(ℓν) [GeV]")
    peak = h.axes[0].centers[np.argmax(h.values())]
    return {"m_lnu_samples_peak": float(peak), "m_lnu_samples_median": float(np.median(masses))}


def _evaluate_method(
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
    for point_name, p3 in _point_estimates(name, outputs).items():
        point = _with_eta(p3)
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
        samples = _with_eta(outputs["samples"])
        entries[name].update(_samples_mass_peak(lepton, outputs["samples"]))
        for j, c in enumerate(COMPONENTS):
            s = calibration_summary(samples[..., j], truth[:, j])
            entries[name][c]["calibration"] = {**s.__dict__, "verdict": s.verdict()}
            q = truth_quantiles(samples[..., j], truth[:, j])
            arrays["quantiles"][c] = q
            arrays["pulls"][c] = pulls(samples[..., j], truth[:, j], quantiles=q)
            entries[name][c]["calibration"]["deciles"] = (
                quantile_histogram(q, bins=10).values() / max(len(q), 1)
            ).tolist()
    return {"entries": entries, "arrays": arrays}


def _assignment(methods: dict[str, dict[str, Any]], validation_fraction: float = 0.3) -> dict[str, Any] | None:
    """Accuracy of the leptonic-b jet chosen by the χ² with each method's neutrino (and by a learned head), per jet
    multiplicity, on the test part of the events; the χ² widths come from the correct assignments of the validation
    part. None without jet truth."""
    first = next(iter(methods.values()))
    if "parton_jets" not in first or "jets_p4" not in first:
        return None
    jets, btag, mask = first["jets_p4"].astype(np.float64), first["jets_btag"] > 0.5, first["jets_mask"].astype(bool)
    lepton, partons = first["lepton_p4"].astype(np.float64), first["parton_jets"].astype(np.int64)
    is_val = validation_split(first["entry"], validation_fraction)
    n_jets = np.minimum(mask.sum(axis=1), 6)
    target = partons[:, 0]
    considered = (target >= 0) & (target < 6) & ~is_val
    result: dict[str, Any] = {"validation_fraction": validation_fraction, "events": {}, "methods": {}}
    for m, label in zip((4, 5, 6), MULTIPLICITIES):
        result["events"][label] = int((considered & (n_jets == m)).sum())

    def accuracy(chosen: np.ndarray) -> dict[str, dict[str, float]]:
        out = {}
        for m, label in zip((4, 5, 6), MULTIPLICITIES):
            rows = considered & (n_jets == m)
            a = float(np.mean(chosen[rows] == target[rows])) if rows.any() else float("nan")
            out[label] = {"accuracy": a, "error": float(coverage_error(np.array([a]), int(rows.sum()))[0])}
        return out

    def paired(chosen: np.ndarray, reference: np.ndarray) -> dict[str, dict[str, float]]:
        out = {}
        for m, label in zip((4, 5, 6), MULTIPLICITIES):
            rows = considered & (n_jets == m)
            d, e = paired_accuracy_difference(chosen[rows] == target[rows], reference[rows] == target[rows])
            out[label] = {"difference": d, "error": e}
        return out

    chosen_by: dict[str, np.ndarray] = {}

    for name, outputs in methods.items():
        for key, point in _point_estimates(name, outputs).items():
            hypotheses = point.astype(np.float64)[:, None, :]
            if name == "analytic":  # the W-mass constraint with both roots tried, as in the analyses
                roots = outputs["analytic_roots"].astype(np.float64)
                met = outputs["point"][:, :2].astype(np.float64)
                hypotheses = np.concatenate([np.repeat(met[:, None, :], 2, axis=1), roots[..., None]], axis=-1)
            # the widths of the χ²: those of the correct assignments with the method's point estimate
            widths = fit_widths(
                lepton[is_val], massless_p4(point.astype(np.float64))[is_val], jets[is_val], partons[is_val]
            )
            chosen, _ = chi2_assignment(lepton, massless_p4(hypotheses), jets, btag, mask, widths=widths)
            result["methods"][key] = {"chi2": accuracy(chosen), "widths": widths.__dict__}
            chosen_by[key] = chosen
        if "assignment_probability" in outputs:
            head = np.argmax(np.where(mask, outputs["assignment_probability"], -1.0), axis=1)
            result["methods"].setdefault(name, {})["head"] = accuracy(head)
            chosen_by[f"{name} (head)"] = head
    if "analytic" in chosen_by:  # every method against the W-mass constraint, event by event
        for key, chosen in chosen_by.items():
            if key != "analytic":
                kind = "head" if key.endswith(" (head)") else "chi2"
                result["methods"][key.removesuffix(" (head)")][f"{kind}_minus_analytic"] = paired(
                    chosen, chosen_by["analytic"]
                )
    return result


def validate_neutrino(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    label_text: str = "Simulation",
    experiment: str | None = None,
    scheduler: str | None = None,
    figures: bool = True,
    bootstrap: int = 200,
) -> dict[str, Any]:
    """Compare the methods of ``files``; writes ``metrics.json``, ``summary.md`` and figures to ``out``.

    With ``scheduler`` (``local:N`` or a Dask scheduler address) the methods are evaluated in parallel on a
    Dask cluster; the outputs are the same as the serial run's. ``figures=False`` skips the figures;
    ``bootstrap`` sets the resamples of the statistical errors.
    """
    methods = load_predictions(files)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = next(iter(methods.values()))
    truth = _with_eta(first["truth"])
    lepton = first["lepton_p4"]
    b_lep = first.get("b_lep_p4")
    metrics: dict[str, Any] = {
        "events": int(len(truth)),
        "events_without_truth": int(first.get("events_without_truth", 0)),
        "methods": {},
        "bootstrap": bootstrap,
        "w_mass": W_MASS,
    }
    units = [
        {
            "name": name,
            "outputs": {k: v for k, v in outputs.items() if k in ("point", "samples", "mode")},
            "truth": truth,
            "lepton": lepton,
            "b_lep": b_lep,
            "resamples": bootstrap,
        }
        for name, outputs in methods.items()
    ]
    if scheduler:
        from hepgen.cluster import map_units

        evaluated = map_units(_evaluate_method, units, scheduler, progress=False)
    else:
        evaluated = [_evaluate_method(**unit) for unit in units]
    quantiles: dict[str, dict[str, np.ndarray]] = {c: {} for c in COMPONENTS}
    pull_values: dict[str, dict[str, np.ndarray]] = {c: {} for c in COMPONENTS}
    m_lnu = {"truth": invariant_mass(lepton, massless_p4(first["truth"]))}
    m_lnub = {"truth": invariant_mass(lepton, massless_p4(first["truth"]), b_lep)} if b_lep is not None else {}
    residuals: dict[str, np.ndarray] = {}
    for name, result in zip(methods, evaluated):
        arrays = result["arrays"]
        residuals |= arrays["residual_pz"]
        m_lnu |= arrays["m_lnu"]
        if b_lep is not None:
            m_lnub |= arrays["m_lnub"]
        for c in arrays["quantiles"]:
            quantiles[c][name] = arrays["quantiles"][c]
            pull_values[c][name] = arrays["pulls"][c]
        metrics["methods"] |= result["entries"]
    for name, values in m_lnu.items():
        metrics.setdefault("m_lnu_median", {})[name] = float(np.median(values))
    assignment = _assignment(methods)
    if assignment is not None:
        metrics["assignment"] = assignment
    sample_masses = {
        f"{name} samples": invariant_mass(lepton[:, None, :], massless_p4(methods[name]["samples"])).ravel()
        for name in methods
        if "samples" in methods[name]
    }
    histograms = neutrino_histograms(residuals, m_lnu, m_lnub, sample_masses, quantiles, pull_values)
    write_histograms(out / HISTOGRAMS_FILE, histograms)
    if figures:
        _figures(out, histograms, label_text, experiment)
    write_report(out, metrics, _summary(metrics))
    return metrics


#: The histograms of the neutrino validation: key prefix → (bin edges, axis name, axis label, figure x label).
_HISTOGRAM_AXES = {
    "residual_pz": (
        np.linspace(-400, 400, 81),
        "residual_pz",
        "pz(ν) predicted − true [GeV]",
        r"$p_z^{\nu}$ (predicted $-$ true) [GeV]",
    ),
    "m_lnu": (np.linspace(0, 200, 51), "m_lnu", "m(ℓν) [GeV]", r"$m(\ell\nu)$ [GeV]"),
    "m_lnub": (np.linspace(50, 350, 51), "m_lnub", "m(ℓνb) [GeV]", r"$m(\ell\nu b)$ [GeV]"),
    "m_lnu_samples": (np.linspace(0, 200, 81), "m_lnu", "m(ℓν) of the posterior samples [GeV]", r"$m(\ell\nu)$ [GeV]"),
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
        edges, axis, axis_label, _ = _HISTOGRAM_AXES[kind]
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


def _with_error(entry: dict[str, float], key: str) -> str:
    error = entry.get(f"{key}_err", float("nan"))
    return f"{entry[key]:.3g}" + (f" ± {error:.2g}" if np.isfinite(error) else "")


def methods_table(metrics: dict[str, Any]) -> list[str]:
    """Markdown rows: bias and resolution (± bootstrap errors) of every component and the median m(ℓν), per method
    and point estimate, and the truth."""
    lines = [
        "| method | " + " | ".join(f"{c} bias | {c} resolution" for c in COMPONENTS) + " | median m(ℓν) [GeV] |",
        "|---|" + "---|---|" * len(COMPONENTS) + "---|",
    ]
    for name, entry in metrics["methods"].items():
        cells = [f"{_with_error(entry[c], 'bias')} | {_with_error(entry[c], 'resolution')}" for c in COMPONENTS]
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


def _summary(metrics: dict[str, Any]) -> str:
    lines = [
        "# Neutrino regression: comparison of methods",
        "",
        f"{metrics['events']} events. Bias = median residual, resolution = IQR/1.349 of the residual, each ± its "
        f"bootstrap error ({metrics['bootstrap']} resamples over events). `flow` is the posterior median per component, "
        "`flow_mode` the most likely posterior sample, `flow_window` the median's px, py with the pz sample that has the "
        f"most posterior mass within ±{PZ_WINDOW_HALF_WIDTH:g} GeV; `analytic` the W-mass solution with the smaller |pz| "
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
    lines += [
        "",
        "## Calibration of the probabilistic methods",
        "",
        "| method | component | KS | 68 % coverage | 95 % coverage | max decile deviation | pull σ | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in metrics["methods"].items():
        for c in COMPONENTS:
            cal = entry[c].get("calibration")
            if not cal:
                continue
            deviation = max(abs(d - 0.1) for d in cal["deciles"])
            lines.append(
                f"| {name} | {c} | {cal['ks']:.3f} | {cal['coverage_68']:.3f} ± {cal['coverage_68_error']:.3f} "
                f"| {cal['coverage_95']:.3f} ± {cal['coverage_95_error']:.3f} | {deviation:.3f} | {cal['pull_std']:.2f} "
                f"| {cal['verdict']} |"
            )
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


def _figures(out: Path, histograms: dict[str, Any], label_text: str, experiment: str | None) -> None:
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
