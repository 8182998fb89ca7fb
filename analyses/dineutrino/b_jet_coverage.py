"""Why the flow's m(tt̄) is less well calibrated than its neutrinos: its coverage split by whether the two b-jet
candidates are the true b jets.

    .venv/bin/python analyses/dineutrino/b_jet_coverage.py [--pred runs/dineutrino_eval/flow.root]
                                                            [--data runs/ttbar_dilepton/test.root]

The flow's posterior is over the two neutrinos given the reconstructed event; each sample's m(tt̄) adds the two
b-jet candidates (:func:`hepgen.physics.dilepton_neutrinos.b_jet_candidates`) and the leptons as measured. When a
candidate is not a b jet (a light jet, an untagged b lost to a tagged light jet), the true m(tt̄) — of the generator's
b quarks — lies outside what the neutrinos can explain, and no neutrino posterior covers it. The truth b jets are
the generator's b quarks matched to jets (``GenB_jetIdx``, ΔR < 0.4).
"""

from __future__ import annotations

import argparse

import numpy as np

from hepgen.io import read
from hepgen.io.writer import read_event_outputs
from hepgen.physics.dilepton_neutrinos import b_jet_candidates
from hepgen.tasks.dineutrino import dineutrino_arrays
from hepgen.validation.calibration import calibration_summary
from hepgen.validation.dineutrino import COMPONENTS, sample_ttbar_masses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pred", default="runs/dineutrino_eval/flow.root")
    parser.add_argument("--data", default="runs/ttbar_dilepton/test.root")
    args = parser.parse_args()
    events = read(args.data, "hepgen-ttbar-dilepton")
    arrays = dineutrino_arrays(events)
    outputs, event_id, _ = read_event_outputs(args.pred, tree="Dineutrino")
    if not np.array_equal(event_id["entry"], arrays.event_index):
        raise SystemExit(f"{args.pred} was not predicted on {args.data}")
    pt = np.hypot(arrays.jets_p4[..., 0], arrays.jets_p4[..., 1])
    chosen = np.sort(b_jet_candidates(arrays.objects["jets"][..., 4], pt, arrays.masks["jets"]), axis=1)
    true_jets = np.sort(events.truth["b_quarks"]["jetIdx"][arrays.event_index][:, :2], axis=1)
    right = (chosen == true_jets).all(axis=1) & (true_jets >= 0).all(axis=1)
    samples = outputs["samples"].astype(np.float64)
    quantities = {"m_ttbar": (sample_ttbar_masses(outputs, samples), outputs["truth_m_ttbar"].astype(np.float64))}
    for name, i, j in COMPONENTS:
        if name.endswith("pz"):
            quantities[name] = (samples[:, :, i, j], outputs["truth"][:, i, j].astype(np.float64))
    print(f"{args.pred}: {len(right)} events; both b-jet candidates are the true b jets in {right.mean():.3f}")
    print("| quantity | 68 % coverage, all | b candidates right | b candidate wrong |")
    print("|---|---|---|---|")
    for name, (s, truth) in quantities.items():
        cells = []
        for rows in (slice(None), right, ~right):
            c = calibration_summary(s[rows], truth[rows])
            cells.append(f"{c.coverage_68:.3f} ± {c.coverage_68_error:.3f}")
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
