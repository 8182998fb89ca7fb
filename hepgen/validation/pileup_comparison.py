"""Compare pileup removal methods against the truth (the jet without pileup), at each μ.

Input: the prediction files of ``hepgen predict pileup`` (VIPR: tree ``VIPR``, one row per (jet, posterior
sample)) and of ``hepgen predict puppiml`` (the per-particle classifier: tree ``PuppiML``), each with the tree
``Jets`` (the observed and truth constituents of each jet). Files are pooled by (μ, inefficiency) and method
(the shards of one job); all methods of a point must describe the same observed jets (predict them with the
same ``--jets``, ``--pileup``, ``--mu`` and ``--seed``).

The methods, each with a stable key in ``metrics.json``:

* ``observed`` — the jet with its pileup;
* ``chs`` — charged-hadron subtraction (charged pileup inside the tracker removed);
* ``softdrop``, ``chs_softdrop`` — SoftDrop grooming (z_cut, β) of the observed or the CHS jet;
* ``softkiller``, ``chs_softkiller`` — SoftKiller with a patch size a (after CHS it acts on the neutral particles);
* ``puppiml`` (``puppiml_observed``) — the learned classifier: particles kept below a p(pileup) threshold;
* ``vipr`` (``vipr_observed``) — VIPR's posterior median per jet, and ``vipr_samples`` — every posterior sample.

Every jet (truth, observed, baselines, VIPR) is built from its constituents' (pT, η, φ) with the charged-pion
mass hypothesis, so no method gains or loses from masses the others do not have.

Tuning is fair but never on the jets it is scored on: the jets are split by a hash of their index into a
*validation* part (``validation_fraction``) and a *test* part. Each tunable method's parameter is chosen per
observable and point on the validation jets by √(bias² + resolution²) of x / x_truth − 1; every number reported
is computed on the test jets: bias (median) and resolution (IQR/1.349) of x / x_truth − 1, the Wasserstein-1
distance to the truth distribution (raw and over the truth's IQR/1.349), each with a bootstrap error over jets,
and for VIPR the calibration of every observable (exact at any number of samples; coverage with its binomial
error). Every histogram of the figures is a ``hist.Hist`` (:func:`pileup_histograms`), saved to
``histograms.root`` beside ``metrics.json``; the figures are drawn from them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from scipy import stats

from hepgen.errors import HepgenInputError
from hepgen.io.writer import read_event_outputs
from hepgen.physics.kinematics import PION_MASS, pt_eta_phi_mass, summed_p4
from hepgen.physics.pileup_mitigation import chs_keep, softkiller_keep, tracker_charged
from hepgen.physics.softdrop import SOFTDROP_GRID, softdrop_grid
from hepgen.physics.substructure import OBSERVABLE_LABELS, OBSERVABLES, jet_observables
from hepgen.validation.calibration import calibration_summary, pulls, truth_quantiles
from hepgen.validation.histograms import (
    HISTOGRAMS_FILE,
    counts_histogram,
    coverage_histogram,
    pull_histogram,
    quantile_histogram,
    write_histograms,
)
from hepgen.validation.metrics import IQR_TO_SIGMA, bias_resolution, bootstrap_bias_resolution, bootstrap_indices
from hepgen.validation.report import write_report
from hepgen.validation.split import validation_split

__all__ = [
    "BASELINES",
    "SOFTKILLER_GRID",
    "CLASSIFIER_THRESHOLDS",
    "PointPrediction",
    "load_pileup_predictions",
    "validation_split",
    "validate_pileup",
    "methods_table",
    "pileup_histograms",
    "sample_observables",
    "DIVERGED_PT",
]

log = logging.getLogger(__name__)

#: The classical methods every point gets, from the observed constituents alone.
BASELINES = ("observed", "softdrop", "chs", "chs_softdrop", "softkiller", "chs_softkiller")
#: SoftKiller patch sizes a (in η and φ) the validation jets choose from.
SOFTKILLER_GRID: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.8)
#: Thresholds on the classifier's p(pileup): a particle is kept below it.
CLASSIFIER_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

_FIELDS = ("pt", "eta", "phi")


@dataclass
class PointPrediction:
    """The jets of one point (μ, inefficiency): truth and observed constituents, and every learned method's outputs.

    ``generated`` maps a VIPR method to its samples (``n_samples[method]`` consecutive rows per jet, jet-major);
    ``scores`` maps a classifier method to p(pileup) per observed particle. ``entry`` is the jet index ``[J]``.
    """

    mu: float
    inefficiency: float
    files: list[str]
    entry: np.ndarray
    truth: ak.Array
    observed: ak.Array
    n_pileup: np.ndarray
    n_vertices: np.ndarray
    generated: dict[str, ak.Array] = field(default_factory=dict)
    n_samples: dict[str, int] = field(default_factory=dict)
    scores: dict[str, ak.Array] = field(default_factory=dict)

    @property
    def n_jets(self) -> int:
        return len(self.entry)

    @property
    def key(self) -> str:
        """The point's name in metrics.json and figures: ``"60"``, or ``"60, 10% lost"`` with an inefficiency."""
        return f"{self.mu:g}" if self.inefficiency == 0 else f"{self.mu:g}, {100 * self.inefficiency:g}% lost"


