"""Why the flow's m(tt̄) posterior is "biased" (issue 28, item 8): its samples are of the two neutrinos only; the b
jets enter as measured, and a b jet carries less energy than its b quark (neutrinos of semileptonic b decays,
radiation outside the cone). A diagnostic, nothing is chosen from it:

    .venv/bin/python analyses/dineutrino/m_ttbar_bias.py --pred runs/dineutrino_eval/flow_assignment.root \\
        --training runs/ttbar_dilepton/part0.root

The median b-jet / b-quark energy ratio is measured on 20 000 training events (the jets matched to the generator's b
quarks); the flow's per-sample m(tt̄) is then recomputed with every b jet scaled by its inverse, and with every b jet
of every sample scaled by the inverse of a random draw of the training response (the jet response marginalised in
the posterior, as the kinematic reconstruction smears it); the calibration of each version is printed (coverage, the
median truth quantile, KS against 1.36/√n, the verdict).
"""

from __future__ import annotations

import argparse

import awkward as ak
import numpy as np
import uproot

from hepgen.io.writer import read_event_outputs
from hepgen.physics.ttbar_observables import ttbar_observables
from hepgen.validation.calibration import calibration_summary
from hepgen.validation.dineutrino import sample_b_jets


def b_jet_response(path: str, events: int = 20_000) -> np.ndarray:
    """E(jet) / E(b quark) of every jet matched to a generator b quark in the first ``events`` events ``[M]``."""
    arrays = uproot.open(path)["Events"].arrays(
        ["Jet_pt", "Jet_eta", "Jet_mass", "GenB_pt", "GenB_eta", "GenB_mass", "GenB_jetIdx"], entry_stop=events
    )
    matched = arrays.GenB_jetIdx >= 0
    index = ak.where(matched, arrays.GenB_jetIdx, 0)

    def energy(pt, eta, mass):
        return np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)

    jet = energy(arrays.Jet_pt[index], arrays.Jet_eta[index], arrays.Jet_mass[index])
    quark = energy(arrays.GenB_pt, arrays.GenB_eta, arrays.GenB_mass)
    return ak.flatten((jet / quark)[matched]).to_numpy().astype(np.float64)


def m_ttbar_samples(outputs: dict, scale: float | np.ndarray) -> np.ndarray:
    """m(tt̄) of every posterior sample ``[B, S]`` with the sample's b jets scaled by ``scale`` (a number, or one
    factor per sample and b jet ``[B, S, 2]``)."""
    samples = outputs["samples"].astype(np.float64)
    n, s = samples.shape[:2]
    b = (sample_b_jets(outputs) * np.broadcast_to(scale, (n, s, 2))[..., None]).reshape(n * s, 2, 4)
    leptons = np.repeat(outputs["leptons_p4"].astype(np.float64), s, axis=0)
    flat = samples.reshape(n * s, 2, 3)
    return ttbar_observables(b[:, 0], leptons[:, 0], flat[:, 0], b[:, 1], leptons[:, 1], flat[:, 1])["m_ttbar"].reshape(
        n, s
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pred", required=True, help="a flow's dilepton prediction file (test events)")
    parser.add_argument("--training", required=True, help="training events with the generator's b quarks")
    args = parser.parse_args()
    response = b_jet_response(args.training)
    median = float(np.median(response))
    outputs, _, _ = read_event_outputs(args.pred, tree="Dineutrino")
    truth = outputs["truth_m_ttbar"].astype(np.float64)
    print(f"median b-jet / b-quark energy on the training events: {median:.3f} ({len(response)} jets)")
    draws = 1.0 / np.random.default_rng(0).choice(response, size=(len(truth), outputs["samples"].shape[1], 2))
    for label, scale in (
        ("b jets as measured", 1.0),
        (f"b jets / {median:.3f} (the median response)", 1.0 / median),
        ("b jets / a draw of the training response per sample and jet", draws),
    ):
        c = calibration_summary(m_ttbar_samples(outputs, scale), truth)
        print(
            f"{label}: 68 % coverage {c.coverage_68:.3f} ± {c.coverage_68_error:.3f}, 95 % {c.coverage_95:.3f} ± "
            f"{c.coverage_95_error:.3f}, median truth quantile {c.median_quantile:.3f}, KS {c.ks:.3f} vs "
            f"{1.36 / np.sqrt(len(truth)):.3f}: {c.verdict()}"
        )


if __name__ == "__main__":
    main()
