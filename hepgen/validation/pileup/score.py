"""Scoring pileup removal on the test jets: VIPR's posterior per jet, the relative residual's bias and resolution,
the Wasserstein-1 distance to the truth distribution, each with a bootstrap error over jets, and the calibration of
every posterior (exact at any number of samples; coverage with its Wilson error)."""

from __future__ import annotations

import logging
from typing import Any

import awkward as ak
import numpy as np
from scipy import stats

from hepgen.physics.substructure import OBSERVABLES
from hepgen.validation.calibration import calibration_entry, pulls, truth_quantiles
from hepgen.validation.metrics import (
    IQR_TO_SIGMA,
    bootstrap_bias_resolution,
    bootstrap_indices,
    paired_accuracy_difference,
    paired_resolution_table,
)
from hepgen.validation.pileup.load import PointPrediction
from hepgen.validation.pileup.tune import observables, relative

__all__ = [
    "DIVERGED_PT",
    "LEARNED",
    "sample_observables",
    "wasserstein",
    "posteriors",
    "score",
    "paired_differences",
    "calibrate",
    "paired_coverage",
    "PAIRED_LEVELS",
]

#: The learned methods (by name prefix): each is compared with every other point estimate on the same jets.
LEARNED = ("vipr", "puppiml")

log = logging.getLogger("hepgen.validation")

#: The central-interval levels whose coverage two posteriors are compared at on the same jets.
PAIRED_LEVELS = (0.683, 0.95)

#: A generated constituent above this pT [GeV] (or not finite) means the sampler diverged for that sample.
DIVERGED_PT = 1e5


def sample_observables(constituents: ak.Array) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The observables of each generated jet, NaN for a sample whose sampler diverged (a non-finite constituent or one
    above :data:`DIVERGED_PT`: fastjet must not see them), and which samples diverged ``[rows]``."""
    finite = np.isfinite(constituents.pt) & (constituents.pt < DIVERGED_PT) & np.isfinite(constituents.eta)
    sane = ak.to_numpy(ak.all(finite & np.isfinite(constituents.phi), axis=1))
    values = {name: np.full(len(sane), np.nan) for name in OBSERVABLES}
    if sane.any():
        good = observables(constituents[sane])
        for name in OBSERVABLES:
            values[name][sane] = good[name]
    return values, ~sane


def wasserstein(values: np.ndarray, truth: np.ndarray, resamples: int) -> dict[str, float]:
    """W1 of the values' distribution to the truth's (finite entries), its bootstrap error, and W1 over the truth's
    IQR/1.349."""
    v, t = values[np.isfinite(values)], truth[np.isfinite(truth)]
    if len(v) == 0 or len(t) == 0:
        return {"w1": float("nan"), "w1_err": float("nan"), "w1_over_sigma": float("nan")}
    w1 = float(stats.wasserstein_distance(v, t))
    q25, q75 = np.percentile(t, [25, 75])
    spread = (q75 - q25) / IQR_TO_SIGMA
    rows = zip(bootstrap_indices(len(v), resamples, seed=1), bootstrap_indices(len(t), resamples, seed=2))
    boot = [stats.wasserstein_distance(v[i], t[j]) for i, j in rows]
    return {
        "w1": w1,
        "w1_err": float(np.std(boot, ddof=1)) if resamples > 1 else float("nan"),
        "w1_over_sigma": float(w1 / spread) if spread > 0 else float("nan"),
    }


def posteriors(
    point: PointPrediction, test: np.ndarray
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, np.ndarray]], dict[str, int]]:
    """Each generative method's samples on the test jets: (method → observable → ``[J, S]``, method → observable →
    the posterior median ``[J]``, method → diverged samples, excluded)."""
    samples: dict[str, dict[str, np.ndarray]] = {}
    medians: dict[str, dict[str, np.ndarray]] = {}
    diverged: dict[str, int] = {}
    for method, generated in point.generated.items():
        s = point.n_samples[method]
        rows = (test[:, None] * s + np.arange(s)[None, :]).ravel()
        per_sample, lost = sample_observables(generated[rows])
        diverged[method] = int(lost.sum())
        if diverged[method]:
            log.warning(
                "μ = %s: %d of %s's samples diverged (non-finite or > %.0e GeV constituents): excluded and counted",
                point.key,
                diverged[method],
                method,
                DIVERGED_PT,
            )
        samples[method] = {k: v.reshape(len(test), s) for k, v in per_sample.items()}
        medians[method] = {
            k: np.nanmedian(np.where(np.isfinite(v), v, np.nan), axis=1) for k, v in samples[method].items()
        }
    return samples, medians, diverged


def score(
    values: dict[str, dict[str, np.ndarray]], truth: dict[str, np.ndarray], resamples: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per method and observable on the test jets: bias and resolution of x/x_truth − 1, W1, each with its bootstrap
    error, and the non-finite values skipped; and the drawn arrays. ``values``: method → observable → ``[J]`` or
    ``[J, S]`` (every sample); jets whose truth is 0 or not finite are skipped and counted."""
    metrics: dict[str, Any] = {"methods": {m: {} for m in values}, "skipped": {}}
    arrays: dict[str, Any] = {"truth": {}, "values": {m: {} for m in values}}
    for name in OBSERVABLES:
        t = truth[name]
        usable = np.isfinite(t) & (t != 0)
        metrics["skipped"][name] = int((~usable).sum())
        arrays["truth"][name] = t[usable]
        for method, by_observable in values.items():
            v = by_observable[name][usable]
            residual = relative(v, t[usable, None] if v.ndim == 2 else t[usable])
            metrics["methods"][method][name] = {
                **bootstrap_bias_resolution(residual, resamples=resamples),
                **wasserstein(v.ravel(), t[usable], resamples),
                "nonfinite_skipped": int((~np.isfinite(v)).sum()),
            }
            arrays["values"][method][name] = v.ravel()
    return metrics, arrays


