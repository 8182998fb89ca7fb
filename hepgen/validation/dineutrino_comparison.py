"""Compare dilepton neutrino reconstructions (the flow, the ellipse method, Neutrino Weighting) on the same events.

Per method: the fraction of events it answers (with its binomial error); on the events it answers, the bias and
resolution (median and IQR/1.349, each ± a bootstrap error) of px, py, pz of ν and ν̄ (for the flow its posterior
median), and of the reconstructed tt̄ observables (for the flow the posterior median of each) against the
generator's: m(tt̄) and the top pT (relative: x/x_true − 1) and the helicity-basis cos θ of
each lepton (absolute); the same on the events *every* method answers (the fair comparison with methods that fail);
for the flow the calibration (truth quantiles, coverage with binomial errors, pulls) of all six neutrino components
and of m(tt̄) (each posterior sample's m(tt̄), with the flow's b pairing). Writes ``metrics.json``, ``summary.md``,
``histograms.root`` (:mod:`hepgen.validation.histograms`) and figures drawn from those histograms.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.io.writer import read_event_outputs
from hepgen.physics.dilepton_neutrinos import ttbar_observables
from hepgen.validation.calibration import calibration_summary, coverage_error, truth_quantiles
from hepgen.validation.histograms import (
    HISTOGRAMS_FILE,
    counts_histogram,
    coverage_histogram,
    quantile_histogram,
    write_histograms,
)
from hepgen.validation.metrics import bootstrap_bias_resolution, paired_resolution_difference
from hepgen.validation.report import write_report

__all__ = ["OBSERVABLES", "COMPONENTS", "validate_dineutrino", "sample_ttbar_masses"]

#: The tt̄ observables and whether their residual is relative (x/x_true − 1) or absolute.
OBSERVABLES = {"m_ttbar": "relative", "top_pt": "relative", "cos_theta_plus": "absolute", "cos_theta_minus": "absolute"}
#: The neutrino components: (name, neutrino index, momentum index).
COMPONENTS = tuple(
    (f"{nu}_{c}", i, j) for i, nu in enumerate(("nu", "nubar")) for j, c in enumerate(("px", "py", "pz"))
)


def _load(files: Sequence[str | os.PathLike]) -> dict[str, dict[str, Any]]:
    """Method name → outputs; all files must hold the same events, with truth."""
    if not files:
        raise HepgenInputError("no prediction files given")
    methods: dict[str, dict[str, Any]] = {}
    reference: tuple[str, np.ndarray] | None = None
    for path in files:
        outputs, event_id, metadata = read_event_outputs(path, tree="Dineutrino")
        name = metadata.get("method", Path(path).stem)
        if name in methods:
            name = f"{name} ({Path(path).stem})"
        if "truth" not in outputs or "truth_m_ttbar" not in outputs:
            raise HepgenInputError(f"{path}: no truth in the prediction file; validation needs simulated events")
        entries = event_id["entry"]
        if reference is None:
            reference = (str(path), entries)
        elif not np.array_equal(entries, reference[1]):
            raise HepgenInputError(
                f"{path} holds {len(entries)} events and {reference[0]} {len(reference[1])} (or "
                "other events): compare predictions made on the same input events"
            )
        methods[name] = outputs
    return methods


def _observables(outputs: dict[str, Any], point: np.ndarray) -> dict[str, np.ndarray]:
    """The tt̄ observables of a method's answer: of its neutrinos ``point`` ``[B, 2, 3]``, or for a posterior the
    median over its samples of each sample's observable (the observables of the median neutrinos are biased: the
    component-wise median shortens the neutrinos)."""
    b, leptons = outputs["b_p4"].astype(np.float64), outputs["leptons_p4"].astype(np.float64)
    if "samples" not in outputs:
        return ttbar_observables(b[:, 0], leptons[:, 0], point[:, 0], b[:, 1], leptons[:, 1], point[:, 1])
    samples = outputs["samples"].astype(np.float64)  # [B, S, 2, 3]
    n, s = samples.shape[:2]

    def rep(x):
        return np.repeat(x, s, axis=0)

    flat = samples.reshape(n * s, 2, 3)
    per_sample = ttbar_observables(
        rep(b[:, 0]), rep(leptons[:, 0]), flat[:, 0], rep(b[:, 1]), rep(leptons[:, 1]), flat[:, 1]
    )
    return {k: np.median(v.reshape(n, s), axis=1) for k, v in per_sample.items()}


def _residual(kind: str, values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return values / truth - 1.0 if kind == "relative" else values - truth


def validate_dineutrino(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    label_text: str = "Simulation",
    experiment: str | None = None,
    figures: bool = True,
    bootstrap: int = 200,
) -> dict[str, Any]:
    """Compare the methods of ``files``; writes metrics.json, summary.md, histograms.root and figures to ``out``."""
    methods = _load(files)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = next(iter(methods.values()))
    truth = first["truth"].astype(np.float64)
    truth_obs = {k: first[f"truth_{k}"].astype(np.float64) for k in OBSERVABLES}
    answered = {name: o["answered"].astype(bool) for name, o in methods.items()}
    everyone = np.logical_and.reduce(list(answered.values()))
    n = len(truth)
    metrics: dict[str, Any] = {
        "events": n,
        "events_all_answer": int(everyone.sum()),
        "bootstrap": bootstrap,
        "methods": {},
    }
    histograms: dict[str, Any] = {}
    for k in OBSERVABLES:
        edges = (
            np.linspace(0, 1500, 61)
            if k == "m_ttbar"
            else np.linspace(0, 600, 61)
            if k == "top_pt"
            else np.linspace(-1, 1, 41)
        )
        histograms[f"{k}/truth"] = counts_histogram(truth_obs[k], edges, name=k, label=k)
    points = {name: outputs["point"].astype(np.float64) for name, outputs in methods.items()}
    observables = {name: _observables(outputs, np.nan_to_num(points[name])) for name, outputs in methods.items()}
    residuals = {
        name: {
            **{c: points[name][:, i, j] - truth[:, i, j] for c, i, j in COMPONENTS},
            **{k: _residual(kind, observables[name][k], truth_obs[k]) for k, kind in OBSERVABLES.items()},
        }
        for name in methods
    }
    quantities = (*(c for c, _, _ in COMPONENTS), *OBSERVABLES)
    for name, outputs in methods.items():
        ok = answered[name]
        fraction = float(ok.mean()) if n else float("nan")
        entry: dict[str, Any] = {
            "answered": fraction,
            "answered_error": float(coverage_error(np.array([fraction]), n)[0]),
        }
        # every method also on the events each failing method answers: "better on the events where X succeeds"
        subsets = {
            "answered_events": ok,
            "all_answer_events": everyone,
            **{f"{other}_events": rows & ok for other, rows in answered.items() if not rows.all()},
        }
        for subset, rows in subsets.items():
            part: dict[str, Any] = {"events": int(rows.sum())}
            for q in quantities:
                part[q] = bootstrap_bias_resolution(residuals[name][q][rows], resamples=bootstrap)
            other = subset.removesuffix("_events")
            if other in answered and other != name:  # paired: both methods' residuals on the same events
                part[f"resolution_minus_{other}"] = {
                    q: paired_resolution_difference(
                        residuals[name][q][rows], residuals[other][q][rows], resamples=bootstrap
                    )
                    for q in quantities
                }
            entry[subset] = part
        for k in OBSERVABLES:
            edges = histograms[f"{k}/truth"].axes[0].edges
            histograms[f"{k}/{name}"] = counts_histogram(observables[name][k][ok], edges, name=k, label=k)
        if "samples" in outputs:
            samples = outputs["samples"].astype(np.float64)  # [B, S, 2, 3]
            calibration = {}
            for component, i, j in COMPONENTS:
                calibration[component] = _calibration(samples[:, :, i, j], truth[:, i, j])
                histograms[f"coverage/{component}/{name}"] = coverage_histogram(
                    truth_quantiles(samples[:, :, i, j], truth[:, i, j]), label=f"nominal coverage ({component})"
                )
            m_samples = sample_ttbar_masses(outputs, samples)
            calibration["m_ttbar"] = _calibration(m_samples, truth_obs["m_ttbar"])
            q = truth_quantiles(m_samples, truth_obs["m_ttbar"])
            histograms[f"coverage/m_ttbar/{name}"] = coverage_histogram(q, label="nominal coverage (m_ttbar)")
            histograms[f"truth_quantiles/m_ttbar/{name}"] = quantile_histogram(q, label="truth quantile of m_ttbar")
            entry["calibration"] = calibration
        metrics["methods"][name] = entry
    write_histograms(out / HISTOGRAMS_FILE, histograms)
    if figures:
        _figures(out, histograms, label_text, experiment)
    write_report(out, metrics, _summary(metrics))
    return metrics


def sample_ttbar_masses(outputs: dict[str, Any], samples: np.ndarray) -> np.ndarray:
    """m(tt̄) of every posterior sample ``[B, S]`` with the flow's b pairing."""
    b, leptons = outputs["b_p4"].astype(np.float64), outputs["leptons_p4"].astype(np.float64)
    nu, nubar = samples[:, :, 0], samples[:, :, 1]

    def e(p):
        return np.linalg.norm(p, axis=-1, keepdims=True)

    visible = (b[:, 0] + b[:, 1] + leptons[:, 0] + leptons[:, 1])[:, None, :]
    total = visible + np.concatenate([nu, e(nu)], -1) + np.concatenate([nubar, e(nubar)], -1)
    return np.sqrt(np.maximum(total[..., 3] ** 2 - (total[..., :3] ** 2).sum(-1), 0.0))


