"""The unfolded precision of several reconstruction methods of the same events, side by side.

Each method comes as (truth observables, reconstructed observables — NaN where it gave no answer) on three samples:
training events give its response (:func:`~hepgen.validation.unfolding.build_response`), validation events choose
its iterations (:func:`~hepgen.validation.unfolding.choose_iterations`), and the test events' pseudo-experiments
give the precision of each unfolded bin (:func:`~hepgen.validation.unfolding.unfolded_precision`). An event a method
does not answer is an inefficiency of that method.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hepgen.validation.unfolding import build_response, choose_iterations, unfolded_precision

__all__ = [
    "Sample",
    "compare_unfolded_precision",
    "precision_gains",
    "unfolding_table",
    "study_arguments",
    "write_study",
]

#: method → (truth observables, reconstructed observables), each observable name → values ``[N]``.
Sample = Mapping[str, tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]]]


def compare_unfolded_precision(
    train: Sample,
    validation: Sample,
    test: Sample,
    binnings: Mapping[str, np.ndarray],
    *,
    n_pseudo: int = 500,
    n_choice: int = 200,
) -> dict:
    """observable → method → {precision, precision_err, poisson, bias, iterations, purity, stability, efficiency,
    response, iteration_scores, edges} (lists, JSON-ready), for the methods present in all three samples."""
    results: dict = {}
    for observable, edges in binnings.items():
        for method in (m for m in train if m in validation and m in test):
            response = build_response(train[method][0][observable], train[method][1][observable], edges)
            chosen, scores = choose_iterations(
                response, validation[method][0][observable], validation[method][1][observable], n_pseudo=n_choice
            )
            precision = unfolded_precision(
                response, test[method][0][observable], test[method][1][observable], iterations=chosen, n_pseudo=n_pseudo
            )
            results.setdefault(observable, {})[method] = {
                **{k: np.asarray(v).tolist() for k, v in precision.items()},
                "purity": response.purity.tolist(),
                "stability": response.stability.tolist(),
                "efficiency": response.efficiencies.tolist(),
                "response": response.matrix.tolist(),
                "iteration_scores": scores,
                "edges": np.asarray(edges).tolist(),
            }
    return results


def precision_gains(results: Mapping, reference: str) -> dict:
    """observable → method → the reference's precision gain per bin (the method's precision / the reference's) and
    its mean over bins; observables without the reference are left out."""
    out: dict = {}
    for observable, methods in results.items():
        if reference not in methods:
            continue
        ours = np.array(methods[reference]["precision"])
        for method, entry in methods.items():
            if method == reference:
                continue
            ratio = np.array(entry["precision"]) / ours
            out.setdefault(observable, {})[method] = {"per_bin": ratio.tolist(), "mean": float(np.mean(ratio))}
    return out


def unfolding_table(summary: Mapping, observable: str, label: str) -> str:
    """The markdown table of one observable of a study's summary (``{"reference", "per_observable", "gain_over"}``):
    per method its D'Agostini iterations, the precision of each unfolded bin, and the reference's mean gain over it
    (the method's precision / the reference's, averaged over bins; its error from the per-bin precisions' errors in
    quadrature — conservative, as every method's pseudo-experiments resample the same test events)."""
    methods = summary["per_observable"][observable]
    reference = summary["reference"]
    edges = np.asarray(next(iter(methods.values()))["edges"])

    def edge(x: float) -> str:
        return f"{x:g}" if float(x).is_integer() else f"{x:.2f}"

    bins = [
        f"{edge(lo)} to {edge(hi)}" if lo < 0 or hi < 0 else f"{edge(lo)}–{edge(hi)}"
        for lo, hi in zip(edges[:-1], edges[1:])
    ]
    lines = [
        f"| method | iterations | {label} precision per bin: " + " · ".join(bins) + f" | gain of {reference} |",
        "|---|---|---|---|",
    ]
    ours, ours_err = (np.array(methods[reference][k]) for k in ("precision", "precision_err"))
    for name, entry in methods.items():
        precision, error = np.array(entry["precision"]), np.array(entry["precision_err"])
        cells = " · ".join(f"{p:.3f}" for p in precision)
        if name == reference:
            gain = "—"
        else:
            ratio = precision / ours
            spread = ratio * np.hypot(error / precision, ours_err / ours)
            gain = f"{ratio.mean():.2f} ± {np.sqrt((spread**2).sum()) / len(ratio):.2f}"
        lines.append(f"| {name} | {entry['iterations']} | {cells} | {gain} |")
    poisson = " · ".join(f"{p:.3f}" for p in methods[reference]["poisson"])
    lines.append(f"| perfect reconstruction (Poisson) | — | {poisson} | |")
    return "\n".join(lines)


def study_arguments(description: str, *, reference: str | None, reference_help: str) -> argparse.Namespace:
    """The command line of an unfolded-precision study script: ``--train``, ``--validation``, ``--test`` (folders of
    prediction files), ``--out``, ``--pseudo-experiments``, ``--reference``; or ``--table FILE`` alone (print the
    README table of a written ``unfolding.json``)."""
    parser = argparse.ArgumentParser(description=description)
    for name in ("train", "validation", "test"):
        parser.add_argument(f"--{name}", type=Path, help=f"the {name} events' prediction files")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--pseudo-experiments", type=int, default=500)
    parser.add_argument("--reference", default=reference, help=reference_help)
    parser.add_argument("--table", type=Path, help="only print the README table(s) of this unfolding.json")
    args = parser.parse_args()
    if not args.table and None in (args.train, args.validation, args.test, args.out):
        parser.error("--train, --validation, --test and --out are required (or --table FILE)")
    return args


def write_study(out: Path, summary: Mapping) -> None:
    """``out/unfolding.json`` (written atomically)."""
    from hepgen.io.writer import atomic_path

    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "unfolding.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