def _records(table: dict[str, Any], prefix: str, path: str, fields: Sequence[str] = _FIELDS) -> ak.Array:
    missing = [f"{prefix}_{k}" for k in fields if f"{prefix}_{k}" not in table]
    if missing:
        raise HepgenInputError(f"{path}: missing {missing}; predict again with this hepgen (`hepgen predict pileup`)")
    return ak.zip({k: table[f"{prefix}_{k}"] for k in fields})


def _read_one(path: str) -> tuple[tuple[float, float], str, dict[str, Any]]:
    """(point, method, content) of one prediction file."""
    import uproot

    with uproot.open(path) as file:
        trees = {k.split(";")[0] for k in file.keys()}
    kind = "VIPR" if "VIPR" in trees else "PuppiML" if "PuppiML" in trees else None
    if kind is None or "Jets" not in trees:
        raise HepgenInputError(
            f"{path} holds the trees {sorted(trees)}; a pileup prediction file holds 'VIPR' or 'PuppiML' and 'Jets' "
            "(made by `hepgen predict pileup` or `hepgen predict puppiml`; files from older hepgen lack them: predict again)"
        )
    jets, jet_id, metadata = read_event_outputs(path, tree="Jets")
    fields = [*_FIELDS, "charge"] if "observed_constituent_charge" in jets else list(_FIELDS)
    observed = _records(jets, "observed_constituent", path, fields)
    observed = ak.with_field(observed, jets["observed_constituent_is_pileup"], "is_pileup")
    content: dict[str, Any] = {
        "entry": jet_id["entry"],
        "truth": _records(jets, "truth_constituent", path),
        "observed": observed,
        "n_pileup": jets["n_pileup"],
        "n_vertices": jets.get("n_vertices", np.full(len(jet_id["entry"]), -1)),
    }
    method = metadata.get("method", "vipr" if kind == "VIPR" else "puppiml")
    if kind == "VIPR":
        samples, sample_id, _ = read_event_outputs(path, tree="VIPR")
        order = np.lexsort((samples["sample"], sample_id["entry"]))
        unique, counts = np.unique(sample_id["entry"][order], return_counts=True)
        if not np.array_equal(unique, np.sort(jet_id["entry"])):
            raise HepgenInputError(
                f"{path}: the 'VIPR' tree has samples for {len(unique)} jets and the 'Jets' tree holds "
                f"{len(jet_id['entry'])} jets (or other jets); prediction and truth must describe the same jets"
            )
        if len(counts) and counts.min() != counts.max():
            raise HepgenInputError(
                f"{path}: jets have between {counts.min()} and {counts.max()} samples; expected the same number"
            )
        content["generated"] = _records(samples, "constituent", path)[order]
        content["n_samples"] = int(counts[0]) if len(counts) else 0
    else:
        scores, score_id, _ = read_event_outputs(path, tree="PuppiML")
        if not np.array_equal(score_id["entry"], jet_id["entry"]):
            raise HepgenInputError(f"{path}: the 'PuppiML' and 'Jets' trees describe different jets")
        content["scores"] = scores["pileup_probability"]
    point = (float(metadata.get("mu", np.nan)), float(metadata.get("inefficiency", 0.0)))
    return point, method, content


def _sorted_by_entry(content: dict[str, Any]) -> dict[str, Any]:
    order = np.argsort(content["entry"], kind="stable")
    out = {k: content[k][order] for k in ("entry", "truth", "observed", "n_pileup", "n_vertices")}
    if "scores" in content:
        out["scores"] = content["scores"][order]
    if "generated" in content:  # samples are jet-major: reorder whole blocks of n_samples rows
        s = content["n_samples"]
        rows = (order[:, None] * s + np.arange(s)[None, :]).ravel()
        out["generated"], out["n_samples"] = content["generated"][rows], s
    return out


def _join(parts: list[dict[str, Any]]) -> dict[str, Any]:
    joined = {
        k: (
            ak.concatenate([p[k] for p in parts])
            if isinstance(parts[0][k], ak.Array)
            else np.concatenate([p[k] for p in parts])
        )
        for k in parts[0]
        if k != "n_samples"
    }
    if "n_samples" in parts[0]:
        counts = {p["n_samples"] for p in parts}
        if len(counts) > 1:
            raise HepgenInputError(f"files of one method hold {sorted(counts)} samples per jet; pool files made alike")
        joined["n_samples"] = counts.pop()
    return _sorted_by_entry(joined)


