"""Compare dilepton neutrino reconstructions (the flow, the ellipse method, Neutrino Weighting) on the same events.

Per method: the fraction of events it answers (with its binomial error); on the events it answers, the bias and
resolution (median and IQR/1.349, each ± a bootstrap error) of px, py, pz of ν and ν̄ (for the flow its posterior
median), and of the reconstructed tt̄ observables (for the flow the posterior median of each) against the
generator's: m(tt̄) and the top pT (relative: x/x_true − 1) and the helicity-basis cos θ of
each lepton (absolute); the same on the events *every* method answers (the fair comparison with methods that fail);
for the flow the calibration (truth quantiles, coverage with Wilson errors, pulls) of all six neutrino components
and of m(tt̄) (each posterior sample's m(tt̄), with the flow's b pairing). Writes ``metrics.json``, ``summary.md``,
``histograms.root`` (:mod:`hepgen.validation.histograms`) and figures drawn from those histograms.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from hepgen.cluster import run_units
from hepgen.physics.dilepton_neutrinos import ttbar_observables
from hepgen.validation.calibration import calibration_entry, coverage_error, truth_quantiles
from hepgen.validation.histograms import (
    bins_for,
    counts_histogram,
    coverage_histogram,
    quantile_histogram,
)
from hepgen.validation.methods import load_methods
from hepgen.validation.metrics import bootstrap_bias_resolution, paired_resolution_difference
from hepgen.validation.report import ValidationOptions, publish
from hepgen.validation.tables import calibration_table, cell, value_with_error

__all__ = [
    "OBSERVABLES",
    "COMPONENTS",
    "validate_dineutrino",
    "sample_ttbar_masses",
    "evaluate_method",
    "method_observables",
    "sample_b_jets",
]

#: The tt̄ observables and whether their residual is relative (x/x_true − 1) or absolute.
OBSERVABLES = {"m_ttbar": "relative", "top_pt": "relative", "cos_theta_plus": "absolute", "cos_theta_minus": "absolute"}
#: The neutrino components: (name, neutrino index, momentum index).
COMPONENTS = tuple(
    (f"{nu}_{c}", i, j) for i, nu in enumerate(("nu", "nubar")) for j, c in enumerate(("px", "py", "pz"))
)
#: The observables' histogram ranges (low, high, most bins); the bins follow the number of events (:func:`bins_for`).
_RANGES = {
    "m_ttbar": (0, 1500, 60),
    "top_pt": (0, 600, 60),
    "cos_theta_plus": (-1, 1, 40),
    "cos_theta_minus": (-1, 1, 40),
}


def _edges(name: str, events: int) -> np.ndarray:
    low, high, most = _RANGES[name]
    return bins_for(events, low, high, at_most=most)


def method_observables(outputs: dict[str, Any], point: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The tt̄ observables ``{name: [B]}`` of a method's answer (a prediction file's outputs): of its neutrinos
    ``point`` ``[B, 2, 3]`` (default: the file's, 0 where not answered), or for a posterior the median over its samples
    of each sample's observable (the observables of the median neutrinos are biased: the component-wise median
    shortens the neutrinos)."""
    point = np.nan_to_num(outputs["point"].astype(np.float64)) if point is None else point
    b, leptons = outputs["b_p4"].astype(np.float64), outputs["leptons_p4"].astype(np.float64)
    if "samples" not in outputs:
        return ttbar_observables(b[:, 0], leptons[:, 0], point[:, 0], b[:, 1], leptons[:, 1], point[:, 1])
    samples = outputs["samples"].astype(np.float64)  # [B, S, 2, 3]
    n, s = samples.shape[:2]
    b_samples = sample_b_jets(outputs).reshape(n * s, 2, 4)

    def rep(x):
        return np.repeat(x, s, axis=0)

    flat = samples.reshape(n * s, 2, 3)
    per_sample = ttbar_observables(
        b_samples[:, 0], rep(leptons[:, 0]), flat[:, 0], b_samples[:, 1], rep(leptons[:, 1]), flat[:, 1]
    )
    return {k: np.median(v.reshape(n, s), axis=1) for k, v in per_sample.items()}


