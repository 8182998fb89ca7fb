"""The classical pileup mitigations and the classifier, each with a parameter chosen on the validation jets.

``observed``, ``chs`` (charged-hadron subtraction) and ``puppi`` (CMS's Run-2 tune, each particle's four-momentum
scaled by its weight) have no parameter; SoftDrop (z_cut, β) on the observed, the CHS or the PUPPI jet, SoftKiller
(patch size a; after CHS it acts on the neutral particles), ``puppi_tuned`` (behind a detector: one of
:data:`~hepgen.physics.puppi.PUPPI_VARIANTS`) and the classifier (a threshold on p(pileup)) choose theirs
per observable by √(bias² + resolution²) of x / x_truth − 1 on the validation jets, and are then applied with that
choice to the test jets. Every jet is built with the charged-pion mass for each constituent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import PION_MASS, pt_eta_phi_mass, summed_p4
from hepgen.physics.pileup_mitigation import SOFTKILLER_GRID, chs_keep, softkiller_keep, tracker_charged
from hepgen.physics.puppi import PUPPI_VARIANTS, puppi_jet_weights
from hepgen.physics.softdrop import SOFTDROP_GRID, softdrop_grid
from hepgen.physics.substructure import OBSERVABLES, jet_observables
from hepgen.validation.metrics import bias_resolution
from hepgen.validation.pileup.load import PointPrediction
from hepgen.validation.pileup.tuning_cache import TuningCache, jets_digest

__all__ = [
    "BASELINES",
    "SOFTKILLER_GRID",
    "CLASSIFIER_THRESHOLDS",
    "CLASSIFIER_WEIGHT_CUTS",
    "Tunable",
    "tunables",
    "observables",
    "relative",
    "untuned",
    "truth_keep",
    "TRUTH_BOUND",
    "tune",
    "grid_scores_on",
]

#: The classical methods every point gets, from the observed constituents alone.
BASELINES = ("observed", "softdrop", "chs", "chs_softdrop", "softkiller", "chs_softkiller", "puppi", "puppi_softdrop")
#: The key of the truth-label bound (:func:`truth_keep`) in metrics.json: a row beside the methods, not a baseline.
TRUTH_BOUND = "truth_keep"
#: Thresholds on the classifier's p(pileup): a particle is kept below it.
CLASSIFIER_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: Cuts on the classifier's weight 1 − p when it weights the particles (``<classifier>_weighted``): a particle is
#: dropped below it, as PUPPI drops small weights (its w < 0.01) — small weights on many pileup particles add
#: wide-angle mass.
CLASSIFIER_WEIGHT_CUTS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5)


def with_pion_mass(particles: ak.Array) -> ak.Array:
    """(pt, eta, phi, mass) records with the charged-pion mass hypothesis for every particle."""
    return ak.zip(
        {"pt": particles.pt, "eta": particles.eta, "phi": particles.phi, "mass": ak.full_like(particles.pt, PION_MASS)}
    )


def observables(particles: ak.Array) -> dict[str, np.ndarray]:
    """The jet observables of each jet's particles (charged-pion masses): name → ``[J]``."""
    return jet_observables(with_pion_mass(particles))