def load_pileup_predictions(files: Sequence[str | os.PathLike]) -> list[PointPrediction]:
    """Read prediction files, pool them by point (μ, inefficiency) and method; sorted by point."""
    if not files:
        raise HepgenInputError("no prediction files given")
    grouped: dict[tuple[float, float], dict[str, list[tuple[str, dict[str, Any]]]]] = {}
    for path in files:
        point, method, content = _read_one(os.fspath(path))
        grouped.setdefault(point, {}).setdefault(method, []).append((os.fspath(path), content))
    points = []
    for (mu, inefficiency), methods in sorted(grouped.items()):
        joined = {method: _join([c for _, c in parts]) for method, parts in methods.items()}
        first_method, first = next(iter(joined.items()))
        for method, content in joined.items():
            same = np.array_equal(content["entry"], first["entry"]) and bool(
                ak.all(ak.num(content["observed"]) == ak.num(first["observed"]))
                and ak.all(ak.ravel(content["observed"].pt) == ak.ravel(first["observed"].pt))
            )
            if not same:
                raise HepgenInputError(
                    f"μ = {mu:g}: the files of {method!r} and {first_method!r} describe different observed jets; predict "
                    "every method with the same --jets, --pileup, --mu, --inefficiency and --seed"
                )
        point = PointPrediction(
            mu,
            inefficiency,
            [p for parts in methods.values() for p, _ in parts],
            first["entry"],
            first["truth"],
            first["observed"],
            first["n_pileup"],
            first["n_vertices"],
        )
        for method, content in joined.items():
            if "generated" in content:
                point.generated[method], point.n_samples[method] = content["generated"], content["n_samples"]
            else:
                point.scores[method] = content["scores"]
        points.append(point)
    return points


def _with_pion_mass(particles: ak.Array) -> ak.Array:
    """(pt, eta, phi, mass) records with the charged-pion mass hypothesis for every particle."""
    return ak.zip(
        {"pt": particles.pt, "eta": particles.eta, "phi": particles.phi, "mass": ak.full_like(particles.pt, PION_MASS)}
    )


