"""Generation overhead: hepgen's sample generators against a bare pythia8mc loop with the same settings.

For each sample, in one run and one process:

* bare: ``pythia8mc.Pythia`` with exactly the settings hepgen uses, ``init()``
  and ``next()`` N times — nothing else;
* hepgen: the same number of generated events through hepgen's block
  generator (event-record extraction, fastjet clustering, detector response,
  selection, parton matching, column buffers).

Both include their initialisation (hepgen's tt̄ initialises two Pythia
instances, one per W charge). Prints generated events/s for both and the
ratio of times (target: hepgen / bare ≤ 1.2).

    python benchmarks/bench_generate.py [--ttbar 1500] [--jets 1000] [--minbias 3000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hepgen.sim.boosted_jets import JetSampleConfig, generate_jets_block
from hepgen.sim.minbias import MINBIAS_SETTINGS, generate_minbias_block
from hepgen.sim.pythia import make_pythia
from hepgen.sim.ttbar import generate_ttbar_block, ttbar_settings


def bare(settings: list[str], n: int, seed: int) -> float:
    start = time.perf_counter()
    pythia = make_pythia(settings, seed)
    for _ in range(n):
        pythia.next()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttbar", type=int, default=1500, help="generated tt̄ events")
    parser.add_argument("--jets", type=int, default=1000, help="generated top-jet events")
    parser.add_argument("--minbias", type=int, default=3000, help="generated minimum-bias events")
    args = parser.parse_args()

    rows = []
    if args.ttbar:
        t_bare = bare(ttbar_settings(+1), args.ttbar, 11)
        start = time.perf_counter()
        result = generate_ttbar_block(
            10**9, pythia_seeds=(11, 12), rng=np.random.default_rng(0), max_generated=args.ttbar
        )
        t_hep = time.perf_counter() - start
        rows.append(("ttbar-ljets", args.ttbar, t_bare, t_hep, f"{result.selected} selected"))
    if args.jets:
        config = JetSampleConfig("top")
        t_bare = bare(config.pythia_settings(), args.jets, 21)
        start = time.perf_counter()
        result = generate_jets_block(10**9, pythia_seed=21, config=config, max_generated=args.jets)
        t_hep = time.perf_counter() - start
        rows.append(("jets (top)", args.jets, t_bare, t_hep, f"{result.jets} jets"))
    if args.minbias:
        t_bare = bare(list(MINBIAS_SETTINGS), args.minbias, 31)
        start = time.perf_counter()
        generate_minbias_block(args.minbias, pythia_seed=31)
        t_hep = time.perf_counter() - start
        rows.append(("minbias", args.minbias, t_bare, t_hep, f"{args.minbias} events"))

    print(f"{'sample':12s} {'generated':>9s} {'bare ev/s':>10s} {'hepgen ev/s':>12s} {'ratio':>6s}  output")
    for name, n, t_bare, t_hep, note in rows:
        print(f"{name:12s} {n:9d} {n / t_bare:10.1f} {n / t_hep:12.1f} {t_hep / t_bare:6.3f}  {note}")
    print("ratio = hepgen time / bare pythia8mc time for the same generated events (target <= 1.2)")


if __name__ == "__main__":
    main()