def relative(values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """x / x_truth − 1 (inf or NaN where the truth is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return values / truth - 1.0


def _score(values: np.ndarray, truth: np.ndarray) -> float:
    bias, resolution = bias_resolution(relative(values, truth))
    return float(np.hypot(bias, resolution))


@dataclass(frozen=True)
class Tunable:
    """A method with a parameter chosen on the validation jets: ``groom(point, index, values)`` → the constituents
    of the jets ``index`` for each parameter value (SoftDrop does a whole grid from one clustering per jet)."""

    name: str
    grid: tuple[Any, ...]
    groom: Callable[[PointPrediction, np.ndarray, list[Any]], list[ak.Array]]
    describe: Callable[[Any], dict[str, float]]

    def groomed(self, point: PointPrediction, index: np.ndarray, positions: list[int]) -> dict[int, ak.Array]:
        """Grid position → constituents of the jets ``index``, for the grid ``positions``."""
        return dict(zip(positions, self.groom(point, index, [self.grid[g] for g in positions]), strict=True))


def _each(apply: Callable[[PointPrediction, np.ndarray, Any], ak.Array]) -> Callable[..., list[ak.Array]]:
    """A groomer for one parameter value at a time."""
    return lambda point, index, values: [apply(point, index, value) for value in values]


def chs(point: PointPrediction, index: np.ndarray) -> ak.Array:
    """The observed particles of the jets ``index`` after charged-hadron subtraction."""
    observed = point.observed[index]
    return observed[chs_keep(observed)]


def _softkiller(particles: ak.Array, size: float, *, neutral_only: bool) -> ak.Array:
    _, eta, phi, _ = pt_eta_phi_mass(summed_p4(particles, mass=PION_MASS))
    eligible = ~tracker_charged(particles) if neutral_only else None
    return particles[softkiller_keep(particles, eta, phi, grid_size=size, eligible=eligible)]


def _event_softkiller(particles: ak.Array, cut: np.ndarray, *, neutral_only: bool) -> ak.Array:
    """The particles above SoftKiller's cut on their whole event ``[J]`` (only the neutral ones are cut after CHS)."""
    keep = particles.pt >= cut
    return particles[(tracker_charged(particles) | keep) if neutral_only else keep]


def _softkillers(point: PointPrediction) -> list[Tunable]:
    """SoftKiller on all particles and on the CHS jet's neutral ones: on the whole event where the prediction holds
    its cuts (behind a detector), else on patches inside the jet."""
    out = []
    for name, neutral_only in (("softkiller", False), ("chs_softkiller", True)):
        source = (lambda p, i: chs(p, i)) if neutral_only else (lambda p, i: p.observed[i])
        if name in point.event_cuts:

            def apply(p, i, v, source=source, name=name, neutral_only=neutral_only):
                cut = p.event_cuts[name][i, SOFTKILLER_GRID.index(v)]
                return _event_softkiller(source(p, i), cut, neutral_only=neutral_only)
        else:

            def apply(p, i, v, source=source, neutral_only=neutral_only):
                return _softkiller(source(p, i), v, neutral_only=neutral_only)

        out.append(Tunable(name, SOFTKILLER_GRID, _each(apply), _grid_size))
    return out


def _softdrop(value: tuple[float, float]) -> dict[str, float]:
    return {"z_cut": value[0], "beta": value[1]}


def _grid_size(value: float) -> dict[str, float]:
    return {"grid_size": value}


def _threshold(value: float) -> dict[str, float]:
    return {"threshold": value}


def _weight_cut(value: float) -> dict[str, float]:
    return {"weight_cut": value}


def tunables(point: PointPrediction) -> list[Tunable]:
    """The tunable methods of a point: SoftDrop on the observed, the CHS and the PUPPI jet, SoftKiller on the observed
    and the CHS jet, and every classifier whose scores the point holds."""
    out = [
        Tunable(
            "softdrop", SOFTDROP_GRID, lambda p, i, vs: softdrop_grid(with_pion_mass(p.observed[i]), vs), _softdrop
        ),
        Tunable(
            "chs_softdrop", SOFTDROP_GRID, lambda p, i, vs: softdrop_grid(with_pion_mass(chs(p, i)), vs), _softdrop
        ),
        Tunable(
            "puppi_softdrop", SOFTDROP_GRID, lambda p, i, vs: softdrop_grid(with_pion_mass(puppi(p, i)), vs), _softdrop
        ),
        *_softkillers(point),
    ]
    if "puppi_weight_0" in point.observed.fields:  # PUPPI's variants, computed on the whole event
        out.append(Tunable("puppi_tuned", tuple(range(len(PUPPI_VARIANTS))), _each(_puppi_variant), _puppi_tune))
    for method in point.scores:
        keep = _each(lambda p, i, v, m=method: p.observed[i][p.scores[m][i] < v])
        out.append(Tunable(method, CLASSIFIER_THRESHOLDS, keep, _threshold))
        weigh = _each(lambda p, i, v, m=method: _weighted(p.observed[i], _cut_below(1 - p.scores[m][i], v)))
        out.append(Tunable(f"{method}_weighted", CLASSIFIER_WEIGHT_CUTS, weigh, _weight_cut))
    return out


def _cut_below(weights: ak.Array, cut: float) -> ak.Array:
    return ak.where(weights < cut, 0.0, weights)


def _puppi_variant(point: PointPrediction, index: np.ndarray, variant: int) -> ak.Array:
    observed = point.observed[index]
    return _weighted(observed, observed[f"puppi_weight_{variant}"])


def _puppi_tune(variant: int) -> dict[str, float]:
    central = PUPPI_VARIANTS[variant].regions[0]
    return {
        "rms_scale": central.rms_scale,
        "median_scale": central.median_scale,
        "min_neutral_pt": central.min_neutral_pt,
    }


def _weighted(particles: ak.Array, weights: ak.Array) -> ak.Array:
    """The particles with pT × w, those with w = 0 dropped."""
    weighted = ak.with_field(particles, particles.pt * weights, "pt")
    return weighted[weights > 0]


def puppi(point: PointPrediction, index: np.ndarray) -> ak.Array:
    """The observed particles of the jets ``index`` weighted by PUPPI (pT × w; those with w = 0 dropped): the
    weights computed on the whole event where the prediction holds them, else on each jet's constituents."""
    observed = point.observed[index]
    if "puppi_weight" in observed.fields:
        weights = observed.puppi_weight
    else:
        weights = puppi_jet_weights(observed, point.n_vertices[index])
    return _weighted(observed, weights)


def truth_keep(point: PointPrediction, index: np.ndarray) -> ak.Array:
    """The observed constituents of the jets ``index`` whose energy is mostly from the hard scatter (the truth label
    ``is_pileup``: a track from a pileup vertex, a tower with less than half its energy hard). Not a method — no
    detector knows the label — but the bound on every method that keeps or drops what was observed: what such a
    method misses (particles the detector lost, hard energy in pileup towers, pileup in hard towers) stays missed."""
    observed = point.observed[index]
    return observed[~observed.is_pileup]


def untuned(point: PointPrediction, test: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """The observables of the methods without a parameter on the test jets: ``observed``, ``chs`` and ``puppi``, and
    the truth-label bound ``truth_keep``."""
    return {
        "observed": observables(point.observed[test]),
        "chs": observables(chs(point, test)),
        "puppi": observables(puppi(point, test)),
        TRUTH_BOUND: observables(truth_keep(point, test)),
    }


def grid_scores_on(
    tunable: Tunable, source: PointPrediction, val: np.ndarray, truth_val: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Observable → the validation score of each of ``tunable``'s grid points ``[G]`` on the jets ``val`` of
    ``source``."""
    scores = {name: np.full(len(tunable.grid), np.nan) for name in OBSERVABLES}
    for g, groomed in tunable.groomed(source, val, list(range(len(tunable.grid)))).items():
        tuned = observables(groomed)
        for name in OBSERVABLES:
            scores[name][g] = _score(tuned[name], truth_val[name])
    return scores


def tune(
    point: PointPrediction,
    val: np.ndarray,
    test: np.ndarray,
    truth_val: dict[str, np.ndarray],
    tuning: PointPrediction | None = None,
    cache: TuningCache | None = None,
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any], dict[str, Any]]:
    """Every tunable method's parameter chosen per observable on the validation jets ``val`` (of ``tuning``, a
    prediction on other jets with the same methods, or else of ``point``), applied to the test jets ``test`` of
    ``point``: (method → observable → values on the test jets, the choices with their validation scores, the
    validation score of every grid point). With ``cache`` the grid scores on the validation jets are read from it
    where an earlier validation on the same jets stored them (the same choices)."""
    source = point if tuning is None else tuning
    jets = jets_digest(source.files, val) if cache is not None else ""
    values: dict[str, dict[str, np.ndarray]] = {}
    choices: dict[str, dict[str, Any]] = {}
    grid_scores: dict[str, dict[str, list[float]]] = {}
    for tunable in tunables(point):
        compute = partial(grid_scores_on, tunable, source, val, truth_val)
        if cache is None:
            scores = compute()
        else:
            scores = cache.scores(jets, tunable.name, tunable.grid, OBSERVABLES, compute)
        chosen = {name: int(np.nanargmin(s)) if np.isfinite(s).any() else 0 for name, s in scores.items()}
        values[tunable.name] = {}
        for g, groomed in tunable.groomed(point, test, sorted(set(chosen.values()))).items():
            tuned = observables(groomed)
            values[tunable.name] |= {name: tuned[name] for name in OBSERVABLES if chosen[name] == g}
        choices[tunable.name] = {
            name: {**tunable.describe(tunable.grid[g]), "validation_score": float(scores[name][g])}
            for name, g in chosen.items()
        }
        grid_scores[tunable.name] = {name: s.tolist() for name, s in scores.items()}
    return values, choices, grid_scores
