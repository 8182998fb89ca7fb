"""The per-bin statistical precision of the unfolded ℓ+jets m(tt̄) spectrum for the flow and the analytic W-mass
solution (issue 28, item 6) — the figure of merit the ν²-Flows authors report.

    .venv/bin/python analyses/neutrino/unfolded_precision.py --train runs/neutrino_unfolding/train \\
        --validation runs/neutrino_unfolding/validation --test runs/neutrino_unfolding/test \\
        --out analyses/neutrino/unfolding

Each folder holds one prediction file per method (``hepgen predict neutrino``, the same file names in each). m(tt̄)
is reconstructed by the χ² over jet assignments with each method's neutrino
(:mod:`hepgen.validation.neutrino.ttbar_mass`; the analytic solution with both roots tried, the flow as the median
over its posterior samples, the flow's mode as one hypothesis), with χ² widths fitted on the validation events. The
training events give each method's response, the validation events its D'Agostini iterations, the test events'
Poisson pseudo-experiments the precision of each unfolded bin (:mod:`hepgen.validation.unfolding_study`). Writes
``unfolding.json`` and ``unfolding_m_ttbar.{pdf,png}``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hepgen.plotting.unfolding import plot_unfolded_precision
from hepgen.validation.methods import load_methods
from hepgen.validation.neutrino.ttbar_mass import chi2_widths, ttbar_mass
from hepgen.validation.unfolding_study import (
    compare_unfolded_precision,
    precision_gains,
    study_arguments,
    unfolding_table,
    write_study,
)

#: m(tt̄) [GeV] in the bins of the dilepton study (analyses/dineutrino/unfolded_precision.py), as CMS bins it.
BINNINGS = {"m_ttbar": np.array([300.0, 380.0, 470.0, 620.0, 820.0, 1100.0, 1500.0])}


def load(folder: Path) -> dict[str, dict]:
    """method → outputs of a folder's prediction files; a flow also as its mode (``<name> mode``, one hypothesis)."""
    methods = load_methods(sorted(str(p) for p in folder.glob("*.root")), "Neutrino", truth=("truth", "truth_m_ttbar"))
    for name, outputs in list(methods.items()):
        if "mode" in outputs:
            methods[f"{name} mode"] = {k: v for k, v in outputs.items() if k != "samples"} | {"point": outputs["mode"]}
    return methods


def observables(methods: dict[str, dict], widths: dict) -> dict:
    """method → ({m_ttbar: truth}, {m_ttbar: reconstructed}) with each method's χ² widths."""
    return {
        name: (
            {"m_ttbar": outputs["truth_m_ttbar"].astype(np.float64)},
            {"m_ttbar": ttbar_mass(name, outputs, widths[name])},
        )
        for name, outputs in methods.items()
        if name in widths
    }


def main() -> None:
    args = study_arguments(
        __doc__.split("\n\n")[0], reference="flow", reference_help="the method the gains are of (default: flow)"
    )
    if args.table:
        print(unfolding_table(json.loads(args.table.read_text()), "m_ttbar", "m(tt̄) [GeV]"))
        return
    validation = load(args.validation)
    widths = {name: chi2_widths(name, outputs) for name, outputs in validation.items()}
    results = compare_unfolded_precision(
        observables(load(args.train), widths),
        observables(validation, widths),
        observables(load(args.test), widths),
        BINNINGS,
        n_pseudo=args.pseudo_experiments,
    )
    summary = {
        "reference": args.reference,
        "chi2_widths": {name: w.__dict__ for name, w in widths.items()},
        "per_observable": results,
        "gain_over": precision_gains(results, args.reference),
    }
    write_study(args.out, summary)
    plot_unfolded_precision(results["m_ttbar"], r"$m(t\bar{t})$ [GeV]", args.out / "unfolding_m_ttbar")
    print(unfolding_table(summary, "m_ttbar", "m(tt̄) [GeV]"))


if __name__ == "__main__":
    main()
