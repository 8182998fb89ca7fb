"""The figure of merit the ν²-Flows authors report: the per-bin statistical precision of an unfolded spectrum, for
every dilepton method (the flow, the smeared kinematic reconstruction, Neutrino Weighting, the ellipse method).

    .venv/bin/python analyses/dineutrino/unfolded_precision.py --train runs/dineutrino_eval/train \\
        --validation runs/dineutrino_eval/validation --test runs/dineutrino_eval --out analyses/dineutrino/unfolding

Each folder holds one prediction file per method (``hepgen predict dineutrino``, the same file names in each): the
training events give each method's response matrix, purity and stability (:mod:`hepgen.validation.unfolding`); the
validation events choose its number of D'Agostini iterations (the fewest whose bias on a stressed spectrum stays
below half the statistical precision); the test events' Poisson pseudo-experiments give the precision of each bin of
the unfolded spectrum. An event a method does not answer is an inefficiency of that method. The flow's observable is
the median over its samples of each sample's value, as in the validation. Writes ``unfolding.json`` and, per
observable, ``unfolding_<observable>.{pdf,png}`` (precision per bin, purity and stability, the response matrices).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hepgen.plotting.unfolding import plot_unfolded_precision
from hepgen.validation.dineutrino import method_observables
from hepgen.validation.methods import load_methods
from hepgen.validation.unfolding_study import (
    compare_unfolded_precision,
    precision_gains,
    study_arguments,
    unfolding_table,
    write_study,
)

#: The binnings: m(tt̄) [GeV] as CMS's dilepton differential measurements bin it; cos θ⁺ in six equal bins.
BINNINGS = {
    "m_ttbar": np.array([300.0, 380.0, 470.0, 620.0, 820.0, 1100.0, 1500.0]),
    "cos_theta_plus": np.linspace(-1.0, 1.0, 7),
}
LABELS = {"m_ttbar": r"$m(t\bar{t})$ [GeV]", "cos_theta_plus": r"$\cos\theta^{+}$"}
#: The observables' names in the README tables.
TABLE_LABELS = {"m_ttbar": "m(tt̄) [GeV]", "cos_theta_plus": "cos θ⁺"}


def load(folder: Path) -> dict[str, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """method → (truth observables, reconstructed observables — NaN where the method gave no answer) of a folder."""
    files = sorted(str(p) for p in folder.glob("*.root"))
    methods = load_methods(files, "Dineutrino", truth=("truth", "truth_m_ttbar"))
    out = {}
    for name, outputs in methods.items():
        truth = {k: outputs[f"truth_{k}"].astype(np.float64) for k in BINNINGS}
        reco = method_observables(outputs)
        answered = outputs["answered"].astype(bool)
        out[name] = (truth, {k: np.where(answered, reco[k], np.nan) for k in BINNINGS})
    return out


def tables(summary: dict) -> str:
    """The README tables (:func:`~hepgen.validation.unfolding_study.unfolding_table`) of every observable."""
    return "\n\n".join(unfolding_table(summary, k, TABLE_LABELS[k]) for k in summary["per_observable"])


def main() -> None:
    args = study_arguments(
        __doc__.split("\n\n")[0],
        reference=None,
        reference_help="the flow the gains are of (default: the assignment flow's file if there is one, else 'flow')",
    )
    if args.table:
        print(tables(json.loads(args.table.read_text())))
        return
    results = compare_unfolded_precision(
        load(args.train), load(args.validation), load(args.test), BINNINGS, n_pseudo=args.pseudo_experiments
    )
    methods = next(iter(results.values())) if results else {}
    reference = args.reference or ("flow (flow_assignment)" if "flow (flow_assignment)" in methods else "flow")
    summary = {"reference": reference, "per_observable": results, "gain_over": precision_gains(results, reference)}
    write_study(args.out, summary)
    for observable, by_method in results.items():
        plot_unfolded_precision(by_method, LABELS[observable], args.out / f"unfolding_{observable}")
    print(tables(summary))


if __name__ == "__main__":
    main()