def sample_b_jets(outputs: dict[str, Any]) -> np.ndarray:
    """The b and b̄ jets of every posterior sample ``[B, S, 2, 4]``: the sample's own (``sample_b_index`` into
    ``jets_p4``, a flow with a jet-assignment head), else the file's ``b_p4`` for every sample."""
    b = outputs["b_p4"].astype(np.float64)
    s = outputs["samples"].shape[1]
    if "sample_b_index" not in outputs:
        return np.broadcast_to(b[:, None], (len(b), s, 2, 4))
    jets, index = outputs["jets_p4"].astype(np.float64), outputs["sample_b_index"].astype(np.int64)
    chosen = np.take_along_axis(jets[:, None], np.clip(index, 0, jets.shape[1] - 1)[..., None], axis=2)
    return np.where((index >= 0)[..., None], chosen, b[:, None])


def _residual(kind: str, values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return values / truth - 1.0 if kind == "relative" else values - truth


def validate_dineutrino(files: Sequence[str | os.PathLike], out: str | os.PathLike, **options: Any) -> dict[str, Any]:
    """Compare the methods of ``files``; writes metrics.json, summary.md, histograms.root and figures to ``out``.
    ``options``: those of :class:`~hepgen.validation.report.ValidationOptions`. Each method's observables and
    calibration are a unit of work (here or on the Dask cluster of ``scheduler``); the comparisons on shared events
    follow, with ``bootstrap`` resamples."""
    opts = ValidationOptions(**options)
    methods = load_methods(files, "Dineutrino", truth=("truth", "truth_m_ttbar"))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = next(iter(methods.values()))
    truth = first["truth"].astype(np.float64)
    truth_obs = {k: first[f"truth_{k}"].astype(np.float64) for k in OBSERVABLES}
    units = [
        {
            "name": name,
            "outputs": {k: v for k, v in o.items() if isinstance(v, np.ndarray)},
            "truth": truth,
            "truth_obs": truth_obs,
        }
        for name, o in methods.items()
    ]
    evaluated = dict(
        zip(
            methods,
            run_units(evaluate_method, units, scheduler=opts.scheduler, progress=opts.progress, description="methods"),
        )
    )
    answered = {name: o["answered"].astype(bool) for name, o in methods.items()}
    everyone = np.logical_and.reduce(list(answered.values()))
    metrics: dict[str, Any] = {
        "events": len(truth),
        "events_all_answer": int(everyone.sum()),
        "bootstrap": opts.bootstrap,
        "methods": {},
    }
    residuals = {name: e["residuals"] for name, e in evaluated.items()}
    histograms = {
        f"{k}/truth": counts_histogram(truth_obs[k], _edges(k, len(truth)), name=k, label=k) for k in OBSERVABLES
    }
    for name, e in evaluated.items():
        metrics["methods"][name] = _compare(name, residuals, answered, everyone, opts.bootstrap) | e["entry"]
        histograms |= e["histograms"]
    figures = partial(draw_figures, out, histograms, opts.label_text, opts.experiment) if opts.figures else None
    return publish(out, metrics, summary(metrics), histograms, figures)


def evaluate_method(
    name: str, outputs: dict[str, np.ndarray], truth: np.ndarray, truth_obs: dict[str, np.ndarray]
) -> dict[str, Any]:
    """One method's residuals (every neutrino component and observable), its histograms and, for a posterior, its
    calibration: ``{"residuals", "entry", "histograms"}`` (a unit of work on a cluster)."""
    point = outputs["point"].astype(np.float64)
    observables = method_observables(outputs, np.nan_to_num(point))  # 0 where a method failed: not scored
    residuals = {
        **{c: point[:, i, j] - truth[:, i, j] for c, i, j in COMPONENTS},
        **{k: _residual(kind, observables[k], truth_obs[k]) for k, kind in OBSERVABLES.items()},
    }
    n, ok = len(truth), outputs["answered"].astype(bool)
    fraction = float(ok.mean()) if n else float("nan")
    entry: dict[str, Any] = {"answered": fraction, "answered_error": float(coverage_error(np.array([fraction]), n)[0])}
    histograms = {
        f"{k}/{name}": counts_histogram(observables[k][ok], _edges(k, n), name=k, label=k) for k in OBSERVABLES
    }
    if "samples" in outputs:
        samples = outputs["samples"].astype(np.float64)  # [B, S, 2, 3]
        calibration = {}
        for component, i, j in COMPONENTS:
            calibration[component] = calibration_entry(samples[:, :, i, j], truth[:, i, j])
            histograms[f"coverage/{component}/{name}"] = coverage_histogram(
                truth_quantiles(samples[:, :, i, j], truth[:, i, j]), label=f"nominal coverage ({component})"
            )
        m_samples = sample_ttbar_masses(outputs, samples)
        calibration["m_ttbar"] = calibration_entry(m_samples, truth_obs["m_ttbar"])
        q = truth_quantiles(m_samples, truth_obs["m_ttbar"])
        histograms[f"coverage/m_ttbar/{name}"] = coverage_histogram(q, label="nominal coverage (m_ttbar)")
        histograms[f"truth_quantiles/m_ttbar/{name}"] = quantile_histogram(q, label="truth quantile of m_ttbar")
        entry["calibration"] = calibration
    return {"residuals": residuals, "entry": entry, "histograms": histograms}


def _compare(
    name: str,
    residuals: dict[str, dict[str, np.ndarray]],
    answered: dict[str, np.ndarray],
    everyone: np.ndarray,
    bootstrap: int,
) -> dict[str, Any]:
    """A method's bias and resolution on the events it answers, on those every method answers, and on those each
    failing method answers — there paired with that method's residuals on the same events."""
    ok = answered[name]
    subsets = {
        "answered_events": ok,
        "all_answer_events": everyone,
        **{f"{other}_events": rows & ok for other, rows in answered.items() if not rows.all()},
    }
    entry: dict[str, Any] = {}
    for subset, rows in subsets.items():
        part: dict[str, Any] = {"events": int(rows.sum())}
        for q, r in residuals[name].items():
            part[q] = bootstrap_bias_resolution(r[rows], resamples=bootstrap)
        other = subset.removesuffix("_events")
        if other in answered and other != name:  # paired: both methods' residuals on the same events
            part[f"resolution_minus_{other}"] = {
                q: paired_resolution_difference(r[rows], residuals[other][q][rows], resamples=bootstrap)
                for q, r in residuals[name].items()
            }
        entry[subset] = part
    return entry


def sample_ttbar_masses(outputs: dict[str, Any], samples: np.ndarray) -> np.ndarray:
    """m(tt̄) of every posterior sample ``[B, S]`` with the flow's b jets (each sample's own, :func:`sample_b_jets`)."""
    leptons = outputs["leptons_p4"].astype(np.float64)
    b = sample_b_jets(outputs | {"samples": samples})
    nu, nubar = samples[:, :, 0], samples[:, :, 1]

    def e(p):
        return np.linalg.norm(p, axis=-1, keepdims=True)

    visible = b[:, :, 0] + b[:, :, 1] + (leptons[:, 0] + leptons[:, 1])[:, None, :]
    total = visible + np.concatenate([nu, e(nu)], -1) + np.concatenate([nubar, e(nubar)], -1)
    return np.sqrt(np.maximum(total[..., 3] ** 2 - (total[..., :3] ** 2).sum(-1), 0.0))


def summary(metrics: dict[str, Any]) -> str:
    lines = [
        "# Dilepton neutrinos: the flow against the classical reconstructions",
        "",
        f"{metrics['events']} events; every method answers {metrics['events_all_answer']} of them.",
        "",
        "| method | answered | events | ν pz res. [GeV] | ν̄ pz res. [GeV] | m(tt̄) bias | m(tt̄) res. | cos θ⁺ res. |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for subset, title in (
        ("answered_events", "on the events each method answers"),
        ("all_answer_events", "on the events every method answers"),
    ):
        for name, entry in metrics["methods"].items():
            part = entry[subset]
            answered = value_with_error(entry["answered"], entry["answered_error"])
            lines.append(
                f"| {name} ({title}) | {answered} | {part['events']} | "
                f"{cell(part['nu_pz'], 'resolution', digits='.1f')} | "
                f"{cell(part['nubar_pz'], 'resolution', digits='.1f')} | "
                f"{cell(part['m_ttbar'], 'bias', signed=True)} | {cell(part['m_ttbar'], 'resolution')} | "
                f"{cell(part['cos_theta_plus'], 'resolution')} |"
            )
    failing = [n for n, e in metrics["methods"].items() if e["answered"] < 1.0]
    for other in failing:
        lines += [
            "",
            f"On the events `{other}` answers (the same events for every method that answers them all):",
            "",
            f"| method | events | ν pz res. [GeV] | ν̄ pz res. [GeV] | m(tt̄) res. | m(tt̄) res. − {other}'s (paired) | "
            "top pT res. | cos θ⁺ res. | cos θ⁻ res. |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, entry in metrics["methods"].items():
            part = entry[f"{other}_events"]
            d = part.get(f"resolution_minus_{other}", {}).get("m_ttbar")
            paired = value_with_error(d["difference"], d["error"], digits=".4f", signed=True) if d else "—"
            resolutions = [
                cell(part[k], "resolution", digits=".1f" if k.endswith("_pz") else ".3f")
                for k in ("nu_pz", "nubar_pz", "m_ttbar")
            ]
            others = [cell(part[k], "resolution") for k in ("top_pt", "cos_theta_plus", "cos_theta_minus")]
            lines.append(f"| {name} | {part['events']} | " + " | ".join([*resolutions, paired, *others]) + " |")
    calibrated = {n: e["calibration"] for n, e in metrics["methods"].items() if "calibration" in e}
    if calibrated:
        rows = [(name, quantity, c) for name, calibration in calibrated.items() for quantity, c in calibration.items()]
        lines += ["", "Calibration (exact estimators; coverage ± its Wilson error):", "", *calibration_table(rows)]
    lines += [
        "",
        "Figures: `m_ttbar`, `coverage` (one per posterior method when there are several: `coverage_<method>`; PDF "
        "and PNG), from the histograms in `histograms.root`.",
        "",
    ]
    return "\n".join(lines)


def draw_figures(out: Path, histograms: dict[str, Any], label_text: str, experiment: str | None) -> None:
    import matplotlib.pyplot as plt

    from hepgen.plotting import label, plot_coverage, plot_distributions, save_figure, use_style

    use_style()
    drawn = {k.split("/", 1)[1]: h for k, h in histograms.items() if k.startswith("m_ttbar/")}
    ax, _ = plot_distributions(drawn, reference="truth", xlabel=r"$m(t\bar{t})$ [GeV]")
    label(ax, label_text, experiment=experiment)
    save_figure(ax.figure, out / "m_ttbar")
    plt.close(ax.figure)
    posteriors = list(dict.fromkeys(k.split("/", 2)[2] for k in histograms if k.startswith("coverage/")))
    for name in posteriors:  # one figure per posterior method: every neutrino component and m(tt̄)
        coverage = {
            k.split("/")[1]: h
            for k, h in histograms.items()
            if k.startswith("coverage/") and k.split("/", 2)[2] == name
        }
        fig, ax = plt.subplots(figsize=(6, 5))
        plot_coverage(coverage, ax=ax, colors=dict(zip(coverage, _QUANTITY_COLORS)), xlabel="nominal coverage")
        ax.legend(fontsize="x-small", title=name, title_fontsize="x-small")
        label(ax, label_text, experiment=experiment)
        save_figure(fig, out / ("coverage" if len(posteriors) == 1 else f"coverage_{_slug(name)}"))
        plt.close(fig)


#: One colour per calibrated quantity (Okabe–Ito and black).
_QUANTITY_COLORS = ("#56B4E9", "#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#000000")


def _slug(name: str) -> str:
    """A file-name form of a method's name: ``flow (flow_constrained)`` → ``flow_flow_constrained``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