def _relative(values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return values / truth - 1.0


def _score(values: np.ndarray, truth: np.ndarray) -> float:
    bias, resolution = bias_resolution(_relative(values, truth))
    return float(np.hypot(bias, resolution))


def _w1(values: np.ndarray, truth: np.ndarray, resamples: int) -> dict[str, float]:
    v, t = values[np.isfinite(values)], truth[np.isfinite(truth)]
    if len(v) == 0 or len(t) == 0:
        return {"w1": float("nan"), "w1_err": float("nan"), "w1_over_sigma": float("nan")}
    w1 = float(stats.wasserstein_distance(v, t))
    q25, q75 = np.percentile(t, [25, 75])
    spread = (q75 - q25) / IQR_TO_SIGMA
    boot = [
        stats.wasserstein_distance(v[i], t[j])
        for i, j in zip(bootstrap_indices(len(v), resamples, seed=1), bootstrap_indices(len(t), resamples, seed=2))
    ]
    return {
        "w1": w1,
        "w1_err": float(np.std(boot, ddof=1)) if resamples > 1 else float("nan"),
        "w1_over_sigma": float(w1 / spread) if spread > 0 else float("nan"),
    }


@dataclass(frozen=True)
class _Tunable:
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


def _axis(particles: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    _, eta, phi, _ = pt_eta_phi_mass(summed_p4(particles, mass=PION_MASS))
    return eta, phi


def _chs(point: PointPrediction, index: np.ndarray) -> ak.Array:
    observed = point.observed[index]
    return observed[chs_keep(observed)]


def _softkiller(particles: ak.Array, size: float, *, neutral_only: bool) -> ak.Array:
    eta, phi = _axis(particles)
    eligible = ~tracker_charged(particles) if neutral_only else None
    return particles[softkiller_keep(particles, eta, phi, grid_size=size, eligible=eligible)]


def _tunables(point: PointPrediction) -> list[_Tunable]:
    def softdrop(value):
        return {"z_cut": value[0], "beta": value[1]}

    tunables = [
        _Tunable(
            "softdrop", SOFTDROP_GRID, lambda p, i, vs: softdrop_grid(_with_pion_mass(p.observed[i]), vs), softdrop
        ),
        _Tunable(
            "chs_softdrop", SOFTDROP_GRID, lambda p, i, vs: softdrop_grid(_with_pion_mass(_chs(p, i)), vs), softdrop
        ),
        _Tunable(
            "softkiller",
            SOFTKILLER_GRID,
            _each(lambda p, i, v: _softkiller(p.observed[i], v, neutral_only=False)),
            lambda v: {"grid_size": v},
        ),
        _Tunable(
            "chs_softkiller",
            SOFTKILLER_GRID,
            _each(lambda p, i, v: _softkiller(_chs(p, i), v, neutral_only=True)),
            lambda v: {"grid_size": v},
        ),
    ]
    for method in point.scores:
        tunables.append(
            _Tunable(
                method,
                CLASSIFIER_THRESHOLDS,
                _each(lambda p, i, v, m=method: p.observed[i][p.scores[m][i] < v]),
                lambda v: {"threshold": v},
            )
        )
    return tunables


def _observables(particles: ak.Array) -> dict[str, np.ndarray]:
    return jet_observables(_with_pion_mass(particles))


#: A generated constituent above this pT [GeV] (or not finite) means the sampler diverged for that sample.
DIVERGED_PT = 1e5


def sample_observables(constituents: ak.Array) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The observables of each generated jet, NaN for a sample whose sampler diverged (a non-finite constituent or one
    above :data:`DIVERGED_PT`: fastjet must not see them), and which samples diverged ``[rows]``."""
    finite = np.isfinite(constituents.pt) & (constituents.pt < DIVERGED_PT) & np.isfinite(constituents.eta)
    sane = ak.to_numpy(ak.all(finite & np.isfinite(constituents.phi), axis=1))
    values = {name: np.full(len(sane), np.nan) for name in OBSERVABLES}
    if sane.any():
        good = _observables(constituents[sane])
        for name in OBSERVABLES:
            values[name][sane] = good[name]
    return values, ~sane


def _evaluate_point(point: PointPrediction, validation_fraction: float, resamples: int) -> dict[str, Any]:
    """Every number and array of one point (test-split metrics, tuned choices, calibration inputs)."""
    nonempty = (ak.to_numpy(ak.num(point.truth)) > 0) & (ak.to_numpy(ak.num(point.observed)) > 0)
    empty = int((~nonempty).sum())
    if empty:
        log.warning("μ = %s: %d jet(s) without constituents skipped", point.key, empty)
    split = validation_split(point.entry, validation_fraction)
    val, test = np.flatnonzero(split & nonempty), np.flatnonzero(~split & nonempty)
    if len(val) == 0 or len(test) == 0:
        raise HepgenInputError(
            f"μ = {point.key}: {len(val)} validation and {len(test)} test jets; the baselines are tuned on the "
            "validation jets and every method scored on the test jets — give more jets"
        )
    truth_val, truth_test = _observables(point.truth[val]), _observables(point.truth[test])
    values: dict[str, dict[str, np.ndarray]] = {
        "observed": _observables(point.observed[test]),
        "chs": _observables(_chs(point, test)),
    }
    choices: dict[str, dict[str, Any]] = {}
    grid_scores: dict[str, dict[str, list[float]]] = {}
    for tunable in _tunables(point):
        scores = {name: np.full(len(tunable.grid), np.nan) for name in OBSERVABLES}
        for g, groomed in tunable.groomed(point, val, list(range(len(tunable.grid)))).items():
            tuned = _observables(groomed)
            for name in OBSERVABLES:
                scores[name][g] = _score(tuned[name], truth_val[name])
        chosen = {name: int(np.nanargmin(s)) if np.isfinite(s).any() else 0 for name, s in scores.items()}
        values[tunable.name] = {}
        for g, groomed in tunable.groomed(point, test, sorted(set(chosen.values()))).items():
            tuned = _observables(groomed)
            for name in OBSERVABLES:
                if chosen[name] == g:
                    values[tunable.name][name] = tuned[name]
        choices[tunable.name] = {
            name: {**tunable.describe(tunable.grid[g]), "validation_score": float(scores[name][g])}
            for name, g in chosen.items()
        }
        grid_scores[tunable.name] = {name: s.tolist() for name, s in scores.items()}
    samples: dict[str, dict[str, np.ndarray]] = {}
    diverged: dict[str, np.ndarray] = {}
    for method, generated in point.generated.items():
        s = point.n_samples[method]
        rows = (test[:, None] * s + np.arange(s)[None, :]).ravel()
        per_sample, diverged[method] = sample_observables(generated[rows])
        if diverged[method].any():
            log.warning(
                "μ = %s: %d of %s's samples diverged (non-finite or > %.0e GeV constituents): excluded and counted",
                point.key,
                int(diverged[method].sum()),
                method,
                DIVERGED_PT,
            )
        samples[method] = {k: v.reshape(len(test), s) for k, v in per_sample.items()}
        values[method] = {
            k: np.nanmedian(np.where(np.isfinite(v), v, np.nan), axis=1) for k, v in samples[method].items()
        }
        values[f"{method}_samples"] = samples[method]

    metrics: dict[str, Any] = {
        "mu": point.mu,
        "inefficiency": point.inefficiency,
        "jets": point.n_jets,
        "empty_jets_skipped": empty,
        "validation_jets": int(len(val)),
        "test_jets": int(len(test)),
        "samples_per_jet": dict(point.n_samples),
        "mean_pileup_interactions": float(np.mean(point.n_pileup)),
        "mean_vertices": float(np.mean(point.n_vertices)),
        "methods": {m: {} for m in values},
        "choices": choices,
        "grid_scores": grid_scores,
        "calibration": {},
        "skipped": {},
        "diverged_samples": {m: int(d.sum()) for m, d in diverged.items()},
    }
    arrays: dict[str, Any] = {
        "truth": {},
        "values": {m: {} for m in values},
        "quantiles": {},
        "pulls": {},
        "grid_scores": grid_scores,
        "choices": choices,
    }
    for name in OBSERVABLES:
        t = truth_test[name]
        usable = np.isfinite(t) & (t != 0)
        metrics["skipped"][name] = int((~usable).sum())
        arrays["truth"][name] = t[usable]
        for method, by_observable in values.items():
            v = by_observable[name][usable]
            residual = _relative(v, t[usable, None] if v.ndim == 2 else t[usable])
            metrics["methods"][method][name] = {
                **bootstrap_bias_resolution(residual, resamples=resamples),
                **_w1(v.ravel(), t[usable], resamples),
                "nonfinite_skipped": int((~np.isfinite(v)).sum()),
            }
            arrays["values"][method][name] = v.ravel()
        for method, per_sample in samples.items():
            s = per_sample[name]
            calibrated = usable & np.isfinite(s).all(axis=1)
            if calibrated.sum() and s.shape[1] > 1:
                summary = calibration_summary(s[calibrated], t[calibrated])
                metrics["calibration"].setdefault(method, {})[name] = {**summary.__dict__, "verdict": summary.verdict()}
                q = truth_quantiles(s[calibrated], t[calibrated])
                arrays["quantiles"].setdefault(method, {})[name] = q
                arrays["pulls"].setdefault(method, {})[name] = pulls(s[calibrated], t[calibrated], quantiles=q)
    return {"metrics": metrics, "arrays": arrays}


def _evaluate_files(files: list[str], validation_fraction: float, resamples: int) -> dict[str, Any]:
    """:func:`_evaluate_point` of the files of one point (a unit of work on a cluster)."""
    (point,) = load_pileup_predictions(files)
    return _evaluate_point(point, validation_fraction, resamples)


def validate_pileup(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    validation_fraction: float = 0.3,
    bootstrap: int = 200,
    label_text: str = "Simulation",
    experiment: str | None = None,
    progress: bool = True,
    scheduler: str | None = None,
    figures: bool = True,
) -> dict[str, Any]:
    """Compare every method with the truth at every point; writes metrics.json, summary.md and figures to ``out``.

    Args:
        files: ``hepgen predict pileup`` and ``hepgen predict puppiml`` outputs (one or more per point and method).
        out: folder for ``metrics.json``, ``summary.md`` and the figures (PDF and PNG).
        validation_fraction: share of jets (by a hash of their index) used only to tune the baselines.
        bootstrap: resamples for the statistical errors (over jets).
        label_text, experiment: the figure label (neutral "Simulation" unless an experiment is named).
        progress: show a progress bar over the points.
        scheduler: evaluate the points on a Dask cluster (``local:N`` or a scheduler address); the metrics and
            figures are the same as the serial run's.
        figures: draw the figures (off for quick checks and for validation shards).
    """
    points = load_pileup_predictions(files)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if scheduler:
        from hepgen.cluster import map_units

        units = [{"files": p.files, "validation_fraction": validation_fraction, "resamples": bootstrap} for p in points]
        evaluated = map_units(_evaluate_files, units, scheduler, progress=progress)
    else:
        from tqdm.auto import tqdm

        evaluated = [
            _evaluate_point(p, validation_fraction, bootstrap)
            for p in tqdm(points, desc="validate pileup (per μ)", disable=not progress)
        ]
    metrics: dict[str, Any] = {
        "observables": list(OBSERVABLES),
        "mu": [p.mu for p in points],
        "points": [p.key for p in points],
        "validation_fraction": validation_fraction,
        "bootstrap": bootstrap,
        "softdrop_grid": [list(g) for g in SOFTDROP_GRID],
        "softkiller_grid": list(SOFTKILLER_GRID),
        "classifier_thresholds": list(CLASSIFIER_THRESHOLDS),
        "mass_hypothesis_gev": PION_MASS,
        "files": {p.key: p.files for p in points},
        "per_mu": {p.key: e["metrics"] for p, e in zip(points, evaluated)},
    }
    histograms = pileup_histograms(points, evaluated)
    write_histograms(out / HISTOGRAMS_FILE, histograms)
    if figures:
        _figures(out, points, evaluated, histograms, label_text, experiment)
    write_report(out, metrics, _summary(metrics))
    return metrics


def _point_folder(point: PointPrediction) -> str:
    """A point's name in file and folder names: ``mu60``, ``mu60_10pct_lost``."""
    return f"mu{point.key.replace(', ', '_').replace('% lost', 'pct_lost')}"


def pileup_histograms(points: list[PointPrediction], evaluated: list[dict[str, Any]]) -> dict[str, Any]:
    """Every histogram of the pileup figures as ``hist.Hist`` (raw counts; the coverage as a profile):
    ``distributions/<point>/<observable>/<truth or method>`` on bins shared by the methods of a point, and
    ``truth_quantiles|coverage|pulls/<observable>/<method>/<point>`` for every posterior."""
    out: dict[str, Any] = {}
    for point, e in zip(points, evaluated):
        arrays, folder = e["arrays"], _point_folder(point)
        for name in OBSERVABLES:
            values = {"truth": arrays["truth"][name], **{m: v[name] for m, v in arrays["values"].items() if name in v}}
            drawn = [values[m] for m in ("truth", *_DRAWN) if m in values]
            edges = _bins(drawn, name)
            for method, v in values.items():
                out[f"distributions/{folder}/{name}/{method}"] = counts_histogram(
                    v, edges, name=name, label=OBSERVABLE_LABELS[name]
                )
        for method, by_observable in arrays["quantiles"].items():
            for name, q in by_observable.items():
                out[f"truth_quantiles/{name}/{method}/{folder}"] = quantile_histogram(
                    q, label=f"truth quantile of {name}"
                )
                out[f"coverage/{name}/{method}/{folder}"] = coverage_histogram(q, label=f"nominal coverage ({name})")
        for method, by_observable in arrays["pulls"].items():
            for name, p in by_observable.items():
                out[f"pulls/{name}/{method}/{folder}"] = pull_histogram(p, label=f"pull of {name}")
    return out


# -- the report -----------------------------------------------------------------------------------------------------

#: The order of methods in tables and legends (learned methods are added after the baselines they beat or not).
_ORDER = (
    "observed",
    "softdrop",
    "chs",
    "chs_softdrop",
    "softkiller",
    "chs_softkiller",
    "puppiml",
    "puppiml_observed",
    "vipr",
    "vipr_samples",
    "vipr_observed",
    "vipr_observed_samples",
)
_TABLE_OBSERVABLES = ("mass", "tau21", "tau32", "d2")


def _ordered(methods: Sequence[str]) -> list[str]:
    return sorted(methods, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m))


def _cell(entry: dict[str, float], key: str, signed: bool = False) -> str:
    value, error = entry[key], entry.get(f"{key}_err", float("nan"))
    text = f"{value:+.3f}" if signed else f"{value:.3f}"
    return text + (f" ± {error:.3f}" if np.isfinite(error) else "")


def methods_table(entry: dict[str, Any], observables: Sequence[str] = _TABLE_OBSERVABLES) -> list[str]:
    """Markdown rows of one point (``metrics["per_mu"][key]``): per method, the bias and resolution of each observable
    with their bootstrap errors, and the parameter chosen on the validation jets."""
    head = "| method | " + " | ".join(f"{o} bias | {o} resolution" for o in observables) + " | chosen (mass) |"
    lines = [head, "|---|" + "---|---|" * len(observables) + "---|"]
    for method in _ordered(entry["methods"]):
        m = entry["methods"][method]
        cells = " | ".join(f"{_cell(m[o], 'bias', True)} | {_cell(m[o], 'resolution')}" for o in observables)
        choice = entry["choices"].get(method, {}).get("mass")
        chosen = ", ".join(f"{k} {v:g}" for k, v in choice.items() if k != "validation_score") if choice else "–"
        lines.append(f"| {method} | {cells} | {chosen} |")
    return lines


def _calibration_table(entry: dict[str, Any]) -> list[str]:
    lines = [
        "| method | observable | 68 % coverage | 95 % coverage | KS | pull σ | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, by_observable in entry["calibration"].items():
        for name, c in by_observable.items():
            lines.append(
                f"| {method} | {name} | {c['coverage_68']:.3f} ± {c['coverage_68_error']:.3f} | "
                f"{c['coverage_95']:.3f} ± {c['coverage_95_error']:.3f} | {c['ks']:.3f} | {c['pull_std']:.2f} | "
                f"{c['verdict']} |"
            )
    return lines


def _summary(metrics: dict[str, Any]) -> str:
    lines = [
        "# Pileup removal against the truth (the jet without pileup)",
        "",
        "Relative residual x/x_truth − 1 per jet: bias = median, resolution = IQR/1.349, each ± its bootstrap error "
        f"({metrics['bootstrap']} resamples over jets). Every jet is built with the charged-pion mass for each "
        f"constituent. Parameters are chosen per observable on {metrics['validation_fraction']:.0%} validation jets; "
        "every number below is on the other (test) jets. `vipr` is the posterior median, `vipr_samples` every sample.",
    ]
    for key, entry in metrics["per_mu"].items():
        samples = ", ".join(f"{m}: {s}" for m, s in entry["samples_per_jet"].items()) or "none"
        lines += [
            "",
            f"## μ = {key} ({entry['test_jets']} test jets; ⟨N_PU⟩ = {entry['mean_pileup_interactions']:.1f}, "
            f"⟨N_PV⟩ = {entry['mean_vertices']:.1f}; samples per jet {samples}; "
            f"{entry['empty_jets_skipped']} empty jets skipped)",
            "",
            *methods_table(entry),
        ]
        if entry["calibration"]:
            lines += ["", "Calibration (exact estimators; coverage ± binomial error):", "", *_calibration_table(entry)]
    lines += [
        "",
        "Figures: `distributions_mu*` (with ratio panels), `bias_vs_mu`, `resolution_vs_mu`, `w1_vs_mu` (with "
        "bootstrap error bars), `truth_quantiles`, `coverage`, `pulls` (VIPR calibration), `softdrop_grid` "
        "(validation scores of the jet mass) — each as PDF and PNG; the histograms behind them in `histograms.root` "
        "(`hist.Hist`, read with `hepgen.validation.histograms.read_histograms`).",
        "",
    ]
    return "\n".join(lines)


def _bins(values: Sequence[np.ndarray], name: str) -> np.ndarray:
    finite = [v[np.isfinite(v)] for v in values]
    if name == "n_constituents":
        hi = max(np.percentile(v, 99.5) for v in finite if len(v))
        return np.linspace(0, hi + 1, 41)
    lo = min(np.percentile(v, 0.5) for v in finite if len(v))
    hi = max(np.percentile(v, 99.5) for v in finite if len(v))
    lo = 0.0 if lo >= 0 and name != "pt" else lo
    return np.linspace(lo, hi if hi > lo else lo + 1, 41)


def _grid_of_axes(n: int, *, ratio: bool):
    import matplotlib.pyplot as plt

    columns = 4
    rows = int(np.ceil(n / columns))
    if not ratio:
        fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3.9 * rows), layout="constrained")
        return fig, list(np.ravel(axes)), None
    fig = plt.figure(figsize=(4.4 * columns, 5.0 * rows))
    spec = fig.add_gridspec(
        3 * rows,
        columns,
        height_ratios=[3, 1, 1.0] * rows,
        hspace=0.08,
        wspace=0.4,
        left=0.06,
        right=0.98,
        top=0.97,
        bottom=0.02,
    )
    main, lower = [], []
    for k in range(n):
        r, c = divmod(k, columns)
        top = fig.add_subplot(spec[3 * r, c])
        main.append(top)
        lower.append(fig.add_subplot(spec[3 * r + 1, c], sharex=top))
        top.tick_params(labelbottom=False)
    return fig, main, lower


