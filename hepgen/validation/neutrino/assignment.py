"""Which jet is the leptonic b: the χ² reconstruction with each method's neutrino, and a learned head.

The leptonic-b jet is chosen by a χ² of the top and W masses over jet permutations
(:mod:`hepgen.physics.ttbar_reconstruction`) with each method's neutrino — for the analytic solution with both W-mass
roots tried — per jet multiplicity; the χ² widths are tuned on a validation split of the events (for the analytic
solution with the root the χ² chooses) and the accuracy
counted on the others; every method's accuracy minus the analytic χ²'s is paired on the same events (McNemar).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgen.physics.ttbar_reconstruction import chi2_assignment, fit_widths, fit_widths_with_choice
from hepgen.validation.calibration import coverage_error
from hepgen.validation.metrics import paired_accuracy_difference
from hepgen.validation.neutrino.estimates import point_estimates
from hepgen.validation.neutrino.ttbar_mass import chi2_hypotheses
from hepgen.validation.split import validation_split

__all__ = ["MULTIPLICITIES", "assignment_accuracy"]

#: Jet multiplicities of the assignment accuracy (the last bin holds 6 or more jets).
MULTIPLICITIES = ("4", "5", "6+")


def assignment_accuracy(methods: dict[str, dict[str, Any]], validation_fraction: float = 0.3) -> dict[str, Any] | None:
    """Accuracy of the leptonic-b jet chosen by the χ² with each method's neutrino (and by a learned head), per jet
    multiplicity, on the test part of the events; the χ² widths come from the correct assignments of the validation
    part. None without jet truth."""
    first = next(iter(methods.values()))
    if "parton_jets" not in first or "jets_p4" not in first:
        return None
    jets, btag, mask = first["jets_p4"].astype(np.float64), first["jets_btag"] > 0.5, first["jets_mask"].astype(bool)
    lepton, partons = first["lepton_p4"].astype(np.float64), first["parton_jets"].astype(np.int64)
    is_val = validation_split(first["entry"], validation_fraction)
    n_jets = np.minimum(mask.sum(axis=1), 6)
    target = partons[:, 0]
    considered = (target >= 0) & (target < 6) & ~is_val
    result: dict[str, Any] = {"validation_fraction": validation_fraction, "events": {}, "methods": {}}
    for m, label in zip((4, 5, 6), MULTIPLICITIES):
        result["events"][label] = int((considered & (n_jets == m)).sum())

    def accuracy(chosen: np.ndarray) -> dict[str, dict[str, float]]:
        out = {}
        for m, label in zip((4, 5, 6), MULTIPLICITIES):
            rows = considered & (n_jets == m)
            a = float(np.mean(chosen[rows] == target[rows])) if rows.any() else float("nan")
            out[label] = {"accuracy": a, "error": float(coverage_error(np.array([a]), int(rows.sum()))[0])}
        return out

    def paired(chosen: np.ndarray, reference: np.ndarray) -> dict[str, dict[str, float]]:
        out = {}
        for m, label in zip((4, 5, 6), MULTIPLICITIES):
            rows = considered & (n_jets == m)
            d, e = paired_accuracy_difference(chosen[rows] == target[rows], reference[rows] == target[rows])
            out[label] = {"difference": d, "error": e}
        return out

    chosen_by: dict[str, np.ndarray] = {}

    for name, outputs in methods.items():
        for key, point in point_estimates(name, outputs).items():
            hypotheses = chi2_hypotheses(name, outputs, point)
            # the widths of the χ²: those of the correct assignments on the validation part, with the method's point
            # estimate — for the W-mass constraint with the root the χ² chooses, both roots tried, as in the analyses
            v = is_val
            if name == "analytic":
                widths = fit_widths_with_choice(lepton[v], hypotheses[v], jets[v], btag[v], mask[v], partons[v])
            else:
                widths = fit_widths(lepton[v], hypotheses[v, 0], jets[v], partons[v])
            chosen, _ = chi2_assignment(lepton, hypotheses, jets, btag, mask, widths=widths)
            result["methods"][key] = {"chi2": accuracy(chosen), "widths": widths.__dict__}
            chosen_by[key] = chosen
        if "assignment_probability" in outputs:
            head = np.argmax(np.where(mask, outputs["assignment_probability"], -1.0), axis=1)
            result["methods"].setdefault(name, {})["head"] = accuracy(head)
            chosen_by[f"{name} (head)"] = head
    if "analytic" in chosen_by:  # every method against the W-mass constraint, event by event
        for key, chosen in chosen_by.items():
            if key != "analytic":
                kind = "head" if key.endswith(" (head)") else "chi2"
                result["methods"][key.removesuffix(" (head)")][f"{kind}_minus_analytic"] = paired(
                    chosen, chosen_by["analytic"]
                )
    return result