def _calibration(samples: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    s = calibration_summary(samples, truth)
    return {**s.__dict__, "verdict": s.verdict()}


def _summary(metrics: dict[str, Any]) -> str:
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
            lines.append(
                f"| {name} ({title}) | {entry['answered']:.3f} ± {entry['answered_error']:.3f} | {part['events']} | "
                f"{part['nu_pz']['resolution']:.1f} ± {part['nu_pz']['resolution_err']:.1f} | "
                f"{part['nubar_pz']['resolution']:.1f} ± {part['nubar_pz']['resolution_err']:.1f} | "
                f"{part['m_ttbar']['bias']:+.3f} ± {part['m_ttbar']['bias_err']:.3f} | "
                f"{part['m_ttbar']['resolution']:.3f} ± {part['m_ttbar']['resolution_err']:.3f} | "
                f"{part['cos_theta_plus']['resolution']:.3f} ± {part['cos_theta_plus']['resolution_err']:.3f} |"
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

            def cell(k, f, part=part):
                return f"{part[k]['resolution']:{f}} ± {part[k]['resolution_err']:{f}}"

            d = part.get(f"resolution_minus_{other}", {}).get("m_ttbar")
            paired = f"{d['difference']:+.4f} ± {d['error']:.4f}" if d else "—"
            lines.append(
                f"| {name} | {part['events']} | {cell('nu_pz', '.1f')} | {cell('nubar_pz', '.1f')} | "
                f"{cell('m_ttbar', '.3f')} | {paired} | {cell('top_pt', '.3f')} | {cell('cos_theta_plus', '.3f')} | "
                f"{cell('cos_theta_minus', '.3f')} |"
            )
    calibrated = {n: e["calibration"] for n, e in metrics["methods"].items() if "calibration" in e}
    if calibrated:
        lines += [
            "",
            "Calibration (exact estimators; coverage ± binomial error):",
            "",
            "| method | quantity | 68 % coverage | 95 % coverage | verdict |",
            "|---|---|---|---|---|",
        ]
        for name, calibration in calibrated.items():
            for quantity, c in calibration.items():
                lines.append(
                    f"| {name} | {quantity} | {c['coverage_68']:.3f} ± {c['coverage_68_error']:.3f} | "
                    f"{c['coverage_95']:.3f} ± {c['coverage_95_error']:.3f} | {c['verdict']} |"
                )
    lines += [
        "",
        "Figures: `m_ttbar`, `coverage` (one per posterior method when there are several: `coverage_<method>`; PDF "
        "and PNG), from the histograms in `histograms.root`.",
        "",
    ]
    return "\n".join(lines)


def _figures(out: Path, histograms: dict[str, Any], label_text: str, experiment: str | None) -> None:
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