#: Font sizes for multi-panel figures (mplhep's defaults suit one panel per figure); no minor ticks (many panels).
_PANEL_STYLE = {
    "font.size": 12,
    "axes.labelsize": 12,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
    "axes.titlesize": 12,
}
#: The methods drawn in the distribution figures (the others are in the tables and the scans).
_DRAWN = ("observed", "chs", "chs_softkiller", "puppiml", "vipr_samples", "vipr_observed_samples")


def _figures(
    out: Path,
    points: list[PointPrediction],
    evaluated: list[dict[str, Any]],
    histograms: dict[str, Any],
    label_text: str,
    experiment: str | None,
) -> None:
    import matplotlib.pyplot as plt

    from hepgen.plotting import use_style

    use_style()
    with plt.rc_context(_PANEL_STYLE):
        _draw_figures(out, points, evaluated, histograms, label_text, experiment)


def _draw_figures(
    out: Path,
    points: list[PointPrediction],
    evaluated: list[dict[str, Any]],
    histograms: dict[str, Any],
    label_text: str,
    experiment: str | None,
) -> None:
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

    for point in points:
        folder = _point_folder(point)
        fig, main, lower = _grid_of_axes(len(OBSERVABLES), ratio=True)
        for k, (ax, ratio_ax, name) in enumerate(zip(main, lower, OBSERVABLES)):
            drawn = {
                m: histograms[f"distributions/{folder}/{name}/{m}"]
                for m in ("truth", *_DRAWN)
                if f"distributions/{folder}/{name}/{m}" in histograms
            }
            plot_distributions(drawn, reference="truth", xlabel=OBSERVABLE_LABELS[name], ax=ax, ratio_ax=ratio_ax)
            if k:
                ax.get_legend().remove()
        label_figure(
            fig, label_text, experiment=experiment, title=f"top jets, μ = {point.key}: observables against the truth"
        )
        save_figure(fig, out / f"distributions_{folder}")
        plt.close(fig)

    scanned = [(p, e) for p, e in zip(points, evaluated) if p.inefficiency == 0]
    if scanned:
        mus = [p.mu for p, _ in scanned]
        methods = _ordered({m for _, e in scanned for m in e["metrics"]["methods"]})
        for key, ylabel, reference in (
            ("bias", "bias (median of x/x_true − 1)", 0.0),
            ("resolution", "resolution (IQR/1.349 of x/x_true − 1)", None),
            ("w1_over_sigma", r"$W_1$(x, truth) / $\sigma_{truth}$", 0.0),
        ):
            fig, axes, _ = _grid_of_axes(len(OBSERVABLES), ratio=False)
            error_key = {"bias": "bias_err", "resolution": "resolution_err", "w1_over_sigma": None}[key]
            for k, (ax, name) in enumerate(zip(axes, OBSERVABLES)):
                entries = {m: [e["metrics"]["methods"].get(m, {}).get(name, {}) for _, e in scanned] for m in methods}
                values = {m: [x.get(key, np.nan) for x in v] for m, v in entries.items()}
                errors = None
                if error_key:
                    errors = {m: [x.get(error_key, np.nan) for x in v] for m, v in entries.items()}
                elif key == "w1_over_sigma":  # W1's error scaled like W1
                    errors = {
                        m: [
                            x.get("w1_err", np.nan) * x.get("w1_over_sigma", np.nan) / x["w1"]
                            if x.get("w1")
                            else np.nan
                            for x in v
                        ]
                        for m, v in entries.items()
                    }
                plot_scan(
                    mus, values, errors=errors, xlabel="μ", ylabel=ylabel.split(" (")[0], reference=reference, ax=ax
                )
                ax.set_title(OBSERVABLE_LABELS[name])
                if k:
                    ax.get_legend().remove()
            label_figure(fig, label_text, experiment=experiment, title=ylabel)
            save_figure(
                fig, out / {"bias": "bias_vs_mu", "resolution": "resolution_vs_mu", "w1_over_sigma": "w1_vs_mu"}[key]
            )
            plt.close(fig)

    labels = {_point_folder(p): p.key for p in points}
    for kind, draw in (("truth_quantiles", plot_truth_quantiles), ("coverage", plot_coverage), ("pulls", plot_pulls)):
        if not any(k.startswith(kind + "/") for k in histograms):
            continue
        fig, axes, _ = _grid_of_axes(len(OBSERVABLES), ratio=False)
        for ax, name in zip(axes, OBSERVABLES):
            prefix = f"{kind}/{name}/"
            data = {}
            for key, h in histograms.items():
                if key.startswith(prefix):
                    method, folder = key[len(prefix) :].split("/")
                    data[f"{method}, μ = {labels[folder]}"] = h
            if data:
                draw(data, ax=ax)
            ax.set_title(OBSERVABLE_LABELS[name])
        label_figure(
            fig, label_text, experiment=experiment, title=f"VIPR posterior calibration: {kind.replace('_', ' ')}"
        )
        save_figure(fig, out / kind)
        plt.close(fig)

    z_cuts = sorted({z for z, _ in SOFTDROP_GRID})
    betas = sorted({b for _, b in SOFTDROP_GRID})
    fig, axes = plt.subplots(1, len(points), figsize=(4.6 * len(points), 4.0), squeeze=False, layout="constrained")
    for ax, point, e in zip(axes[0], points, evaluated):
        scores = np.full((len(z_cuts), len(betas)), np.nan)
        for g, (z, b) in enumerate(SOFTDROP_GRID):
            scores[z_cuts.index(z), betas.index(b)] = e["arrays"]["grid_scores"]["softdrop"]["mass"][g]
        chosen = e["arrays"]["choices"]["softdrop"]["mass"]
        plot_grid_scores(
            scores,
            z_cuts,
            betas,
            row_label=r"$z_{cut}$",
            column_label=r"$\beta$",
            chosen=(z_cuts.index(chosen["z_cut"]), betas.index(chosen["beta"])),
            title=f"jet mass, μ = {point.key}",
            ax=ax,
        )
    label_figure(
        fig,
        label_text,
        experiment=experiment,
        title="SoftDrop on the validation jets: √(bias² + resolution²) of m/m_true − 1",
    )
    save_figure(fig, out / "softdrop_grid")
    plt.close(fig)
