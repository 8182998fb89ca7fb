"""The validation's histograms as ``hist.Hist`` objects: built here, saved to ``histograms.root``, drawn by the figures.

Every histogram a validation figure shows — residuals, the distributions per method (and μ), the truth quantiles,
the pulls and the coverage — is a ``hist.Hist`` with a named, labelled axis (units in the label), holding raw
counts with their variances (``Weight`` storage): histograms of two shards merge by ``+``, rebin with hist's slicing
(``h[::hist.rebin(2)]``), and the figures normalise when they draw. Coverage is a profile (``Mean`` storage: per
nominal level the fraction of events whose truth lies in the central interval, with its count), written to ROOT as a
TProfile. :func:`write_histograms` writes them with uproot (a folder per figure, e.g. ``distributions/mass/vipr``);
:func:`read_histograms` reads them back as ``hist.Hist``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import hist
import numpy as np

from hepgen.io.writer import atomic_path
from hepgen.validation.calibration import DEFAULT_LEVELS

__all__ = [
    "HISTOGRAMS_FILE",
    "QUANTILE_BINS",
    "PULL_RANGE",
    "PULL_BINS",
    "bins_for",
    "counts_histogram",
    "quantile_histogram",
    "pull_histogram",
    "coverage_histogram",
    "write_histograms",
    "read_histograms",
]

#: The file beside ``metrics.json``.
HISTOGRAMS_FILE = "histograms.root"
#: Bins of the truth-quantile histograms over [0, 1].
QUANTILE_BINS = 20
#: Pulls are histogrammed in [−PULL_RANGE, PULL_RANGE] (the tails in the edge bins, as drawn) in PULL_BINS bins.
PULL_RANGE, PULL_BINS = 5.0, 40


#: The fewest and the most bins a distribution gets (:func:`bins_for`).
MIN_BINS, MAX_BINS = 8, 80


def bins_for(entries: int, low: float, high: float, *, at_most: int = MAX_BINS) -> np.ndarray:
    """Equal bin edges on [low, high] for a histogram of ``entries`` entries: Rice's rule, 2·n^(1/3) bins (≈ 11
    for 150 entries, 35 for 5 000, 44 for 10 000: a few tens of entries per bin where the density is high), between
    :data:`MIN_BINS` and ``at_most``."""
    n = int(np.clip(np.ceil(2.0 * max(entries, 1) ** (1.0 / 3.0)), MIN_BINS, max(at_most, MIN_BINS)))
    return np.linspace(low, high, n + 1)


def counts_histogram(values: np.ndarray, edges: np.ndarray, *, name: str, label: str, title: str = "") -> hist.Hist:
    """Counts of the finite ``values`` in ``edges`` (under- and overflow kept), axis ``name`` labelled ``label``."""
    values = np.asarray(values, dtype=np.float64).ravel()
    h = hist.Hist(
        hist.axis.Variable(np.asarray(edges, dtype=np.float64), name=name, label=label),
        storage=hist.storage.Weight(),
        label=title or label,
    )
    return h.fill(values[np.isfinite(values)])


def quantile_histogram(quantiles: np.ndarray, *, label: str = "truth quantile", bins: int = QUANTILE_BINS) -> hist.Hist:
    """Counts of truth quantiles in ``bins`` equal bins of [0, 1] (uniform if calibrated)."""
    h = hist.Hist(
        hist.axis.Regular(bins, 0.0, 1.0, name="quantile", label=label), storage=hist.storage.Weight(), label=label
    )
    return h.fill(np.asarray(quantiles, dtype=np.float64))


def pull_histogram(pulls: np.ndarray, *, label: str = "pull") -> hist.Hist:
    """Counts of the finite pulls in [−5, 5], the tails clipped into the edge bins (N(0, 1) if calibrated)."""
    p = np.asarray(pulls, dtype=np.float64)
    p = np.clip(p[np.isfinite(p)], -PULL_RANGE, PULL_RANGE - 1e-9)
    h = hist.Hist(
        hist.axis.Regular(PULL_BINS, -PULL_RANGE, PULL_RANGE, name="pull", label=label),
        storage=hist.storage.Weight(),
        label=label,
    )
    return h.fill(p)


def coverage_histogram(
    quantiles: np.ndarray, levels: np.ndarray = DEFAULT_LEVELS, *, label: str = "nominal coverage"
) -> hist.Hist:
    """The coverage profile: one bin per nominal level, centred on it, filled per event with 1 if its truth lies in
    the central interval of that level (|q − ½| ≤ L/2) and 0 otherwise; the bin's mean is the empirical coverage,
    its count the events, its variance c(1 − c)."""
    levels = np.asarray(levels, dtype=np.float64)
    edges = [levels[0] - min(levels[0], (levels[1] - levels[0]) / 2) if len(levels) > 1 else levels[0] / 2]
    for level in levels:  # each level the centre of its bin: e_{i+1} = 2 L_i − e_i
        edges.append(2 * level - edges[-1])
    if np.any(np.diff(edges) <= 0) or edges[-1] > 1.0 + 1e-12:
        raise ValueError(f"coverage levels {levels.tolist()} cannot each be the centre of a bin in [0, 1]")
    q = np.asarray(quantiles, dtype=np.float64)
    covered = (np.abs(q[None, :] - 0.5) <= levels[:, None] / 2).astype(np.float64)
    h = hist.Hist(hist.axis.Variable(edges, name="nominal", label=label), storage=hist.storage.Mean(), label="coverage")
    return h.fill(np.repeat(levels, len(q)), sample=covered.ravel())


def write_histograms(path: str | os.PathLike, histograms: Mapping[str, hist.Hist]) -> Path:
    """Write ``histograms`` (key → hist; a key ``a/b/c`` makes folders) to a ROOT file with uproot, atomically."""
    import uproot

    path = Path(path)
    with atomic_path(path) as tmp, uproot.recreate(tmp) as f:
        for key, h in histograms.items():
            f[key] = h
    return path


def read_histograms(path: str | os.PathLike) -> dict[str, hist.Hist]:
    """Every histogram of a ``histograms.root`` as ``hist.Hist`` (key → hist; ROOT keeps labels, not axis names)."""
    import uproot

    out: dict[str, hist.Hist] = {}
    with uproot.open(path) as f:
        for key, classname in f.classnames(cycle=False).items():
            if classname.startswith(("TH1", "TH2", "TH3", "TProfile")):
                out[key] = f[key].to_hist()
    return out
