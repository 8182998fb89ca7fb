"""One point (μ, inefficiency, track loss) of the pileup validation, step by step: split the jets, tune on the validation jets,
take the posteriors, score and calibrate on the test jets."""

from __future__ import annotations

import logging
from typing import Any

import awkward as ak
import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.validation.pileup.emd import cloud_distances
from hepgen.validation.pileup.load import PointPrediction, load_pileup_predictions
from hepgen.validation.pileup.score import calibrate, paired_coverage, paired_differences, posteriors, score
from hepgen.validation.pileup.tune import observables, tune, untuned
from hepgen.validation.pileup.tuning_cache import TuningCache
from hepgen.validation.split import validation_split

__all__ = ["split_jets", "evaluate_point", "evaluate_files"]

log = logging.getLogger("hepgen.validation")


def split_jets(point: PointPrediction, validation_fraction: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(validation jets, test jets, empty jets skipped): the jets with constituents, split by a hash of their index."""
    usable, empty = _usable(point)
    nonempty = np.zeros(point.n_jets, bool)
    nonempty[usable] = True
    if empty:
        log.warning("μ = %s: %d jet(s) without constituents skipped", point.key, empty)
    split = validation_split(point.entry, validation_fraction)
    val, test = np.flatnonzero(split & nonempty), np.flatnonzero(~split & nonempty)
    if len(val) == 0 or len(test) == 0:
        raise HepgenInputError(
            f"μ = {point.key}: {len(val)} validation and {len(test)} test jets; the baselines are tuned on the "
            "validation jets and every method scored on the test jets — give more jets"
        )
    return val, test, empty


def _usable(point: PointPrediction) -> tuple[np.ndarray, int]:
    """The jets with constituents, and how many without were skipped."""
    nonempty = (ak.to_numpy(ak.num(point.truth)) > 0) & (ak.to_numpy(ak.num(point.observed)) > 0)
    return np.flatnonzero(nonempty), int((~nonempty).sum())


def _check_tuning(point: PointPrediction, tuning: PointPrediction) -> None:
    if set(tuning.scores) != set(point.scores) or set(tuning.event_cuts) != set(point.event_cuts):
        raise HepgenInputError(
            f"μ = {point.key}: the tuning predictions hold the classifiers {sorted(tuning.scores)} and the test "
            f"predictions {sorted(point.scores)}; predict the same methods on both"
        )


def evaluate_point(
    point: PointPrediction,
    validation_fraction: float,
    resamples: int,
    tuning: PointPrediction | None = None,
    tuning_cache: str | None = None,
) -> dict[str, Any]:
    """Every number and array of one point: ``{"metrics": ..., "arrays": ...}`` (test-split figures of merit, the
    choices made on the validation jets, the calibration of every posterior). With ``tuning`` (predictions on
    other, validation jets at the same point) every jet of ``point`` is a test jet and the choices are made on all
    of ``tuning``'s; else ``point``'s jets are split by ``validation_fraction``. ``tuning_cache``: a folder where the
    grid scores on the validation jets are kept for the next validation on the same jets (:mod:`.tuning_cache`)."""
    if tuning is None:
        val, test, empty = split_jets(point, validation_fraction)
        val_point = point
    else:
        _check_tuning(point, tuning)
        (test, empty), (val, _) = _usable(point), _usable(tuning)
        val_point = tuning
    truth_val, truth_test = observables(val_point.truth[val]), observables(point.truth[test])
    cache = TuningCache(tuning_cache) if tuning_cache else None
    tuned, choices, grid_scores = tune(point, val, test, truth_val, tuning=tuning, cache=cache)
    samples, medians, diverged = posteriors(point, test)
    values = untuned(point, test) | tuned
    for method in samples:
        values |= {method: medians[method], f"{method}_samples": samples[method]}
    scores, arrays = score(values, truth_test, resamples)
    calibration, quantiles, pull_values = calibrate(samples, truth_test)
    metrics: dict[str, Any] = {
        "mu": point.mu,
        "inefficiency": point.inefficiency,
        "track_loss": point.track_loss,
        "jets": point.n_jets,
        "empty_jets_skipped": empty,
        "validation_jets": int(len(val)),
        "tuned_on": "the validation split of these jets" if tuning is None else tuning.files,
        "test_jets": int(len(test)),
        "samples_per_jet": dict(point.n_samples),
        "mean_pileup_interactions": float(np.mean(point.n_pileup)),
        "mean_vertices": float(np.mean(point.n_vertices)),
        "methods": scores["methods"],
        "paired_differences": paired_differences(values, truth_test, resamples),
        "choices": choices,
        "grid_scores": grid_scores,
        "calibration": calibration,
        "paired_coverage": paired_coverage(samples, truth_test),
        "skipped": scores["skipped"],
        "diverged_samples": diverged,
    }
    metrics["emd"] = constituent_distances(point, test)
    arrays |= {"quantiles": quantiles, "pulls": pull_values, "grid_scores": grid_scores, "choices": choices}
    return {"metrics": metrics, "arrays": arrays}


def constituent_distances(point: PointPrediction, test: np.ndarray) -> dict[str, dict[str, float]]:
    """The energy mover's distance of each test jet's constituents from the truth's (:mod:`.emd`), averaged over the
    jets with its standard error: the observed cloud (no removal) and every generative method (its mean over the
    jet's samples that did not diverge)."""
    clouds = {"observed": (point.observed[test][["pt", "eta", "phi"]], 1)}
    for method, generated in point.generated.items():
        s = point.n_samples[method]
        clouds[method] = (generated[(test[:, None] * s + np.arange(s)[None, :]).ravel()], s)
    out = {}
    for method, (cloud, per_jet) in clouds.items():
        distances = cloud_distances(cloud, point.truth[test], per_truth=per_jet)
        usable = np.isfinite(distances).any(axis=1)  # a diverged sample is left out, as by the observables
        per = np.array([np.mean(row[np.isfinite(row)]) for row in distances[usable]])
        error = float(np.std(per, ddof=1) / np.sqrt(len(per))) if len(per) > 1 else float("nan")
        out[method] = {"mean": float(np.mean(per)) if len(per) else float("nan"), "error": error, "jets": len(per)}
    return out


def evaluate_files(
    files: list[str],
    validation_fraction: float,
    resamples: int,
    tuning_files: list[str] | None = None,
    tuning_cache: str | None = None,
) -> dict[str, Any]:
    """:func:`evaluate_point` of the files of one point (a unit of work on a cluster)."""
    (point,) = load_pileup_predictions(files)
    tuning = load_pileup_predictions(tuning_files)[0] if tuning_files else None
    return evaluate_point(point, validation_fraction, resamples, tuning, tuning_cache)
