"""Compare pileup removal methods against the truth (the jet without pileup), at each μ: load → tune on the
validation jets → score → calibrate → report → figures (:func:`validate_pileup`).

Input: the prediction files of ``hepgen predict pileup`` (VIPR: tree ``VIPR``, one row per (jet, posterior
sample)) and of ``hepgen predict puppiml`` (the per-particle classifier: tree ``PuppiML``), each with the tree
``Jets`` (the observed and truth constituents of each jet). Files are pooled by (μ, inefficiency, track loss) and method
(the shards of one job); all methods of a point must describe the same observed jets (predict them with the
same ``--jets``, ``--pileup``, ``--mu`` and ``--seed``).

The methods, each with a stable key in ``metrics.json``:

* ``observed`` — the jet with its pileup;
* ``chs`` — charged-hadron subtraction (charged pileup inside the tracker removed);
* ``softdrop``, ``chs_softdrop`` — SoftDrop grooming (z_cut, β) of the observed or the CHS jet;
* ``softkiller``, ``chs_softkiller`` — SoftKiller with a patch size a (after CHS it acts on the neutral particles);
* ``puppi``, ``puppi_softdrop`` — PUPPI with CMS's Run-2 tune (and groomed), and behind a detector ``puppi_tuned``,
  the variant of :data:`~hepgen.physics.puppi.PUPPI_VARIANTS` chosen on the validation jets;
* ``puppiml`` (``puppiml_observed``) — the learned classifier: particles kept below a p(pileup) threshold;
  ``puppiml_weighted`` — the same scores as PUPPI-like weights, each particle's pT × (1 − p), those with 1 − p below
  a cut tuned on the validation jets dropped (for a classifier trained with ``--soft-targets``, 1 − p estimates the
  hard share of the particle's energy);
* ``vipr_fractions`` — the hard-fraction posterior (:mod:`hepgen.tasks.pileup.fractions`): its median and samples;
* ``vipr`` (``vipr_observed``) — VIPR's posterior median per jet, and ``vipr_samples`` — every posterior sample;
* ``truth_keep`` — not a method but a bound: the observed constituents whose energy is mostly hard (a truth label
  no detector has), the floor of every method that keeps or drops what was observed.

Every jet (truth, observed, baselines, VIPR) is built from its constituents' (pT, η, φ) with the charged-pion
mass hypothesis, so no method gains or loses from masses the others do not have.

Tuning is fair but never on the jets it is scored on: the jets are split by a hash of their index into a
*validation* part (``validation_fraction``) and a *test* part. Each tunable method's parameter is chosen per
observable and point on the validation jets by √(bias² + resolution²) of x / x_truth − 1; every number reported
is computed on the test jets: bias (median) and resolution (IQR/1.349) of x / x_truth − 1, the Wasserstein-1
distance to the truth distribution (raw and over the truth's IQR/1.349), each with a bootstrap error over jets,
and for VIPR the calibration of every observable (exact at any number of samples; coverage with its binomial
error). Every histogram of the figures is a ``hist.Hist`` (:func:`~hepgen.validation.pileup.report.pileup_histograms`), saved to
``histograms.root`` beside ``metrics.json``; the figures are drawn from them.

* :mod:`~hepgen.validation.pileup.load` — prediction files → points; :mod:`~hepgen.validation.pileup.tune` — the
  baselines and their choices; :mod:`~hepgen.validation.pileup.score` — posteriors, figures of merit, calibration;
  :mod:`~hepgen.validation.pileup.evaluate` — one point, step by step; :mod:`~hepgen.validation.pileup.report` and
  :mod:`~hepgen.validation.pileup.figures` — what is written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from hepgen.cluster import run_units
from hepgen.physics.kinematics import PION_MASS
from hepgen.physics.softdrop import SOFTDROP_GRID
from hepgen.physics.substructure import OBSERVABLES
from hepgen.validation.pileup.evaluate import evaluate_files, evaluate_point
from hepgen.validation.pileup.load import PointPrediction, load_pileup_predictions
from hepgen.validation.pileup.report import methods_table, pileup_histograms, summary
from hepgen.validation.pileup.score import DIVERGED_PT, sample_observables
from hepgen.validation.pileup.tune import BASELINES, CLASSIFIER_THRESHOLDS, SOFTKILLER_GRID
from hepgen.validation.report import ValidationOptions, publish
from hepgen.validation.split import validation_split

__all__ = [
    "BASELINES",
    "SOFTKILLER_GRID",
    "CLASSIFIER_THRESHOLDS",
    "DIVERGED_PT",
    "PointPrediction",
    "load_pileup_predictions",
    "validation_split",
    "evaluate_point",
    "validate_pileup",
    "methods_table",
    "pileup_histograms",
    "sample_observables",
]


def validate_pileup(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    validation_fraction: float = 0.3,
    tuning_files: Sequence[str | os.PathLike] = (),
    tuning_cache: str | os.PathLike | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Compare every method with the truth at every point; writes metrics.json, summary.md, histograms.root and the
    figures to ``out``.

    Args:
        files: ``hepgen predict pileup`` and ``hepgen predict puppiml`` outputs (one or more per point and method).
        out: the folder of the report.
        validation_fraction: share of jets (by a hash of their index) used only to tune the baselines.
        tuning_files: predictions of the same methods at the same points on other, validation jets: every choice
            is made on them and every jet of ``files`` is a test jet (``validation_fraction`` is then unused).
        tuning_cache: a folder that keeps the baselines' grid scores on the tuning jets: a validation on the same
            jets reads them instead of computing them (the same choices; :mod:`.tuning_cache`).
        options: those of :class:`~hepgen.validation.report.ValidationOptions`; each point is a unit of work, here or
            on the Dask cluster of ``scheduler`` (the same numbers and figures).
    """
    opts = ValidationOptions(**options)
    points = load_pileup_predictions(files)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    split = {
        "validation_fraction": validation_fraction,
        "resamples": opts.bootstrap,
        "tuning_cache": os.fspath(tuning_cache) if tuning_cache else None,
    }
    tuning = _tuning_points(points, tuning_files)
    if opts.scheduler:  # the workers read their points' files
        units = [{"files": p.files, "tuning_files": t.files if t else None, **split} for p, t in zip(points, tuning)]
        evaluated = run_units(evaluate_files, units, scheduler=opts.scheduler, progress=opts.progress)
    else:  # the points are loaded already
        units = [{"point": p, "tuning": t, **split} for p, t in zip(points, tuning)]
        evaluated = run_units(evaluate_point, units, progress=opts.progress, description="validate pileup (per μ)")
    metrics: dict[str, Any] = {
        "observables": list(OBSERVABLES),
        "mu": [p.mu for p in points],
        "points": [p.key for p in points],
        "validation_fraction": None if tuning_files else validation_fraction,
        "tuning_files": [str(f) for f in tuning_files],
        "bootstrap": opts.bootstrap,
        "softdrop_grid": [list(g) for g in SOFTDROP_GRID],
        "softkiller_grid": list(SOFTKILLER_GRID),
        "classifier_thresholds": list(CLASSIFIER_THRESHOLDS),
        "mass_hypothesis_gev": PION_MASS,
        "files": {p.key: p.files for p in points},
        "per_mu": {p.key: e["metrics"] for p, e in zip(points, evaluated)},
    }
    histograms = pileup_histograms(points, evaluated)
    figures = None
    if opts.figures:
        from hepgen.validation.pileup.figures import draw_figures

        figures = partial(draw_figures, out, points, evaluated, histograms, opts.label_text, opts.experiment)
    return publish(out, metrics, summary(metrics), histograms, figures)


def _tuning_points(
    points: list[PointPrediction], tuning_files: Sequence[str | os.PathLike]
) -> list[PointPrediction | None]:
    """The tuning prediction of each point (the same μ, inefficiency and track loss), or None for all without tuning files."""
    if not tuning_files:
        return [None] * len(points)
    from hepgen.errors import HepgenInputError

    by_key = {p.key: p for p in load_pileup_predictions(tuning_files)}
    missing = [p.key for p in points if p.key not in by_key]
    if missing:
        raise HepgenInputError(
            f"no tuning predictions at μ = {', '.join(missing)}: the tuning files hold {sorted(by_key)}; predict the "
            "validation jets at every point of the test predictions"
        )
    return [by_key[p.key] for p in points]
