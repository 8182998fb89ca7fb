"""What many posterior samples per jet buy: the resolution of VIPR's point estimate (the median of the first k samples)
and the calibration of the posterior the k samples describe, for k = 1, 2, 4, ... up to the samples of the file.

    .venv/bin/python analyses/pileup/samples_per_jet.py --pred runs/pileup_eval_study/many/test_top_vipr_mu60.root \\
        --out analyses/pileup/validation_study/samples_per_jet

The calibration estimators are exact at any number of samples for a calibrated posterior (randomised truth
quantiles, :mod:`hepgen.validation.calibration`); for a mis-calibrated one, few samples blur the truth's rank toward
uniform, so the measured miss grows with k toward its value for the posterior itself. The median of k samples scatters
around the posterior's own median by ~1/√k, which adds to its resolution. Each resolution is given with its bootstrap
error and the paired difference to the largest k over the same jets. Writes ``samples_per_jet.json`` and ``samples_per_jet.{pdf,png}`` (resolution and 68 % coverage
against k for each observable).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hepgen.io.writer import atomic_path
from hepgen.physics.substructure import OBSERVABLE_LABELS, OBSERVABLES
from hepgen.plotting.style import label_figure, save_figure, use_style
from hepgen.validation.calibration import calibration_entry
from hepgen.validation.metrics import bootstrap_bias_resolution, paired_resolution_difference
from hepgen.validation.pileup.load import load_pileup_predictions
from hepgen.validation.pileup.score import posteriors
from hepgen.validation.pileup.tune import observables, relative


def sample_counts(available: int) -> list[int]:
    """1, 2, 4, ... below ``available``, and ``available`` itself."""
    counts = [k for k in (2**i for i in range(12)) if k < available]
    return [*counts, available]


def per_sample_count(samples: np.ndarray, truth: np.ndarray, resamples: int) -> list[dict]:
    """For each k of :func:`sample_counts`: the median of the first k samples ``[J, S]`` against ``truth`` ``[J]``
    (bias and resolution with bootstrap errors, the paired resolution difference to all S samples) and, for k ≥ 2,
    the calibration of the k-sample posterior. Jets whose truth or samples are not finite are left out."""
    rows = np.isfinite(truth) & (truth != 0) & np.isfinite(samples).all(axis=1)
    samples, truth = samples[rows], truth[rows]
    full = relative(np.median(samples, axis=1), truth)
    out = []
    for k in sample_counts(samples.shape[1]):
        residual = relative(np.median(samples[:, :k], axis=1), truth)
        entry = {"samples": k, "jets": int(len(truth)), **bootstrap_bias_resolution(residual, resamples=resamples)}
        entry["paired_to_all"] = paired_resolution_difference(residual, full, resamples=resamples)
        if k >= 2:
            entry["calibration"] = calibration_entry(samples[:, :k], truth)
        out.append(entry)
    return out


def figure(results: dict, out: Path) -> None:
    """Resolution of the median and 68 % coverage against k: a pair of rows per four observables, a line per point."""
    use_style()
    columns = 4
    rows_of_panels = 2 * -(-len(OBSERVABLES) // columns)
    fig, axes = plt.subplots(rows_of_panels, columns, figsize=(14, 3 * rows_of_panels), sharex=True, squeeze=False)
    for point, by_observable in results.items():
        for i, name in enumerate(OBSERVABLES):
            top, bottom = axes[2 * (i // columns), i % columns], axes[2 * (i // columns) + 1, i % columns]
            rows = by_observable[name]
            res, err = (np.array([r[key] for r in rows]) for key in ("resolution", "resolution_err"))
            top.errorbar([r["samples"] for r in rows], res, yerr=err, marker="o", label=f"μ = {point}")
            calibrated = [r for r in rows if "calibration" in r]
            cov = [r["calibration"]["coverage_68"] for r in calibrated]
            cov_err = [r["calibration"]["coverage_68_error"] for r in calibrated]
            bottom.errorbar([r["samples"] for r in calibrated], cov, yerr=cov_err, marker="o")
            bottom.axhline(0.683, color="grey", ls=":")
            top.set_title(OBSERVABLE_LABELS.get(name, name), fontsize=10)
            top.set_ylabel("resolution", fontsize=10)
            bottom.set_ylabel("68 % coverage", fontsize=10)
    for ax in axes[-1]:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("samples per jet k", fontsize=10)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    label_figure(fig)
    save_figure(fig, out / "samples_per_jet")
    plt.close(fig)


def summary_lines(results: dict) -> list[str]:
    """Per point and observable (mass, τ21, τ32, D2) the median's resolution at each number of samples k, with the
    68 % coverage and the verdict of the k samples (the README's lines)."""
    lines = []
    for point, by_observable in results.items():
        for name in ("mass", "tau21", "tau32", "d2"):
            cells = [
                f"k={r['samples']}: {r['resolution']:.3f}"
                + (
                    f" / {r['calibration']['coverage_68']:.2f} {r['calibration']['verdict']}"
                    if "calibration" in r
                    else ""
                )
                for r in by_observable[name]
            ]
            lines.append(f"- μ = {point}, {name}: " + "; ".join(cells))
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pred", nargs="+", required=True, help="VIPR prediction files (every point is studied)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the JSON and the figure")
    parser.add_argument("--method", default="vipr", help="the generative method (default: vipr)")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples of every error")
    parser.add_argument("--no-figure", action="store_true", help="write the numbers only")
    args = parser.parse_args(argv)
    results = {}
    for point in load_pileup_predictions(args.pred):
        jets = np.arange(point.n_jets)
        samples, _, _ = posteriors(point, jets)
        truth = observables(point.truth)
        results[point.key] = {
            name: per_sample_count(samples[args.method][name], truth[name], args.bootstrap) for name in OBSERVABLES
        }
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "samples_per_jet.json") as tmp:
        tmp.write_text(json.dumps(results, indent=1))
    if not args.no_figure:
        figure(results, args.out)
    print("\n".join(summary_lines(results)))


if __name__ == "__main__":
    main()
