"""Substructure and SoftDrop speed on real top jets with pileup, in one run.

For μ = 0 (truth), 60 and 200: milliseconds per jet of ``jet_observables`` (all eight observables) and of
``softdrop_groom``, and the ratio of hepgen's SoftDrop to the bare fastjet call it wraps on ready-made
Momentum4D arrays (the cost of our conversions; target ≤ 1.2); and the whole 16-setting grid from one
clustering per jet (``softdrop_grid``) against 16 ``softdrop_groom`` calls: the speed-up (target ≥ 10).

    python benchmarks/bench_substructure.py [--jets 100]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import awkward as ak
from timing import best_of

from hepgen.physics.softdrop import SOFTDROP_GRID, softdrop_grid, softdrop_groom
from hepgen.physics.substructure import jet_observables, to_fastjet_input
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool

DATA = Path(__file__).resolve().parents[1] / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=100)
    args = parser.parse_args()
    hard = read_hard_jets(DATA / "top_jets.root", entry_stop=args.jets)
    pool = read_pileup_pool(DATA / "minbias_pool.root")
    truth = hard.constituents[["pt", "eta", "phi", "mass"]]
    jet_observables(truth[:2])  # warm-up (fastjet's banner, imports)
    print(f"{args.jets} top jets (R = 1.0, pT > 400 GeV), one process")
    print(
        f"{'mu':>4s} {'constituents':>13s} {'observables ms/jet':>19s} {'SoftDrop ms/jet':>16s} {'bare fastjet':>13s} "
        f"{'ratio':>6s} {'16 calls ms/jet':>16s} {'grid ms/jet':>12s} {'speed-up (≥ 10)':>16s}"
    )
    for mu in (0, 60, 200):
        jets = (
            truth if mu == 0 else overlay_pileup(hard, pool, mu=mu, seed=1).constituents[["pt", "eta", "phi", "mass"]]
        )
        t_obs = best_of(lambda: jet_observables(jets))
        t_sd = best_of(lambda: softdrop_groom(jets, z_cut=0.1, beta=0.0))
        inputs = to_fastjet_input(jets)

        def bare() -> None:
            import fastjet

            sequence = fastjet.ClusterSequence(inputs, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0))
            sequence.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=1.0)

        t_bare = best_of(bare)
        t_calls = best_of(lambda: [softdrop_groom(jets, z_cut=z, beta=b) for z, b in SOFTDROP_GRID], repeat=1)
        t_grid = best_of(lambda: softdrop_grid(jets, SOFTDROP_GRID))
        n = len(jets)
        print(
            f"{mu:4d} {ak.mean(ak.num(jets)):13.0f} {1e3 * t_obs / n:19.2f} {1e3 * t_sd / n:16.2f} "
            f"{1e3 * t_bare / n:13.2f} {t_sd / t_bare:6.2f} {1e3 * t_calls / n:16.2f} {1e3 * t_grid / n:12.2f} "
            f"{t_calls / t_grid:16.1f}"
        )


if __name__ == "__main__":
    main()
