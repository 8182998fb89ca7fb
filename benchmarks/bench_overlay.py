"""Pileup overlay cost with and without the constituent detector, in one run: ms per jet at μ = 60 and 200 for the
particle-level overlay (the reference) and for the overlay + tracker + vertexing + calorimeter towers
(``overlay_pileup(detector=CONSTITUENT_DETECTORS["cms"])``) and with the jets reclustered in the event
(``recluster=True``), with their ratios against the aim (≤ 2×), and what the
detector does to the jets (constituents per jet, the towers' hard-energy share, the observed jet mass against the
detector-level truth's).

Inputs: the first ``--jets`` training jets (``data/top_jets.root``) and the training pool; no model is scored, so no
test jet is touched.

    python benchmarks/bench_overlay.py [--jets 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import awkward as ak
import numpy as np
from timing import best_of

from hepgen.physics.kinematics import pt_eta_phi_mass, summed_p4
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool

ROOT = Path(__file__).resolve().parents[1]
AIM = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    jets = read_hard_jets([str(ROOT / "data/top_jets.root")], entry_stop=args.jets)
    pool = read_pileup_pool([str(ROOT / "data/minbias_pool.root")])
    detector = CONSTITUENT_DETECTORS["cms"]
    print(f"{len(jets)} training top jets, {len(pool)} pool events; best of {args.repeat}")
    print(
        f"{'mu':>4} {'particles':>10} {'detector':>9} {'ratio':>6} {'+recluster':>11} {'ratio':>6}  ms/jet, aim <= {AIM:.0f}x"
    )
    for mu in (60, 200):
        per_jet = 1e3 / len(jets)
        plain = best_of(lambda: overlay_pileup(jets, pool, mu=mu, seed=1), args.repeat, warm_up=True) * per_jet
        detected = best_of(
            lambda: overlay_pileup(jets, pool, mu=mu, seed=1, detector=detector), args.repeat, warm_up=True
        )
        reclustered = best_of(
            lambda: overlay_pileup(jets, pool, mu=mu, seed=1, detector=detector, recluster=True),
            args.repeat,
            warm_up=True,
        )
        detected, reclustered = detected * per_jet, reclustered * per_jet
        verdicts = ["met" if t / plain <= AIM else "missed" for t in (detected, reclustered)]
        print(
            f"{mu:>4} {plain:>10.3f} {detected:>9.3f} {detected / plain:>5.2f}x {reclustered:>11.3f} "
            f"{reclustered / plain:>5.2f}x  {verdicts[0]} / {verdicts[1]}"
        )
    print("\ntraining inputs (overlay with the training μ law + padded batch), jets/s; aim: the detector <= 2x slower")
    from hepgen.tasks.pileup import jet_batch
    from hepgen.tasks.pileup.overlay import OverlayTraining, training_overlay

    rates = {}
    for name, options in (("particles", {}), ("detector + recluster", {"detector": "cms", "recluster": True})):
        settings = OverlayTraining(jets=["-"], pileup=["-"], **options)

        def inputs(settings=settings):
            observed = training_overlay(jets, pool, settings, np.random.default_rng(3))
            jet_batch(observed, input="chs", hard=jets)

        rates[name] = len(jets) / best_of(inputs, args.repeat, warm_up=True)
        print(f"  {name:<22} {rates[name]:>8.0f} jets/s")
    slower = rates["particles"] / rates["detector + recluster"]
    print(
        f"  ratio {slower:.2f}x ({'met' if slower <= AIM else 'missed'}); the model step: bench_pileup.py (training jets/s)"
    )
    print("\nwhat the detector does, jets reclustered (mean over jets; mass relative to the particle-level hard jet's)")
    print(f"{'mu':>4} {'particles':>9} {'tracks':>7} {'towers':>7} {'mixed towers':>13} {'m_obs/m':>8} {'m_det/m':>8}")
    hard_mass = ak.to_numpy(jets.mass)
    for mu in (0, 60, 200):
        plain = overlay_pileup(jets, pool, mu=mu, seed=2)
        observed = overlay_pileup(jets, pool, mu=mu, seed=2, detector=detector, recluster=True)
        parts = observed.constituents
        towers = parts[~parts.is_track]
        share = ak.flatten(towers.hard_fraction).to_numpy()
        truth_mass = pt_eta_phi_mass(summed_p4(observed.detector_truth))[3]
        print(
            f"{mu:>4} {np.mean(ak.num(plain.constituents)):>9.1f} {np.mean(ak.sum(parts.is_track, axis=1)):>7.1f} "
            f"{np.mean(ak.num(towers)):>7.1f} {np.mean((share > 0.05) & (share < 0.95)):>13.3f} "
            f"{np.median(observed.jet_mass / hard_mass):>8.3f} {np.median(truth_mass / hard_mass):>8.3f}"
        )


if __name__ == "__main__":
    main()