def paired_differences(
    values: dict[str, dict[str, np.ndarray]], truth: dict[str, np.ndarray], resamples: int
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """Each learned method's resolution minus every other point estimate's, on the same test jets, with the error of
    a paired bootstrap (the jets resampled together, so what the methods share cancels) and its significance:
    observable → learned method → other method → ``{difference, error, significance, events}``. ``values``: method
    → observable → ``[J]`` (rows with ``[J, S]`` samples are not point estimates and are skipped)."""
    point = {m: v for m, v in values.items() if next(iter(v.values())).ndim == 1}
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for name in OBSERVABLES:
        t = truth[name]
        usable = np.isfinite(t) & (t != 0)
        residual = {m: relative(v[name][usable], t[usable]) for m, v in point.items()}
        learned = [m for m in point if m.startswith(LEARNED)]
        if learned:
            out[name] = paired_resolution_table(residual, learned, resamples=resamples)
    return out


def calibrate(
    samples: dict[str, dict[str, np.ndarray]], truth: dict[str, np.ndarray]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The calibration of every posterior (method → observable → ``[J, S]``) on the test jets whose truth and samples
    are finite: (method → observable → calibration entry, the truth quantiles, the pulls)."""
    entries: dict[str, Any] = {}
    quantiles: dict[str, Any] = {}
    pull_values: dict[str, Any] = {}
    for method, per_sample in samples.items():
        for name in OBSERVABLES:
            s, t = per_sample[name], truth[name]
            rows = np.isfinite(t) & (t != 0) & np.isfinite(s).all(axis=1)
            if not rows.sum() or s.shape[1] < 2:
                continue
            entries.setdefault(method, {})[name] = calibration_entry(s[rows], t[rows])
            q = truth_quantiles(s[rows], t[rows])
            quantiles.setdefault(method, {})[name] = q
            pull_values.setdefault(method, {})[name] = pulls(s[rows], t[rows], quantiles=q)
    return entries, quantiles, pull_values


def paired_coverage(
    samples: dict[str, dict[str, np.ndarray]], truth: dict[str, np.ndarray], levels: tuple[float, ...] = PAIRED_LEVELS
) -> dict[str, dict[str, dict[str, dict[str, dict[str, float]]]]]:
    """Each posterior's coverage minus every other's on the same test jets (those where the truth and both
    posteriors' samples are finite), with McNemar's error (only the jets that one interval holds and the other
    misses carry the difference): observable → method → other → level (``"0.683"``) → ``{difference, error,
    events}``. Empty with fewer than two posteriors. ``samples``: method → observable → ``[J, S]``."""
    out: dict[str, Any] = {}
    for name in OBSERVABLES:
        t = truth[name]
        for method, per_sample in samples.items():
            for other, other_samples in samples.items():
                if other == method:
                    continue
                s, r = per_sample[name], other_samples[name]
                rows = np.isfinite(t) & (t != 0) & np.isfinite(s).all(axis=1) & np.isfinite(r).all(axis=1)
                if rows.sum() < 2 or min(s.shape[1], r.shape[1]) < 2:
                    continue
                q, q_other = truth_quantiles(s[rows], t[rows]), truth_quantiles(r[rows], t[rows])
                by_level = {}
                for level in levels:
                    difference, error = paired_accuracy_difference(
                        np.abs(q - 0.5) <= level / 2, np.abs(q_other - 0.5) <= level / 2
                    )
                    by_level[f"{level:g}"] = {"difference": difference, "error": error, "events": int(rows.sum())}
                out.setdefault(name, {}).setdefault(method, {})[other] = by_level
    return out
