"""Compare VIPR with the observed jets and SoftDrop grooming, against the truth (no pileup), at each μ.

Input: prediction files of ``hepgen predict pileup`` (tree ``VIPR``: one row per
(jet, posterior sample); tree ``Jets``: the observed and truth constituents of
each jet). Files with the same μ are pooled (e.g. the shards of one job).

For every observable of :data:`hepgen.physics.substructure.OBSERVABLES` and every μ:

- **residuals** ``x / x_truth − 1`` per jet: bias (median) and resolution
  (IQR/1.349) for the observed jet, SoftDrop, the VIPR posterior median per jet,
  and every VIPR sample;
- **distributions** against the truth, with the Wasserstein-1 distance (in the
  observable's unit, and divided by the truth's IQR/1.349 so observables compare);
- **calibration** of the VIPR posterior (truth quantiles, coverage, pulls).

SoftDrop is tuned fairly but never on the jets it is scored on: the jets are
split by a hash of their index into a *validation* part (``validation_fraction``)
and a *test* part. On the validation jets every (z_cut, β) of
:data:`~hepgen.physics.softdrop.SOFTDROP_GRID` is scored per observable and μ by
√(bias² + resolution²) of the residual; the best setting is then applied to the
test jets, where every number reported here (for every method) is computed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from scipy import stats

from hepgen.errors import HepgenInputError
from hepgen.io.writer import read_event_outputs
from hepgen.physics.softdrop import SOFTDROP_GRID, softdrop_groom
from hepgen.physics.substructure import OBSERVABLE_LABELS, OBSERVABLES, jet_observables
from hepgen.validation.calibration import DEFAULT_LEVELS, calibration_summary, coverage, pulls, truth_quantiles
from hepgen.validation.metrics import IQR_TO_SIGMA, bias_resolution
from hepgen.validation.report import write_report

__all__ = ["PileupPrediction", "load_pileup_predictions", "validation_split", "validate_pileup", "METHODS", "mu_table"]

log = logging.getLogger(__name__)

#: The methods compared, in the order of tables and legends.
METHODS = ("observed", "softdrop", "vipr median", "vipr samples")

_FIELDS = ("pt", "eta", "phi", "mass")


@dataclass
class PileupPrediction:
    """The jets of one μ: truth, observed and VIPR-sample constituents (jagged ``(pt, eta, phi, mass)``).

    ``samples`` holds ``n_samples`` consecutive rows per jet (jet-major), ``entry`` the jet index ``[J]``.
    """

    mu: float
    files: list[str]
    entry: np.ndarray
    truth: ak.Array
    observed: ak.Array
    samples: ak.Array
    n_samples: int
    n_pileup: np.ndarray

    @property
    def n_jets(self) -> int:
        return len(self.entry)


def _constituents(outputs: dict[str, Any], prefix: str, path: str) -> ak.Array:
    """Jagged (pt, eta, phi, mass) records from ``<prefix>_<field>`` branches; generated particles are massless."""
    columns = {k: outputs[f"{prefix}_{k}"] for k in _FIELDS if f"{prefix}_{k}" in outputs}
    if "mass" not in columns and len(columns) == 3:
        columns["mass"] = columns["pt"] * 0.0
    missing = [f"{prefix}_{k}" for k in _FIELDS if k not in columns]
    if missing:
        raise HepgenInputError(f"{path}: missing {missing}; is this a file written by `hepgen predict pileup`?")
    return ak.zip(columns)


def _read_one(path: str) -> tuple[float, dict[str, Any]]:
    import uproot

    with uproot.open(path) as file:
        trees = {k.split(";")[0] for k in file.keys()}
    if "VIPR" not in trees or "Jets" not in trees:
        raise HepgenInputError(
            f"{path} holds the trees {sorted(trees)}; a VIPR prediction file holds 'VIPR' and 'Jets' "
            "(made by `hepgen predict pileup`; files from hepgen < 0.2 lack 'Jets': predict again)"
        )
    samples, sample_id, metadata = read_event_outputs(path, tree="VIPR")
    jets, jet_id, _ = read_event_outputs(path, tree="Jets")
    entry = jet_id["entry"]
    order = np.lexsort((samples["sample"], sample_id["entry"]))
    sample_entry = sample_id["entry"][order]
    unique, counts = np.unique(sample_entry, return_counts=True)
    if not np.array_equal(unique, np.sort(entry)):
        raise HepgenInputError(
            f"{path}: the 'VIPR' tree has samples for {len(unique)} jets and the 'Jets' tree holds {len(entry)} jets "
            "(or other jets); prediction and truth must describe the same jets"
        )
    if len(counts) and counts.min() != counts.max():
        raise HepgenInputError(f"{path}: jets have between {counts.min()} and {counts.max()} samples; expected the same number")
    jet_order = np.argsort(entry, kind="stable")
    return float(metadata.get("mu", np.nan)), {
        "entry": entry[jet_order],
        "truth": _constituents(jets, "truth_constituent", path)[jet_order],
        "observed": _constituents(jets, "observed_constituent", path)[jet_order],
        "samples": _constituents(samples, "constituent", path)[order],
        "n_samples": int(counts[0]) if len(counts) else 0,
        "n_pileup": jets["n_pileup"][jet_order],
    }


def load_pileup_predictions(files: Sequence[str | os.PathLike]) -> list[PileupPrediction]:
    """Read VIPR prediction files and pool them by μ (sorted by μ)."""
    if not files:
        raise HepgenInputError("no prediction files given")
    pooled: dict[float, list[tuple[str, dict[str, Any]]]] = {}
    for path in files:
        mu, content = _read_one(os.fspath(path))
        pooled.setdefault(mu, []).append((os.fspath(path), content))
    predictions = []
    for mu in sorted(pooled):
        parts = pooled[mu]
        n_samples = {c["n_samples"] for _, c in parts}
        if len(n_samples) > 1:
            raise HepgenInputError(f"files at μ = {mu} hold {sorted(n_samples)} samples per jet; pool files made alike")
        predictions.append(PileupPrediction(
            mu=mu, files=[p for p, _ in parts], n_samples=n_samples.pop(),
            entry=np.concatenate([c["entry"] for _, c in parts]),
            truth=ak.concatenate([c["truth"] for _, c in parts]),
            observed=ak.concatenate([c["observed"] for _, c in parts]),
            samples=ak.concatenate([c["samples"] for _, c in parts]),
            n_pileup=np.concatenate([c["n_pileup"] for _, c in parts]),
        ))  # fmt: skip
    return predictions


def validation_split(entry: np.ndarray, fraction: float) -> np.ndarray:
    """True for the jets (by index ``entry`` ``[J]``) that belong to the validation part; a fixed hash, no RNG state."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1); got {fraction}")
    hashed = (np.asarray(entry, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(2**32)
    return hashed.astype(np.float64) / 2**32 < fraction


def _relative(values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return values / truth - 1.0


def _score(values: np.ndarray, truth: np.ndarray) -> float:
    bias, resolution = bias_resolution(_relative(values, truth))
    return float(np.hypot(bias, resolution))


def _w1(values: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    v, t = values[np.isfinite(values)], truth[np.isfinite(truth)]
    if len(v) == 0 or len(t) == 0:
        return float("nan"), float("nan")
    w1 = float(stats.wasserstein_distance(v, t))
    q25, q75 = np.percentile(t, [25, 75])
    spread = (q75 - q25) / IQR_TO_SIGMA
    return w1, float(w1 / spread) if spread > 0 else float("nan")


def _observables_of_samples(prediction: PileupPrediction) -> dict[str, np.ndarray]:
    values = jet_observables(prediction.samples)
    return {k: v.reshape(prediction.n_jets, prediction.n_samples) for k, v in values.items()}


def _evaluate_mu(prediction: PileupPrediction, validation_fraction: float, grid: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """Every number and array of one μ point (test-split metrics, SoftDrop choice, calibration inputs)."""
    nonempty = (ak.to_numpy(ak.num(prediction.truth)) > 0) & (ak.to_numpy(ak.num(prediction.observed)) > 0)
    empty = int((~nonempty).sum())
    if empty:
        log.warning("μ = %g: %d jet(s) without constituents skipped", prediction.mu, empty)
    is_validation = validation_split(prediction.entry, validation_fraction) & nonempty
    is_test = ~validation_split(prediction.entry, validation_fraction) & nonempty
    if is_validation.sum() == 0 or is_test.sum() == 0:
        raise HepgenInputError(
            f"μ = {prediction.mu}: {int(is_validation.sum())} validation and {int(is_test.sum())} test jets; "
            "SoftDrop is tuned on the validation jets and every method scored on the test jets — give more jets"
        )
    truth = jet_observables(prediction.truth)
    observed = jet_observables(prediction.observed)
    samples = _observables_of_samples(prediction)

    # SoftDrop: score the whole grid on the validation jets, keep the best setting per observable
    val_observed = prediction.observed[is_validation]
    grid_scores = {name: np.full(len(grid), np.nan) for name in OBSERVABLES}
    for g, (z_cut, beta) in enumerate(grid):
        groomed = jet_observables(softdrop_groom(val_observed, z_cut=z_cut, beta=beta))
        for name in OBSERVABLES:
            grid_scores[name][g] = _score(groomed[name], truth[name][is_validation])
    chosen = {name: int(np.nanargmin(grid_scores[name])) if np.isfinite(grid_scores[name]).any() else 0 for name in OBSERVABLES}
    test_observed = prediction.observed[is_test]
    softdrop: dict[str, np.ndarray] = {}
    for g in sorted(set(chosen.values())):
        z_cut, beta = grid[g]
        groomed = jet_observables(softdrop_groom(test_observed, z_cut=z_cut, beta=beta))
        for name in OBSERVABLES:
            if chosen[name] == g:
                softdrop[name] = groomed[name]

    result: dict[str, Any] = {
        "jets": int(prediction.n_jets), "empty_jets_skipped": empty, "validation_jets": int(is_validation.sum()),
        "test_jets": int(is_test.sum()), "samples_per_jet": prediction.n_samples,
        "mean_pileup_interactions": float(np.mean(prediction.n_pileup)),
        "softdrop_choice": {name: {"z_cut": grid[g][0], "beta": grid[g][1], "validation_score": float(grid_scores[name][g])}
                            for name, g in chosen.items()},
        "softdrop_grid_scores": {name: scores.tolist() for name, scores in grid_scores.items()},
        "methods": {m: {} for m in METHODS}, "calibration": {}, "skipped": {},
    }  # fmt: skip
    arrays: dict[str, Any] = {"truth": {}, "values": {m: {} for m in METHODS}, "quantiles": {}, "coverage": {}, "pulls": {},
                              "grid_scores": grid_scores, "chosen": chosen}  # fmt: skip
    for name in OBSERVABLES:
        t = truth[name][is_test]
        s = samples[name][is_test]
        values = {
            "observed": observed[name][is_test],
            "softdrop": softdrop[name],
            "vipr median": np.nanmedian(np.where(np.isfinite(s), s, np.nan), axis=1) if s.shape[1] else np.full(len(t), np.nan),
            "vipr samples": s,
        }
        usable = np.isfinite(t) & (t != 0)
        result["skipped"][name] = int((~usable).sum())
        arrays["truth"][name] = t[usable]
        for method, v in values.items():
            v = v[usable]
            residual = _relative(v, t[usable, None] if v.ndim == 2 else t[usable])
            bias, resolution = bias_resolution(residual.ravel())
            w1, w1_scaled = _w1(v.ravel(), t[usable])
            result["methods"][method][name] = {"bias": bias, "resolution": resolution, "w1": w1, "w1_over_sigma": w1_scaled,
                                               "nonfinite_skipped": int((~np.isfinite(v)).sum())}  # fmt: skip
            arrays["values"][method][name] = v.ravel()
        calibrated = usable & np.isfinite(s).all(axis=1)
        if calibrated.sum() and s.shape[1] > 1:
            summary = calibration_summary(s[calibrated], t[calibrated])
            result["calibration"][name] = {**summary.__dict__, "verdict": summary.verdict(int(calibrated.sum())),
                                           "jets": int(calibrated.sum())}  # fmt: skip
            arrays["quantiles"][name] = truth_quantiles(s[calibrated], t[calibrated])
            arrays["coverage"][name] = coverage(s[calibrated], t[calibrated])
            arrays["pulls"][name] = pulls(s[calibrated], t[calibrated])
    return {"metrics": result, "arrays": arrays}


def _evaluate_files(files: list[str], validation_fraction: float, grid: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """:func:`_evaluate_mu` of the files of one μ point (a unit of work on a cluster)."""
    (prediction,) = load_pileup_predictions(files)
    return _evaluate_mu(prediction, validation_fraction, grid)


def validate_pileup(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    validation_fraction: float = 0.3,
    grid: Sequence[tuple[float, float]] = SOFTDROP_GRID,
    label_text: str = "Simulation",
    experiment: str | None = None,
    progress: bool = True,
    scheduler: str | None = None,
    figures: bool = True,
) -> dict[str, Any]:
    """Compare observed, SoftDrop and VIPR jets with the truth at every μ; writes metrics, summary and figures.

    Args:
        files: ``hepgen predict pileup`` outputs (one or more per μ).
        out: folder for ``metrics.json``, ``summary.md`` and the figures (PDF and PNG).
        validation_fraction: share of jets (by a hash of their index) used only to tune SoftDrop.
        grid: the SoftDrop (z_cut, β) settings to scan (R0 = 1.0).
        label_text, experiment: the figure label (neutral "Simulation" unless an experiment is named).
        progress: show a progress bar over the μ points.
        scheduler: evaluate the μ points on a Dask cluster (``local:N`` or a scheduler address); the
            metrics and figures are the same as the serial run's.
        figures: draw the figures (off for quick checks and for validation shards).
    """
    predictions = load_pileup_predictions(files)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if scheduler:
        from hepgen.cluster import map_units

        units = [{"files": p.files, "validation_fraction": validation_fraction, "grid": list(grid)} for p in predictions]
        evaluated = map_units(_evaluate_files, units, scheduler, progress=progress)
    else:
        from tqdm.auto import tqdm

        evaluated = [_evaluate_mu(prediction, validation_fraction, grid)
                     for prediction in tqdm(predictions, desc="validate pileup (per μ)", disable=not progress)]  # fmt: skip
    mus = [p.mu for p in predictions]
    metrics: dict[str, Any] = {
        "observables": list(OBSERVABLES), "methods": list(METHODS), "mu": mus, "validation_fraction": validation_fraction,
        "softdrop_grid": [list(g) for g in grid], "files": {f"{p.mu:g}": p.files for p in predictions},
        "per_mu": {f"{mu:g}": e["metrics"] for mu, e in zip(mus, evaluated)},
    }  # fmt: skip
    if figures:
        _figures(out, mus, evaluated, list(grid), label_text, experiment)
    write_report(out, metrics, _summary(metrics))
    return metrics


def mu_table(entry: dict[str, Any], observables: Sequence[str] = OBSERVABLES) -> list[str]:
    """Markdown rows of one μ point (``metrics["per_mu"][mu]``): bias / resolution per method, W1/σ, calibration."""
    lines = ["| observable | observed bias / res | SoftDrop (z_cut, β) bias / res | VIPR median bias / res "
             "| W1/σ observed | W1/σ SoftDrop | W1/σ VIPR samples | VIPR calibration (KS) |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in observables:
        m = {k: entry["methods"][k][name] for k in METHODS}
        sd = entry["softdrop_choice"][name]
        cal = entry["calibration"].get(name)
        cal_text = f"{cal['verdict']} ({cal['ks']:.3f})" if cal else "–"
        lines.append(
            f"| {name} | {m['observed']['bias']:+.3f} / {m['observed']['resolution']:.3f} "
            f"| ({sd['z_cut']:g}, {sd['beta']:g}) {m['softdrop']['bias']:+.3f} / {m['softdrop']['resolution']:.3f} "
            f"| {m['vipr median']['bias']:+.3f} / {m['vipr median']['resolution']:.3f} "
            f"| {m['observed']['w1_over_sigma']:.3f} | {m['softdrop']['w1_over_sigma']:.3f} "
            f"| {m['vipr samples']['w1_over_sigma']:.3f} | {cal_text} |"
        )
    return lines


def _summary(metrics: dict[str, Any]) -> str:
    lines = [
        "# Pileup removal: observed vs SoftDrop vs VIPR, against the truth (no pileup)",
        "",
        "Relative residual x/x_truth − 1 per jet: bias = median, resolution = IQR/1.349; "
        "W1/σ = Wasserstein-1 distance of the distribution to the truth's, divided by the truth's IQR/1.349. "
        f"SoftDrop (z_cut, β) chosen per observable and μ on {metrics['validation_fraction']:.0%} validation jets; "
        "every number below is on the other (test) jets.",
    ]
    for mu, entry in metrics["per_mu"].items():
        lines += ["", f"## μ = {mu} ({entry['test_jets']} test jets, {entry['samples_per_jet']} VIPR samples per jet, "
                      f"{entry['empty_jets_skipped']} empty jets skipped)", "", *mu_table(entry, metrics["observables"])]  # fmt: skip
    lines += ["", "Figures: `distributions_mu*` (with ratio panels), `bias_vs_mu`, `resolution_vs_mu`, `w1_vs_mu`, "
                  "`truth_quantiles`, `coverage`, `pulls` (VIPR calibration), `softdrop_grid` (validation scores of the "
                  "jet mass) — each as PDF and PNG.", ""]  # fmt: skip
    return "\n".join(lines)


def _bins(values: Sequence[np.ndarray], name: str) -> np.ndarray:
    if name == "n_constituents":
        hi = max(np.nanpercentile(v, 99.5) for v in values if len(v))
        return np.linspace(0, hi + 1, 41)
    finite = [v[np.isfinite(v)] for v in values]
    lo = min(np.percentile(v, 0.5) for v in finite if len(v))
    hi = max(np.percentile(v, 99.5) for v in finite if len(v))
    lo = 0.0 if lo >= 0 and name != "pt" else lo
    return np.linspace(lo, hi if hi > lo else lo + 1, 41)


def _grid_of_axes(n: int, *, ratio: bool):  # noqa: ANN202
    import matplotlib.pyplot as plt

    columns = 4
    rows = int(np.ceil(n / columns))
    if not ratio:
        fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3.9 * rows), layout="constrained")
        return fig, list(np.ravel(axes)), None
    fig = plt.figure(figsize=(4.4 * columns, 5.0 * rows))
    spec = fig.add_gridspec(3 * rows, columns, height_ratios=[3, 1, 1.0] * rows, hspace=0.08, wspace=0.4,
                            left=0.06, right=0.98, top=0.97, bottom=0.02)  # fmt: skip
    main, lower = [], []
    for k in range(n):
        r, c = divmod(k, columns)
        top = fig.add_subplot(spec[3 * r, c])
        main.append(top)
        lower.append(fig.add_subplot(spec[3 * r + 1, c], sharex=top))
        top.tick_params(labelbottom=False)
    return fig, main, lower


def _figures(out: Path, mus: list[float], evaluated: list[dict[str, Any]], grid: list[tuple[float, float]],
             label_text: str, experiment: str | None) -> None:  # fmt: skip
    import matplotlib.pyplot as plt

    from hepgen.plotting import use_style

    use_style()
    with plt.rc_context(_PANEL_STYLE):
        _draw_figures(out, mus, evaluated, grid, label_text, experiment)


#: Font sizes for multi-panel figures (mplhep's defaults suit one panel per figure).
_PANEL_STYLE = {"font.size": 12, "axes.labelsize": 12, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 8,
                "xtick.minor.visible": False, "ytick.minor.visible": False,
                "axes.titlesize": 12}  # fmt: skip


def _draw_figures(out: Path, mus: list[float], evaluated: list[dict[str, Any]], grid: list[tuple[float, float]],
                  label_text: str, experiment: str | None) -> None:  # fmt: skip
    import matplotlib.pyplot as plt

    from hepgen.plotting import (
        label_figure,
        plot_coverage,
        plot_distributions,
        plot_grid_scores,
        plot_pulls,
        plot_scan,
        plot_truth_quantiles,
        save_figure,
    )

    for mu, e in zip(mus, evaluated):
        arrays = e["arrays"]
        fig, main, lower = _grid_of_axes(len(OBSERVABLES), ratio=True)
        for ax, ratio_ax, name in zip(main, lower, OBSERVABLES):
            values = {"truth": arrays["truth"][name], **{m: arrays["values"][m][name] for m in ("observed", "softdrop", "vipr samples")}}
            plot_distributions(values, reference="truth", bins=_bins(list(values.values()), name),
                               xlabel=OBSERVABLE_LABELS[name], ax=ax, ratio_ax=ratio_ax)  # fmt: skip
        label_figure(fig, label_text, experiment=experiment, title=f"top jets, μ = {mu:g}: observables against the truth")
        save_figure(fig, out / f"distributions_mu{mu:g}")
        plt.close(fig)

    for key, ylabel, reference in (("bias", "bias (median of x/x_true − 1)", 0.0),
                                   ("resolution", "resolution (IQR/1.349 of x/x_true − 1)", None),
                                   ("w1_over_sigma", r"$W_1$(x, truth) / $\sigma_{truth}$", 0.0)):  # fmt: skip
        fig, axes, _ = _grid_of_axes(len(OBSERVABLES), ratio=False)
        for ax, name in zip(axes, OBSERVABLES):
            values = {m: [e["metrics"]["methods"][m][name][key] for e in evaluated] for m in METHODS}
            plot_scan(mus, values, xlabel="μ", ylabel=ylabel.split(" (")[0], reference=reference, ax=ax)
            ax.set_title(OBSERVABLE_LABELS[name])
        label_figure(fig, label_text, experiment=experiment, title=ylabel)
        save_figure(fig, out / {"bias": "bias_vs_mu", "resolution": "resolution_vs_mu", "w1_over_sigma": "w1_vs_mu"}[key])
        plt.close(fig)

    for kind, draw in (("truth_quantiles", plot_truth_quantiles), ("coverage", lambda d, ax: plot_coverage(d, levels=DEFAULT_LEVELS, ax=ax)),
                       ("pulls", plot_pulls)):  # fmt: skip
        fig, axes, _ = _grid_of_axes(len(OBSERVABLES), ratio=False)
        for ax, name in zip(axes, OBSERVABLES):
            key = "quantiles" if kind == "truth_quantiles" else kind
            data = {f"μ = {mu:g}": e["arrays"][key][name] for mu, e in zip(mus, evaluated) if name in e["arrays"][key]}
            if data:
                draw(data, ax=ax)
            ax.set_title(OBSERVABLE_LABELS[name])
        label_figure(fig, label_text, experiment=experiment, title=f"VIPR posterior calibration: {kind.replace('_', ' ')}")
        save_figure(fig, out / kind)
        plt.close(fig)

    z_cuts = sorted({z for z, _ in grid})
    betas = sorted({b for _, b in grid})
    fig, axes = plt.subplots(1, len(mus), figsize=(4.6 * len(mus), 4.0), squeeze=False, layout="constrained")
    for ax, mu, e in zip(axes[0], mus, evaluated):
        scores = np.full((len(z_cuts), len(betas)), np.nan)
        for g, (z, b) in enumerate(grid):
            scores[z_cuts.index(z), betas.index(b)] = e["arrays"]["grid_scores"]["mass"][g]
        z, b = grid[e["arrays"]["chosen"]["mass"]]
        plot_grid_scores(scores, z_cuts, betas, row_label=r"$z_{cut}$", column_label=r"$\beta$",
                         chosen=(z_cuts.index(z), betas.index(b)), title=f"jet mass, μ = {mu:g}", ax=ax)  # fmt: skip
    label_figure(fig, label_text, experiment=experiment, title="SoftDrop on the validation jets: √(bias² + resolution²) of m/m_true − 1")
    save_figure(fig, out / "softdrop_grid")
    plt.close(fig)
