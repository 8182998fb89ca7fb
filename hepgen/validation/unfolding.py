"""What a reconstruction gains an analysis: the statistical precision of an unfolded spectrum.

A method that reconstructs an observable (the neutrino flow's posterior median, kinematic reconstruction, Neutrino
Weighting) is judged here as an analysis uses it: its response matrix from training events (P(reco bin | truth bin)),
the purity and stability of each bin, and the per-bin statistical precision of the spectrum unfolded from test-size
pseudo-data. A sharper reconstruction migrates fewer events between bins, so the unfolding amplifies the data's
Poisson noise less; a method that answers fewer events has a smaller efficiency and a noisier spectrum.

Unfolding is D'Agostini's iterative Bayesian unfolding (`pyunfold <https://jrbourbeau.github.io/pyunfold/>`_), with
the training truth as the prior, events reconstructed outside the binning counted as inefficiency and events whose
truth is outside it as fakes (subtracted by their training fraction per reco bin). The number of iterations (the
regularisation) is chosen on validation events by :func:`choose_iterations`: the fewest iterations whose bias on a
truth spectrum stressed away from the prior (its expected reco counts unfolded) stays below half the statistical
precision; the precision comes from Poisson
bootstrap pseudo-experiments of the test events (:func:`unfolded_precision`), each unfolded, the spread per bin
over pseudo-experiments relative to the unfolded value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepgen.errors import HepgenInputError

__all__ = [
    "Response",
    "build_response",
    "unfold",
    "unfolded_precision",
    "choose_iterations",
    "ITERATIONS",
    "STRESS",
    "BIAS_LIMIT",
]

#: The iteration counts :func:`choose_iterations` considers (D'Agostini's regularisation: few iterations keep more of
#: the prior, many approach matrix inversion and its noise).
ITERATIONS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
#: The slope of the stressed spectrum the iterations are chosen on: weights 1 ∓ 0.5 from the first to the last edge.
STRESS = 0.5
#: The regularisation bias allowed on the stressed spectrum, in units of the statistical precision of each bin.
BIAS_LIMIT = 0.5


@dataclass(frozen=True)
class Response:
    """The response of one method in bins ``edges`` ``[B + 1]`` (the same for truth and reconstruction).

    Attributes:
        matrix: P(reco bin i | truth bin j) ``[B, B]``; column j sums to the efficiency of truth bin j.
        efficiencies: P(reconstructed inside the binning | truth bin j) ``[B]`` (a method that does not answer an
            event, or answers outside the binning, loses it).
        fake_fractions: the share of reco bin i whose truth lies outside the binning ``[B]``.
        purity: of the events reconstructed in bin i, the share whose truth is in bin i ``[B]``.
        stability: of the events whose truth is in bin j, the share reconstructed in bin j ``[B]``.
        prior: the training truth counts per bin ``[B]`` (the unfolding's starting point).
    """

    edges: np.ndarray
    matrix: np.ndarray
    efficiencies: np.ndarray
    fake_fractions: np.ndarray
    purity: np.ndarray
    stability: np.ndarray
    prior: np.ndarray


def _bin(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value ``[N]``, -1 outside the edges or not finite."""
    values = np.asarray(values, np.float64)
    index = np.searchsorted(edges, values, side="right") - 1
    inside = np.isfinite(values) & (values >= edges[0]) & (values < edges[-1])
    return np.where(inside, index, -1)


def _check(truth: np.ndarray, reco: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    truth, reco, edges = (np.asarray(a, np.float64) for a in (truth, reco, edges))
    if truth.shape != reco.shape or truth.ndim != 1:
        raise HepgenInputError(f"truth and reco must be [N] each; got {truth.shape} and {reco.shape}")
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise HepgenInputError(f"bin edges must be increasing, at least two; got {edges}")
    return truth, reco, edges


def build_response(truth: np.ndarray, reco: np.ndarray, edges: Sequence[float]) -> Response:
    """The :class:`Response` of a method from training events: ``truth`` and its ``reco`` ``[N]`` (NaN where the
    method gave no answer)."""
    truth, reco, edges = _check(truth, reco, edges)
    t, r = _bin(truth, edges), _bin(reco, edges)
    bins = len(edges) - 1
    joint = np.zeros((bins, bins))
    both = (t >= 0) & (r >= 0)
    np.add.at(joint, (r[both], t[both]), 1.0)
    truth_counts = np.bincount(t[t >= 0], minlength=bins).astype(np.float64)
    reco_counts = np.bincount(r[r >= 0], minlength=bins).astype(np.float64)
    if np.any(truth_counts == 0):
        raise HepgenInputError(f"truth bins without training events: {np.flatnonzero(truth_counts == 0)}; widen them")
    fakes = np.bincount(r[(r >= 0) & (t < 0)], minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = joint / truth_counts[None, :]
        fake_fractions = np.where(reco_counts > 0, fakes / reco_counts, 0.0)
        purity = np.where(reco_counts > 0, np.diag(joint) / reco_counts, np.nan)
    return Response(
        edges=edges,
        matrix=matrix,
        efficiencies=matrix.sum(axis=0),
        fake_fractions=fake_fractions,
        purity=purity,
        stability=np.diag(joint) / truth_counts,
        prior=truth_counts,
    )


def unfold(counts: np.ndarray, response: Response, iterations: int) -> np.ndarray:
    """The truth spectrum ``[B]`` unfolded from reco ``counts`` ``[B]`` with ``iterations`` D'Agostini iterations
    (fakes subtracted first; efficiencies corrected)."""
    from pyunfold import iterative_unfold

    if iterations < 1:
        raise HepgenInputError(f"the unfolding needs at least one iteration; got {iterations}")
    data = np.asarray(counts, np.float64) * (1.0 - response.fake_fractions)
    if not data.sum() > 0:
        raise HepgenInputError("no reconstructed events inside the binning to unfold")
    bins = len(data)
    result = iterative_unfold(
        data=data,
        data_err=np.sqrt(np.maximum(data, 0.0)),
        response=response.matrix,
        response_err=np.zeros((bins, bins)),
        efficiencies=np.maximum(response.efficiencies, 1e-12),
        efficiencies_err=np.zeros(bins),
        prior=response.prior / response.prior.sum(),
        ts_stopping=0.0,  # exactly `iterations` iterations: the regularisation is chosen, not stopped by a test
        max_iter=iterations,
    )
    return np.asarray(result["unfolded"], np.float64)


def _pseudo_experiments(
    truth: np.ndarray,
    reco: np.ndarray,
    edges: np.ndarray,
    n_pseudo: int,
    rng: np.random.Generator,
    shape: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson-bootstrap pseudo-experiments of the events (each event's mean weight ``shape`` ``[N]``, default 1):
    (reco counts, truth counts) ``[n_pseudo, B]`` each."""
    bins = len(edges) - 1
    t, r = _bin(truth, edges), _bin(reco, edges)
    mean = np.ones(len(truth)) if shape is None else shape
    weights = rng.poisson(mean[None, :], size=(n_pseudo, len(truth))).astype(np.float64)
    reco_counts = np.zeros((n_pseudo, bins))
    truth_counts = np.zeros((n_pseudo, bins))
    for b in range(bins):
        reco_counts[:, b] = weights[:, r == b].sum(axis=1)
        truth_counts[:, b] = weights[:, t == b].sum(axis=1)
    return reco_counts, truth_counts


def unfolded_precision(
    response: Response,
    truth: np.ndarray,
    reco: np.ndarray,
    *,
    iterations: int,
    n_pseudo: int = 500,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """The statistical precision of the spectrum unfolded from pseudo-data like the test events (``truth`` and
    ``reco`` ``[N]``): per bin ``[B]`` the ``precision`` (standard deviation of the unfolded count over Poisson
    bootstrap pseudo-experiments / its mean), its ``precision_err`` (from the spread's sampling error,
    1/√(2(n − 1)) relative), the ``bias`` ((unfolded − true count) / true count, averaged over pseudo-experiments),
    and the ``poisson`` precision of the true counts (1/√N: what a perfect reconstruction would give)."""
    truth, reco, edges = _check(truth, reco, response.edges)
    rng = np.random.default_rng(seed)
    reco_counts, truth_counts = _pseudo_experiments(truth, reco, edges, n_pseudo, rng)
    unfolded = np.stack([unfold(c, response, iterations) for c in reco_counts])
    mean = unfolded.mean(axis=0)
    precision = unfolded.std(axis=0, ddof=1) / mean
    true_counts = np.bincount(_bin(truth, edges)[_bin(truth, edges) >= 0], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        bias = np.mean((unfolded - truth_counts) / truth_counts, axis=0)
        poisson = 1.0 / np.sqrt(true_counts)
    return {
        "precision": precision,
        "precision_err": precision / np.sqrt(2.0 * (n_pseudo - 1)),
        "bias": bias,
        "poisson": poisson,
        "iterations": np.array(iterations),
    }


def choose_iterations(
    response: Response,
    truth: np.ndarray,
    reco: np.ndarray,
    *,
    candidates: Sequence[int] = ITERATIONS,
    stress: float = STRESS,
    bias_limit: float = BIAS_LIMIT,
    n_pseudo: int = 200,
    seed: int = 0,
) -> tuple[int, dict[int, dict[str, float]]]:
    """The iteration count chosen on validation events (``truth``, ``reco`` ``[N]``): the fewest iterations whose
    regularisation bias stays below ``bias_limit`` times the statistical precision in every bin; if none does, the
    one with the smallest worst ratio. The bias is that of the spectrum unfolded from its own expected reco counts
    (the response folded with the validation truth reweighted by a linear slope of ±``stress`` across the binning: a
    spectrum the prior does not know — with the prior's own shape one iteration would look unbiased and the strongest
    regularisation, the smallest variance, would always win); the precision is the spread over Poisson bootstrap
    pseudo-experiments of the validation events. Returns (the choice, candidate → ``{worst_bias_over_precision,
    mean_precision}``)."""
    truth, reco, edges = _check(truth, reco, response.edges)
    position = np.clip((truth - edges[0]) / (edges[-1] - edges[0]), 0.0, 1.0)
    shape = 1.0 + stress * (2.0 * np.where(np.isfinite(position), position, 0.5) - 1.0)
    t = _bin(truth, edges)
    stressed = np.bincount(t[t >= 0], weights=shape[t >= 0], minlength=len(edges) - 1)
    expected_reco = (response.matrix @ stressed) / np.maximum(1.0 - response.fake_fractions, 1e-12)
    reco_counts, _ = _pseudo_experiments(truth, reco, edges, n_pseudo, np.random.default_rng(seed))
    scores = {}
    for iterations in candidates:
        bias = unfold(expected_reco, response, iterations) / stressed - 1.0
        unfolded = np.stack([unfold(c, response, iterations) for c in reco_counts])
        precision = unfolded.std(axis=0, ddof=1) / unfolded.mean(axis=0)
        scores[int(iterations)] = {
            "worst_bias_over_precision": float(np.max(np.abs(bias) / precision)),
            "mean_precision": float(np.mean(precision)),
        }
    passing = [k for k, v in scores.items() if v["worst_bias_over_precision"] <= bias_limit]
    chosen = min(passing) if passing else min(scores, key=lambda k: scores[k]["worst_bias_over_precision"])
    return chosen, scores
